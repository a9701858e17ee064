/* RFP Portal: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  var TZ_COOKIE = "tz";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function hasCookie(name) {
    return document.cookie.split("; ").some(function (c) { return c.indexOf(name + "=") === 0; });
  }

  /* Show the deadline in the browser's own zone, and remember the zone so the server can
     render it next time (then the line is there even before this script runs). */
  function showLocalTimes() {
    var zone = browserZone();
    if (!zone || zone === "UTC" || zone === "Etc/UTC") return;
    if (!hasCookie(TZ_COOKIE)) {
      document.cookie = TZ_COOKIE + "=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    }
    var lang = document.documentElement.lang || undefined;
    document.querySelectorAll("[data-local-time]").forEach(function (row) {
      var instant = new Date(row.getAttribute("data-local-time"));
      if (isNaN(instant)) return;
      var text = new Intl.DateTimeFormat(lang, {
        weekday: "long", day: "numeric", month: "long", year: "numeric",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
      }).format(instant);
      row.querySelector("[data-local-zone]").textContent = zone;
      row.querySelector("[data-local-text]").textContent = text;
      row.hidden = false;
    });
    document.querySelectorAll("[data-local-inline]").forEach(function (el) {
      var instant = new Date(el.getAttribute("data-local-inline"));
      if (isNaN(instant)) return;
      el.textContent = "= " + new Intl.DateTimeFormat(lang, {
        weekday: "long", day: "numeric", month: "long", year: "numeric",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
      }).format(instant) + " (" + zone + ")";
      el.hidden = false;
    });
    document.querySelectorAll("[data-tz-picker]").forEach(function (el) { el.hidden = true; });
  }

  /* Keep the countdown current. It is deliberately not a live region: a screen reader is not
     interrupted every minute; the text is simply right whenever it is read. */
  function startCountdowns() {
    var nodes = document.querySelectorAll("[data-countdown]");
    if (!nodes.length) return;
    function plural(pair, n) { return (n === 1 ? pair[0] : pair[1]).replace("%d", n); }
    function render(node) {
      var words;
      try { words = JSON.parse(node.getAttribute("data-countdown-words") || "{}"); } catch (e) { return; }
      if (!words.left) return;
      var deadline = new Date(node.getAttribute("data-countdown"));
      var seconds = Math.floor((deadline - new Date()) / 1000);
      var text = node.querySelector("[data-countdown-text]");
      var asOf = node.querySelector("[data-countdown-asof]");
      if (asOf) asOf.hidden = true;
      if (seconds <= 0) { text.textContent = words.closed; return; }
      var days = Math.floor(seconds / 86400), hours = Math.floor(seconds % 86400 / 3600);
      var minutes = Math.floor(seconds % 3600 / 60), parts = [];
      if (days) parts.push(plural(words.day, days));
      if (hours) parts.push(plural(words.hour, hours));
      if (minutes) parts.push(plural(words.minute, minutes));
      if (!parts.length) { text.textContent = words.underMinute; return; }
      var duration = parts.length === 1 ? parts[0] :
        words.and.replace("%(first)s", parts.slice(0, -1).join(", ")).replace("%(last)s", parts[parts.length - 1]);
      text.textContent = words.left.replace("%(duration)s", duration);
    }
    function tick() { nodes.forEach(render); }
    tick();
    setInterval(tick, 15000);
  }

  /* A form with errors: the summary at its top takes the focus, so it is read first. Its links
     (and links from another page to a field, "#id_…") put the focus in the field itself, with
     its label or legend in view, rather than only scrolling to it. */
  function fieldOf(hash) {
    if (!hash || hash.length < 2) return null;
    var el = document.getElementById(decodeURIComponent(hash.slice(1)));
    return el && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) ? el : null;
  }

  function focusField(field) {
    var group = field.closest("fieldset");
    var caption = (field.labels && field.labels[0]) || (group && group.querySelector("legend"));
    if (group && (field.type === "radio" || field.type === "checkbox")) {
      caption = group.querySelector("legend") || caption;
    }
    (caption || field).scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  }

  function focusErrorSummary() {
    var target = fieldOf(window.location.hash);
    if (target) {
      focusField(target);
      return;
    }
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  }

  document.addEventListener("click", function (event) {
    var links = "[data-error-summary] a[href^='#'], ul.missing a[href^='#']";
    var link = event.target.closest ? event.target.closest(links) : null;
    var field = link && fieldOf(link.getAttribute("href"));
    if (!field) return;
    event.preventDefault();
    focusField(field);
  });

  /* When htmx replaces a region that holds the focus, keep the focus there. htmx itself puts it
     back only on an element with the same id in the new content; anything else would drop the
     focus to <body>, and a keyboard or screen-reader user would lose their place. */
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled])," +
    " select:not([disabled]), textarea:not([disabled]), [tabindex]";

  function keepFocusAcrossSwaps() {
    var held = null;
    document.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target, active = document.activeElement;
      held = null;
      if (target && active && active !== document.body && target.contains(active)) {
        held = { id: active.id, region: target.id, parent: target.parentElement };
      }
    });
    document.addEventListener("htmx:afterSwap", function () {
      if (!held) return;
      var place = held, active = document.activeElement;
      held = null;
      if (active && active !== document.body && document.body.contains(active)) return;
      var spot = (place.id && document.getElementById(place.id)) ||
        (place.region && document.getElementById(place.region)) || place.parent;
      if (!spot || !document.body.contains(spot)) return;
      var inner = spot.matches(FOCUSABLE) ? spot : spot.querySelector(FOCUSABLE);
      if (!inner) {
        spot.setAttribute("tabindex", "-1");
        inner = spot;
      }
      inner.focus({ preventScroll: true });
    });
  }

  keepFocusAcrossSwaps();

  /* An autosave that fails (a changed session refuses the form, the portal cannot be reached)
     says so in its status line instead of staying silent: htmx swaps no error answer. */
  function autosaveFailed(event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.hasAttribute || !target.hasAttribute("data-autosave-failed")) return;
    var text = document.createElement("span");
    text.className = "autosave-status__text autosave-status--failed";
    text.textContent = target.getAttribute("data-autosave-failed");
    target.replaceChildren(text);
  }
  document.addEventListener("htmx:responseError", autosaveFailed);
  document.addEventListener("htmx:sendError", autosaveFailed);

  document.addEventListener("DOMContentLoaded", function () {
    showLocalTimes();
    startCountdowns();
    focusErrorSummary();
  });
})();
