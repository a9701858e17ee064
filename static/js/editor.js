/* RFP editor: small enhancements. Every step works without this file (empty rows to fill are
   always there; saving gives more). With it:
   - a list of texts ([data-text-list]: guiding questions, tasks) gets "Add another";
   - a set of rows with a <template data-empty-row="PREFIX"> and a button
     [data-add-row="PREFIX"] adds a row: the template's __prefix__ becomes the next index and the
     formset's PREFIX-TOTAL_FORMS grows (Django's formset convention); a template's
     data-placeholder and data-number-placeholder name other placeholders than __prefix__ and
     __number__ (for rows nested in rows). */
(function () {
  "use strict";

  function addTextListButtons() {
    document.querySelectorAll("[data-text-list]").forEach(function (list) {
      if (list.dataset.enhanced) return;
      list.dataset.enhanced = "1";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button--secondary button--small";
      button.textContent = list.dataset.addLabel || "Add another";
      button.addEventListener("click", function () {
        var items = list.querySelectorAll("li");
        var last = items[items.length - 1];
        if (!last) return;
        var copy = last.cloneNode(true);
        var input = copy.querySelector("input");
        var label = copy.querySelector("label");
        var number = items.length + 1;
        var baseId = input.id.replace(/_\d+$/, "");
        input.id = baseId + "_" + (number - 1);
        input.value = "";
        label.setAttribute("for", input.id);
        label.textContent = label.textContent.replace(/\d+\s*$/, String(number));
        list.appendChild(copy);
        input.focus();
      });
      list.parentNode.insertBefore(button, list.nextSibling);
    });
  }

  function addRowButtons() {
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      if (button.dataset.enhanced) return;
      button.dataset.enhanced = "1";
      button.hidden = false;
      button.addEventListener("click", function (event) {
        var prefix = button.dataset.addRow;
        var template = document.querySelector('template[data-empty-row="' + prefix + '"]');
        var total = document.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
        if (!template || !total) return;
        event.preventDefault();
        var index = parseInt(total.value, 10) || 0;
        // A row inside a row (a feature in a milestone) has its own placeholder for its index
        // (data-placeholder), so that adding the outer row leaves it for the inner one.
        var placeholder = new RegExp(template.dataset.placeholder || "__prefix__", "g");
        var numbered = new RegExp(template.dataset.numberPlaceholder || "__number__", "g");
        var html = template.innerHTML.replace(placeholder, String(index))
          .replace(numbered, String(index + 1));
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var target = document.querySelector('[data-rows="' + prefix + '"]') || template.parentNode;
        var first = null;
        while (holder.firstChild) {
          var node = holder.firstChild;
          target.appendChild(node);
          if (!first && node.nodeType === 1) first = node;
        }
        total.value = String(index + 1);
        addTextListButtons();
        addRowButtons();
        if (first) {
          var field = first.querySelector("input, select, textarea");
          if (field) field.focus();
        }
      });
    });
  }

  function start() {
    addTextListButtons();
    addRowButtons();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:afterSettle", start);
})();

