// The staff pages' own small script (a package file; no CDN, no framework).  Every page works
// without it, read-only and with plain forms; this adds: the presence toggle without a button,
// heartbeats from open pages, live SLA countdowns, the ticket page's collision check, canned
// replies, and keyboard shortcuts.
(function () {
  "use strict";
  var presence = document.getElementById("presence");
  if (presence) {
    presence.addEventListener("change", function () { presence.form.submit(); });
    var beat = function () {
      fetch("/presence/heartbeat", {method: "POST", credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.status && data.status !== presence.value) {
            presence.value = data.status;
            presence.dataset.status = data.status;
          }
        }).catch(function () {});
    };
    beat();
    setInterval(beat, 30000);
  }
  // Live SLA countdowns: "dalam 35 mnt" / "lewat 2 jam" next to the due time.
  var lang = document.documentElement.lang || "id";
  var words = lang === "en" ? {in: "in", ago: "overdue", m: "min", h: "h", d: "d"}
                            : {in: "dalam", ago: "lewat", m: "mnt", h: "jam", d: "hari"};
  var span = function (ms) {
    var m = Math.round(Math.abs(ms) / 60000);
    if (m < 60) { return m + " " + words.m; }
    if (m < 1440) { return Math.floor(m / 60) + " " + words.h + " " + (m % 60) + " " + words.m; }
    return Math.floor(m / 1440) + " " + words.d + " " + Math.floor((m % 1440) / 60) + " " + words.h;
  };
  var tick = function () {
    var now = Date.now();
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) { return; }
      var left = due - now;
      var out = el.nextElementSibling;
      if (!out || !out.classList.contains("left")) {
        out = document.createElement("span");
        out.className = "left meta";
        el.parentNode.insertBefore(out, el.nextSibling);
      }
      out.textContent = " (" + (left >= 0 ? words.in + " " + span(left) : words.ago + " " + span(left)) + ")";
    });
  };
  tick();
  setInterval(tick, 30000);

  // Keyboard: j/k move through ticket rows, Enter opens, n claims the next ticket;
  // on a ticket: r reply, t note, Ctrl+Enter sends the form being typed in.
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.rows tbody tr[data-ticket]"));
  var at = -1;
  var typing = function (e) {
    var tag = (e.target && e.target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  };
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.form) {
      e.preventDefault();
      if (e.target.form.requestSubmit) { e.target.form.requestSubmit(); } else { e.target.form.submit(); }
      return;
    }
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var focus = function (id) { var el = document.getElementById(id); if (el) { e.preventDefault(); el.focus(); } };
    if ((e.key === "j" || e.key === "k") && rows.length) {
      if (at >= 0) { rows[at].classList.remove("current"); }
      at = Math.max(0, Math.min(rows.length - 1, at + (e.key === "j" ? 1 : -1)));
      rows[at].classList.add("current");
      rows[at].scrollIntoView({block: "nearest"});
    } else if (e.key === "Enter" && at >= 0) {
      var link = rows[at].querySelector("a[href^='/tickets/']");
      if (link) { window.location = link.href; }
    } else if (e.key === "n") {
      var claim = document.querySelector("#claim-form");
      if (claim) { claim.submit(); } else if (document.getElementById("next-ticket")) { window.location = document.getElementById("next-ticket").href; }
    } else if (e.key === "r") { focus("reply-body"); }
    else if (e.key === "t") { focus("note-body"); }
  });
  // The ticket page: who else has it open (a ping every 20 s), and canned replies chosen
  // from the select without pressing "Pakai" (the form works without script too).
  var viewers = document.getElementById("viewers");
  if (viewers) {
    var ping = function () {
      fetch("/tickets/" + viewers.dataset.ticket + "/viewing", {method: "POST", credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          viewers.querySelector(".names").textContent = data.viewers.join(", ");
          viewers.hidden = data.viewers.length === 0;
        }).catch(function () {});
    };
    setInterval(ping, 20000);
  }
  var cannedSelect = document.getElementById("canned");
  if (cannedSelect) {
    cannedSelect.addEventListener("change", function () {
      cannedSelect.form.querySelectorAll("label.missing").forEach(function (l) { l.remove(); });
      cannedSelect.form.submit();
    });
  }
  window.ticketing = window.ticketing || {};
})();
