// The web chat's sign-in links and the choice of where replies continue (plain JavaScript,
// beside chat.js).  Asked from the chat: a link to the chat's own e-mail; asked on another
// device: a link to the newest chat of the typed address (the answer never says whether the
// address has one).  All text goes in with textContent.
"use strict";
(function () {
  var T = {
    id: {
      resume_title: "Sudah mengobrol di perangkat lain? Buka di sini",
      resume_hint: "Kami kirim tautan masuk ke e-mail yang Anda berikan saat mulai mengobrol.",
      resume_email: "E-mail Anda", resume_send: "Kirim tautan masuk",
      continue_title: "Bila Anda pergi, balasan petugas dilanjutkan lewat:",
      link_button: "Buka di perangkat lain (tautan ke e-mail saya)",
      failed: "Gagal mengirim permintaan; coba lagi."
    },
    en: {
      resume_title: "Chatted on another device? Open it here",
      resume_hint: "We send a sign-in link to the e-mail address you gave when the chat started.",
      resume_email: "Your e-mail", resume_send: "Send sign-in link",
      continue_title: "If you leave, the officer's replies continue on:",
      link_button: "Open on another device (link to my e-mail)",
      failed: "The request failed; please try again."
    }
  };
  var $ = function (id) { return document.getElementById(id); };
  function lang() { return localStorage.getItem("webchat.lang") === "en" ? "en" : "id"; }
  function apply() {
    var l = lang();
    document.querySelectorAll("[data-l10n]").forEach(function (el) {
      el.textContent = T[l][el.getAttribute("data-l10n")] || T.id[el.getAttribute("data-l10n")];
    });
  }
  $("lang").addEventListener("click", function () { setTimeout(apply, 0); });

  function say(el, text) { el.hidden = !text; el.textContent = text || ""; }
  function answer(r) {  // the server's message is Indonesian then English in parentheses
    return r.json().then(function (b) {
      var text = b.message || (b.error && b.error.message) || T[lang()].failed;
      var m = /^(.*?)\s*\((.*)\)\.?$/.exec(text);
      return m ? (lang() === "en" ? m[2] : m[1]) : text;
    }, function () { return T[lang()].failed; });
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  }

  // -- another device: ask for a link by address ------------------------------------------
  $("resume-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    post("/channels/webchat/link", {email: ev.target.email.value})
      .then(answer).then(function (text) { say($("resume-result"), text); })
      .catch(function () { say($("resume-result"), T[lang()].failed); });
  });

  // -- in the chat: a link to my own e-mail, where replies continue ------------------------
  $("signin-link").addEventListener("click", function () {
    post("/channels/webchat/link", {})
      .then(answer).then(function (text) { say($("link-result"), text); })
      .catch(function () { say($("link-result"), T[lang()].failed); });
  });
  function showContinue(c) {
    var box = $("continue");
    box.hidden = !(c.options && c.options.length > 1);
    box.querySelectorAll("label[data-via]").forEach(function (label) {
      var on = c.options.indexOf(label.dataset.via) >= 0;
      label.hidden = !on;
      label.querySelector("input").checked = on && label.dataset.via === c.via;
    });
  }
  $("continue").addEventListener("change", function (ev) {
    post("/channels/webchat/continue", {via: ev.target.value})
      .then(function (r) { return r.json(); }).then(showContinue);
  });
  function chatShown() {
    fetch("/channels/webchat/session", {credentials: "same-origin"})
      .then(function (r) { return r.status === 200 ? r.json() : null; })
      .then(function (s) { $("signin-link").hidden = !(s && s.email); });
    fetch("/channels/webchat/continue", {credentials: "same-origin"})
      .then(function (r) { return r.status === 200 ? r.json() : null; })
      .then(function (c) { if (c) showContinue(c); });
  }
  function watch() {
    $("resume").hidden = $("prechat").hidden;
    if (!$("chat").hidden) chatShown();
  }
  var seen = new MutationObserver(watch);
  seen.observe($("prechat"), {attributes: true, attributeFilter: ["hidden"]});
  seen.observe($("chat"), {attributes: true, attributeFilter: ["hidden"]});
  $("finish").addEventListener("click", function () { setTimeout(chatShown, 500); });
  apply();
  watch();
})();
