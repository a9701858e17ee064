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

  function cookieValue(name) {
    var found = null;
    document.cookie.split("; ").forEach(function (c) {
      if (c.indexOf(name + "=") === 0) found = c.slice(name.length + 1);
    });
    return found;
  }

  /* The wall clock in `zone` at `instant`, as numbers (Intl gives them for any IANA zone). */
  function wallClock(instant, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric"
    }).formatToParts(instant).forEach(function (p) {
      if (p.type !== "literal") parts[p.type] = parseInt(p.value, 10);
    });
    var hour = parts.hour % 24;  /* some engines write midnight as 24 */
    var asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, hour, parts.minute, parts.second);
    var whole = Math.floor(instant.getTime() / 1000) * 1000;
    return {
      year: parts.year, month: parts.month, day: parts.day, hour: hour,
      minute: parts.minute, second: parts.second,
      weekday: (new Date(Date.UTC(parts.year, parts.month - 1, parts.day)).getUTCDay() + 6) % 7,
      offsetMinutes: Math.round((asUtc - whole) / 60000)
    };
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function offsetText(minutes, words) {
    var sign = minutes < 0 ? (words.minus || "-") : "+";
    var size = Math.abs(minutes);
    return "UTC" + sign + two(Math.floor(size / 60)) + ":" + two(size % 60);
  }

  /* The deadline written exactly as rfp_portal.deadlines.format_deadline() writes it, with the
     words (month and weekday names, the pattern) the server passed in the page's language:
     "Wednesday 16 December 2026, 21:00 Asia/Tokyo (UTC+09:00)", and "…, end of day (24:00) …"
     for a deadline at the first instant of a local day. */
  function formatDeadline(instant, zone, words) {
    var at = wallClock(instant, zone);
    var before = wallClock(new Date(instant.getTime() - 1), zone);
    var endOfDay = before.day !== at.day || before.month !== at.month || before.year !== at.year;
    var shown = endOfDay ? before : at;
    var time = two(at.hour) + ":" + two(at.minute) + (at.second ? ":" + two(at.second) : "");
    var values = {
      weekday: words.weekdays[shown.weekday], day: String(shown.day),
      month: words.months[shown.month - 1], year: String(shown.year), time: time,
      zone: zone + " (" + offsetText(shown.offsetMinutes, words) + ")"
    };
    return (endOfDay ? words.endOfDay : words.at).replace(/%\((\w+)\)[sd]/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : m;
    });
  }

  function wordsOf(el) {
    try {
      var words = JSON.parse(el.getAttribute("data-time-words") || "{}");
      return words.at && words.weekdays && words.months ? words : null;
    } catch (e) {
      return null;
    }
  }

  function alreadyShown(el, zone) {
    return (el.getAttribute("data-local-skip") || "").split(/\s+/).indexOf(zone) !== -1;
  }

  /* Show the deadline in the browser's own zone, and remember the zone so the server can
     render it next time (then the line is there even before this script runs). */
  function showLocalTimes() {
    var zone = browserZone();
    if (!zone || zone === "UTC" || zone === "Etc/UTC") return;
    /* Written as it is (IANA names are valid cookie text): the server reads cookies without
       URL-decoding, so "Asia%2FTokyo" would never be recognised. A zone chosen on the page
       (the server's cookie) is kept; one written URL-encoded by an older version is replaced. */
    var stored = cookieValue(TZ_COOKIE);
    if ((stored === null || stored.indexOf("%") !== -1) && /^[A-Za-z0-9_+\-\/]+$/.test(zone)) {
      document.cookie = TZ_COOKIE + "=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
    document.querySelectorAll("[data-local-time]").forEach(function (row) {
      var instant = new Date(row.getAttribute("data-local-time")), words = wordsOf(row);
      if (isNaN(instant) || !words || alreadyShown(row, zone)) return;
      row.querySelector("[data-local-zone]").textContent = zone;
      row.querySelector("[data-local-text]").textContent = formatDeadline(instant, zone, words);
      row.hidden = false;
    });
    document.querySelectorAll("[data-local-inline]").forEach(function (el) {
      var instant = new Date(el.getAttribute("data-local-inline")), words = wordsOf(el);
      if (isNaN(instant) || !words || alreadyShown(el, zone)) return;
      el.textContent = "= " + formatDeadline(instant, zone, words);
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