/* Live previews (the body's Markdown, the deadline's instant): a preview region
   ([data-preview-region]) also shows the answer of a refused request (400: the body is too long),
   which says why; htmx swaps only successful answers by default. */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var xhr = event.detail.xhr;
    if (!target || !target.hasAttribute || !target.hasAttribute("data-preview-region")) return;
    if (xhr && xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();

/* Criteria step (staff/editor/criteria.html). Without this the page works as well: a gate's
   scale and meanings are ignored on save, and "Update the scale" (or Save) draws the meaning
   inputs of a new scale. With it:
   - a gate's weight, scale and meanings are hidden (the weight is also disabled, so a gate
     posts none);
   - changing the lowest or highest score adds or removes the meaning inputs at once, keeping
     what was typed (also for a score taken out and put back), so "Update the scale" is hidden. */
(function () {
  "use strict";

  var LOWEST = 0;
  var HIGHEST = 10;
  var kept = new WeakMap();

  function isGate(row) {
    var kind = row.querySelector('select[name$="-kind"]');
    return kind && kind.value === "gate";
  }

  function showKind(row) {
    var gate = isGate(row);
    row.querySelectorAll("[data-scored-only]").forEach(function (part) {
      part.hidden = gate;
      if (part.hasAttribute("data-disable-when-hidden")) {
        part.querySelectorAll("input, select, textarea").forEach(function (field) {
          field.disabled = gate;
        });
      }
    });
  }

  function whole(input) {
    if (!input || !/^\s*\d+\s*$/.test(input.value)) return null;
    return parseInt(input.value, 10);
  }

  function scoreOf(field) {
    var input = field.querySelector("input");
    var match = input && /-anchor_(\d+)$/.exec(input.name);
    return match ? parseInt(match[1], 10) : null;
  }

  function newMeaning(meanings, score) {
    var name = meanings.dataset.prefix + "-anchor_" + score;
    var field = document.createElement("div");
    field.className = "field";
    var label = document.createElement("label");
    var input = document.createElement("input");
    input.type = "text";
    input.name = name;
    input.id = "id_" + name;
    input.maxLength = 500;
    label.htmlFor = input.id;
    label.textContent = (meanings.dataset.labelPattern || "Meaning of {score}")
      .replace("{score}", String(score));
    field.appendChild(label);
    field.appendChild(input);
    return field;
  }

  function showScale(row) {
    var low = whole(row.querySelector('input[name$="-scale_min"]'));
    var high = whole(row.querySelector('input[name$="-scale_max"]'));
    if (low === null || high === null || low < LOWEST || high > HIGHEST || low >= high) return;
    var meanings = row.querySelector("[data-meanings]");
    var list = meanings && meanings.querySelector("[data-meaning-list]");
    if (!list) return;
    var store = kept.get(list) || {};
    kept.set(list, store);
    var shown = {};
    Array.prototype.slice.call(list.children).forEach(function (field) {
      var score = scoreOf(field);
      if (score === null) return;
      if (score < low || score > high) {
        store[score] = field;
        list.removeChild(field);
      } else {
        shown[score] = field;
      }
    });
    for (var score = low; score <= high; score += 1) {
      // In score order: an input already shown moves into place, keeping its value.
      list.appendChild(shown[score] || store[score] || newMeaning(meanings, score));
      delete store[score];
    }
  }

  function hideScaleButtons(root) {
    root.querySelectorAll("[data-rescale]").forEach(function (part) {
      part.hidden = true;
    });
  }

  function start() {
    document.querySelectorAll("[data-criterion]").forEach(showKind);
    hideScaleButtons(document);
  }

  document.addEventListener("change", function (event) {
    var row = event.target.closest && event.target.closest("[data-criterion]");
    if (!row) return;
    if (/-kind$/.test(event.target.name)) showKind(row);
    if (/-scale_(min|max)$/.test(event.target.name)) showScale(row);
  });
  document.addEventListener("input", function (event) {
    var row = event.target.closest && event.target.closest("[data-criterion]");
    if (row && /-scale_(min|max)$/.test(event.target.name)) showScale(row);
  });
  // A row added by "Add a criterion" (editor.js adds it first, on the button itself).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-add-row]")) start();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

/* Milestones and features (staff/editor/scope.html, form[data-scope-totals]): the totals of
   each milestone, of all features and against the RFP's total cap follow what is typed. The
   amounts are read as proposals.budget.parse_amount reads them and written as the server writes
   them (the form says the currency and the reader's digit grouping and decimal mark); the page
   drawn after saving shows the same figures. */
(function () {
  "use strict";

  function cents(text) {
    var raw = String(text || "").replace(/[\s\u00a0\u202f_]+/g, "");
    if (raw.indexOf(".") < 0 && /^\d+,\d{1,2}$/.test(raw)) raw = raw.replace(",", ".");
    raw = raw.replace(/,/g, "");
    if (!/^\d+(\.\d{1,2})?$/.test(raw)) return 0;
    var parts = raw.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }

  function money(value, form) {
    var whole = String(Math.floor(value / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, form.dataset.group);
    var rest = value % 100;
    var text = rest ? whole + form.dataset.decimal + (rest < 10 ? "0" : "") + rest : whole;
    return (form.dataset.currency + " " + text).trim();
  }

  function sum(scope, kind) {
    var total = 0;
    scope.querySelectorAll('input[data-amount="' + kind + '"]').forEach(function (input) {
      total += cents(input.value);
    });
    return total;
  }

  function update(form) {
    form.querySelectorAll("[data-milestone]").forEach(function (milestone) {
      milestone.querySelectorAll("[data-subtotal]").forEach(function (cell) {
        cell.textContent = money(sum(milestone, cell.dataset.subtotal), form);
      });
    });
    form.querySelectorAll("[data-total]").forEach(function (cell) {
      cell.textContent = money(sum(form, cell.dataset.total), form);
    });
    var cap = parseInt(form.dataset.totalCap, 10);
    if (isNaN(cap)) return;
    form.querySelectorAll("[data-compare]").forEach(function (cell) {
      var left = cap - sum(form, cell.dataset.compare);
      var words = left >= 0 ? cell.dataset.under : cell.dataset.over;
      cell.textContent = words.replace("__amount__", money(Math.abs(left), form));
    });
  }

  function start() {
    document.querySelectorAll("form[data-scope-totals]").forEach(function (form) {
      if (form.dataset.totalsLive) return;
      form.dataset.totalsLive = "1";
      form.addEventListener("input", function (event) {
        if (event.target.matches && event.target.matches("input[data-amount]")) update(form);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
