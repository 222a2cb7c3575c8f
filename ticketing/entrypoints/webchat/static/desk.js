// The agent's ticket page with a web chat: refreshes "citizen online / typing" and tells the
// citizen when the agent is typing a reply.  Plain JavaScript; text only (textContent).
"use strict";
(function () {
  var el = document.getElementById("chat-presence");
  if (!el) return;
  var tid = el.dataset.ticket, sent = 0;
  function refresh() {
    fetch("/tickets/" + tid + "/chat-presence", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) { if (p) { el.textContent = p.text; el.dataset.online = p.online ? "1" : "0"; el.dataset.typing = p.typing ? "1" : "0"; } })
      .catch(function () {});
  }
  setInterval(refresh, 3000);
  var box = document.querySelector("#reply-form textarea[name=body]");
  if (box) box.addEventListener("input", function () {
    var now = Date.now();
    if (now - sent < 2000) return;
    sent = now;
    fetch("/tickets/" + tid + "/chat-typing", {method: "POST", credentials: "same-origin"});
  });
})();
