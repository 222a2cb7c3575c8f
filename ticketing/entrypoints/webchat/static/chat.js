// The citizen's web chat (issue 13): plain JavaScript, no framework, no build step.
// Every message gets a client id and stays in localStorage until the server's "ack" (sent only
// after the commit); after a drop or a reload the unacknowledged ones are sent again (stored
// once by the server).  All text is put in with textContent: nothing a citizen or an agent
// writes is ever read as HTML.
"use strict";
(function () {
  var T = {
    id: {
      title: "Obrolan Layanan Pengaduan", intro: "Tuliskan data Anda agar petugas dapat membantu dan menghubungi Anda kembali.",
      name: "Nama", email: "E-mail", phone: "Nomor HP", contact_hint: "Isi e-mail atau nomor HP (salah satu).",
      nik: "NIK (opsional)", topic: "Topik", privacy_title: "Pemberitahuan privasi (UU PDP)",
      privacy_text: "Kami menyimpan nama, kontak, NIK (bila diisi) dan isi obrolan untuk menangani pengaduan Anda sesuai UU No. 27 Tahun 2022 tentang Pelindungan Data Pribadi. Data disimpan selama pengaduan ditangani dan paling lama 2 tahun setelah selesai, hanya dapat dilihat petugas, dan tidak dibagikan ke pihak lain. Anda berhak meminta salinan atau penghapusan data melalui petugas.",
      consent: "Saya telah membaca dan menyetujui pemberitahuan privasi.", start: "Mulai obrolan",
      agent_typing: "Petugas sedang mengetik…", placeholder: "Tulis pesan…", attach: "Lampiran", send: "Kirim",
      rate: "Bagaimana layanan kami? (1–5)", transcript: "Kirim transkrip ke e-mail saya", finish: "Akhiri obrolan",
      sending: "mengirim…", sent: "terkirim", read: "dibaca", failed: "belum terkirim, dicoba lagi",
      online: "Terhubung", offline: "Koneksi terputus, menyambung ulang…", polling: "Terhubung (mode cadangan)",
      position: "Posisi antrean Anda: {p}. Perkiraan waktu tunggu: ±{w}.", minutes: "{n} menit", hours: "{n} jam", hour: "1 jam", assigned: "Petugas sedang menangani obrolan Anda.",
      closed: "Di luar jam layanan. Kami buka kembali {at}. Jam layanan: {h}. Pesan Anda tetap kami terima.",
      need_contact: "Isi e-mail atau nomor HP.", need_consent: "Setujui pemberitahuan privasi terlebih dahulu.",
      wait: "Terlalu banyak obrolan baru; mencoba lagi dalam {s} detik…", ended: "Obrolan diakhiri. Terima kasih!",
      ended_mail: "Obrolan diakhiri. Transkrip dikirim ke e-mail Anda.", rated: "Terima kasih atas penilaian Anda.",
      you: "Anda", agent: "Petugas", lang: "EN", lang_label: "English"
    },
    en: {
      title: "Complaint Desk Chat", intro: "Tell us who you are so that an officer can help you and reach you again.",
      name: "Name", email: "E-mail", phone: "Mobile number", contact_hint: "Give an e-mail address or a mobile number (either).",
      nik: "NIK (optional)", topic: "Topic", privacy_title: "Privacy notice (Personal Data Protection Law)",
      privacy_text: "We store your name, contact details, NIK (if given) and this conversation to handle your complaint, under Law No. 27 of 2022 on Personal Data Protection. The data is kept while the complaint is handled and at most 2 years after it is closed, is seen only by our officers and is not shared. You may ask an officer for a copy or for its erasure.",
      consent: "I have read and accept the privacy notice.", start: "Start chat",
      agent_typing: "An officer is typing…", placeholder: "Write a message…", attach: "Attachment", send: "Send",
      rate: "How was our service? (1–5)", transcript: "E-mail me the transcript", finish: "End chat",
      sending: "sending…", sent: "sent", read: "read", failed: "not sent yet, retrying",
      online: "Connected", offline: "Connection lost, reconnecting…", polling: "Connected (fallback mode)",
      position: "Your place in the queue: {p}. Expected wait: about {w}.", minutes: "{n} minutes", hours: "{n} hours", hour: "1 hour", assigned: "An officer is handling your chat.",
      closed: "Outside service hours. We open again {at}. Service hours: {h}. Your messages are still received.",
      need_contact: "Give an e-mail address or a mobile number.", need_consent: "Please accept the privacy notice first.",
      wait: "Too many new chats; trying again in {s} seconds…", ended: "Chat ended. Thank you!",
      ended_mail: "Chat ended. The transcript was sent to your e-mail.", rated: "Thank you for your rating.",
      you: "You", agent: "Officer", lang: "ID", lang_label: "Bahasa Indonesia"
    }
  };
  var $ = function (id) { return document.getElementById(id); };
  var lang = localStorage.getItem("webchat.lang") === "en" ? "en" : "id";
  var session = null, ws = null, mode = "ws", wsFailures = 0, opened = false;
  var agentRead = 0, lastQueue = null, uploads = [], typingSent = 0, retryTimer = null;

  function t(key, vars) {
    var s = (T[lang][key] || T.id[key] || key);
    Object.keys(vars || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  }
  function applyLang() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.getAttribute("data-i18n")); });
    document.querySelectorAll("[data-i18n-ph]").forEach(function (el) { el.placeholder = t(el.getAttribute("data-i18n-ph")); });
    $("lang").textContent = t("lang");
    $("lang").setAttribute("aria-label", t("lang_label"));
    document.querySelectorAll("#messages li").forEach(paintState);
    if (lastQueue) showQueue(lastQueue);
    setConn(opened);
  }
  $("lang").addEventListener("click", function () {
    lang = lang === "id" ? "en" : "id";
    localStorage.setItem("webchat.lang", lang);
    applyLang();
  });

  // -- unacknowledged messages, kept across drops and reloads ---------------------------
  function pendingKey() { return "webchat.pending." + (session ? session.session_id : ""); }
  function pending() { try { return JSON.parse(localStorage.getItem(pendingKey()) || "[]"); } catch (e) { return []; } }
  function savePending(list) { localStorage.setItem(pendingKey(), JSON.stringify(list)); }
  function newId() { return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10); }

  // -- rendering --------------------------------------------------------------------------
  function item(key) { return document.querySelector('#messages li[data-key="' + key + '"]'); }
  function paintState(li) {
    var meta = li.querySelector(".meta");
    if (!meta) return;
    var who = li.classList.contains("citizen") ? t("you") : (li.dataset.author || t("agent"));
    var state = "";
    if (li.classList.contains("citizen")) {
      var id = Number(li.dataset.id || 0);
      state = li.classList.contains("pending") ? t("sending") : (id && id <= agentRead ? t("read") : t("sent"));
    }
    meta.textContent = who + (state ? " · " + state : "");
    meta.dataset.state = state;
  }
  function render(msg) {
    var key = msg.from === "citizen" ? "c:" + msg.client_id : "a:" + msg.id;
    var li = item(key);
    if (!li) {
      li = document.createElement("li");
      li.dataset.key = key;
      li.className = msg.from === "citizen" ? "citizen" : "agent";
      var body = document.createElement("span");
      body.className = "text";
      li.appendChild(body);
      var meta = document.createElement("span");
      meta.className = "meta";
      li.appendChild(meta);
      $("messages").appendChild(li);
    }
    li.querySelector(".text").textContent = msg.text + (msg.attachments && msg.attachments.length ? " 📎" : "");
    if (msg.id) li.dataset.id = msg.id;
    if (msg.author) li.dataset.author = msg.author;
    li.classList.toggle("pending", !!msg.pending);
    paintState(li);
    li.scrollIntoView({block: "end"});
    return li;
  }
  function waitText(m) {  // a wait of hours in hours: "±18 jam", not "±1096 menit"
    if (m < 60) return t("minutes", {n: m});
    var h = Math.round(m / 60);
    return h === 1 ? t("hour") : t("hours", {n: h});
  }
  function showQueue(q) {
    lastQueue = q;
    var s = "";
    if (q.position > 0) s = t("position", {p: q.position, w: waitText(q.wait_minutes)});
    else if (q.assigned) s = t("assigned");
    $("status").dataset.queue = s;
    setConn(opened);
    if (q.open === false) {
      $("hours").hidden = false;
      var local = (q.local && q.local[lang]) || {opens: q.opens_local, hours: q.hours};
      $("hours").textContent = t("closed", {at: local.opens, h: local.hours});
    } else { $("hours").hidden = true; }
  }
  function setConn(ok) {
    var c = ok ? (mode === "poll" ? t("polling") : t("online")) : t("offline");
    $("status").textContent = c + ($("status").dataset.queue ? " — " + $("status").dataset.queue : "");
    $("status").dataset.conn = ok ? mode : "down";
  }
  function showError(text) { $("chat-error").hidden = !text; $("chat-error").textContent = text || ""; }

  // -- frames from the server -----------------------------------------------------------
  function onFrame(f) {
    if (f.type === "history") {
      (f.messages || []).forEach(function (m) { render(m); });
      pending().forEach(function (p) { render({from: "citizen", client_id: p.client_id, text: p.text, pending: true}); });
      markRead();
      resend();
    } else if (f.type === "ack") {
      savePending(pending().filter(function (p) { return p.client_id !== f.client_id; }));
      var li = item("c:" + f.client_id);
      if (li) { li.classList.remove("pending"); paintState(li); }
      showError("");
    } else if (f.type === "stored") {  // the ticket is built behind the ack: its message id
      var sli = item("c:" + f.client_id);
      if (sli) { sli.dataset.id = f.id || ""; paintState(sli); }
    } else if (f.type === "message") {
      render(f);
      $("typing").hidden = true;
      markRead();
    } else if (f.type === "typing") {
      $("typing").hidden = !f.on;
    } else if (f.type === "read") {
      agentRead = Math.max(agentRead, Number(f.id) || 0);
      document.querySelectorAll("#messages li.citizen").forEach(paintState);
    } else if (f.type === "queue") {
      showQueue(f);
    } else if (f.type === "error") {
      showError(f.message);
      if (f.code === "rate_limited" && f.client_id) {
        clearTimeout(retryTimer);
        retryTimer = setTimeout(resend, Math.ceil((f.retry_after || 2) * 1000));
      }
      if (f.code === "session_expired" || f.code === "no_session" || f.code === "session_moved") { forget(); }
    } else if (f.type === "ended") {
      $("ended").hidden = false;
      $("ended").textContent = f.transcript ? t("ended_mail") : t("ended");
    } else if (f.type === "rated") {
      $("ended").hidden = false;
      $("ended").textContent = t("rated");
    }
  }
  function markRead() {
    var last = 0;
    document.querySelectorAll("#messages li.agent").forEach(function (li) { last = Math.max(last, Number(li.dataset.id) || 0); });
    if (last && document.visibilityState !== "hidden") send({type: "read", id: last});
  }

  // -- sending ----------------------------------------------------------------------------
  function send(frame) {
    if (mode === "ws") {
      if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
      return false;
    }
    fetch("/channels/webchat/messages", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(frame)})
      .then(function (r) { return r.json(); })
      .then(function (b) { (b.frames || []).forEach(onFrame); })
      .catch(function () { setConn(false); });
    return true;
  }
  function resend() {  // every message not acknowledged yet, once per (re)connection
    pending().forEach(function (p) {
      send({type: "message", client_id: p.client_id, text: p.text, attachments: p.attachments || []});
    });
  }
  $("composer").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = $("text").value.trim();
    if (!text && !uploads.length) return;
    var p = {client_id: newId(), text: text, attachments: uploads.map(function (u) { return u.upload; })};
    var list = pending(); list.push(p); savePending(list);
    render({from: "citizen", client_id: p.client_id, text: text, pending: true, attachments: p.attachments});
    $("text").value = ""; uploads = []; $("attached").textContent = ""; $("file").value = "";
    send({type: "message", client_id: p.client_id, text: p.text, attachments: p.attachments});
    send({type: "typing", on: false}); typingSent = 0;
  });
  $("text").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("composer").requestSubmit(); }
  });
  $("text").addEventListener("input", function () {
    var now = Date.now();
    if ($("text").value && now - typingSent > 2000) { typingSent = now; send({type: "typing", on: true}); }
  });
  $("file").addEventListener("change", function () {
    var f = $("file").files[0];
    if (!f) return;
    var data = new FormData(); data.append("file", f);
    fetch("/channels/webchat/uploads", {method: "POST", body: data, credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); })
      .then(function (res) {
        if (res[0] !== 201) { showError(res[1].error ? res[1].error.message : "upload"); $("file").value = ""; return; }
        uploads.push(res[1]); $("attached").textContent = res[1].filename;
      });
  });
  $("stars").addEventListener("click", function (ev) {
    var v = Number(ev.target.dataset.v || 0);
    if (!v) return;
    document.querySelectorAll("#stars button").forEach(function (b) { b.classList.toggle("on", Number(b.dataset.v) <= v); });
    send({type: "rating", value: v});
  });
  $("finish").addEventListener("click", function () { send({type: "end", transcript: $("transcript").checked}); });
  document.addEventListener("visibilitychange", markRead);

  // -- connecting -------------------------------------------------------------------------
  function connect() {
    if (mode === "poll") { startPolling(); return; }
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/channels/webchat/ws";
    var opennow = false;
    ws = new WebSocket(url);
    ws.onopen = function () { opennow = true; opened = true; wsFailures = 0; setConn(true); };
    ws.onmessage = function (ev) { try { onFrame(JSON.parse(ev.data)); } catch (e) { /* not ours */ } };
    ws.onclose = function (ev) {
      opened = false; setConn(false);
      if (ev.code === 4401) return;
      if (!opennow && ++wsFailures >= 3) { mode = "poll"; }  // WebSockets blocked: long polling
      setTimeout(connect, Math.min(15000, 500 * Math.pow(2, Math.min(wsFailures, 5))));
    };
  }
  function startPolling() {
    fetch("/channels/webchat/poll?first=1", {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (b) { opened = true; setConn(true); (b.frames || []).forEach(onFrame); pollLoop(); })
      .catch(function () { opened = false; setConn(false); setTimeout(startPolling, 3000); });
  }
  function pollLoop() {
    fetch("/channels/webchat/poll", {credentials: "same-origin"})
      .then(function (r) { if (r.status === 401) throw new Error("session"); return r.json(); })
      .then(function (b) { (b.frames || []).forEach(onFrame); pollLoop(); })
      .catch(function (e) { opened = false; setConn(false); if (String(e).indexOf("session") < 0) setTimeout(startPolling, 3000); });
  }
  function enterChat(s) {
    session = s;
    $("prechat").hidden = true; $("chat").hidden = false;
    setConn(false);
    connect();
  }
  function forget() { $("composer").hidden = true; }

  // -- the pre-chat form ------------------------------------------------------------------
  function loadTopics() {
    fetch("/channels/webchat/topics").then(function (r) { return r.json(); }).then(function (b) {
      var sel = $("topic");
      (b.topics || []).forEach(function (tp) {
        var o = document.createElement("option"); o.value = tp.id; o.textContent = tp.label; sel.appendChild(o);
      });
    });
  }
  $("prechat").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target, err = $("form-error");
    var body = {name: f.name.value, email: f.email.value, phone: f.phone.value, nik: f.nik.value,
                topic: f.topic.value, language: lang};
    if (!body.email && !body.phone) { err.hidden = false; err.textContent = t("need_contact"); return; }
    if (!f.consent.checked) { err.hidden = false; err.textContent = t("need_consent"); return; }
    var submit = function () {
      fetch("/channels/webchat/sessions", {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
        .then(function (r) { return r.json().then(function (b) { return [r.status, b, r.headers.get("Retry-After")]; }); })
        .then(function (res) {
          if (res[0] === 201) { err.hidden = true; enterChat(res[1]); return; }
          err.hidden = false;
          if (res[0] === 429) {  // the brake: wait as told, then try again by itself
            var s = Number(res[2] || 5);
            err.textContent = t("wait", {s: s});
            setTimeout(submit, s * 1000);
            return;
          }
          err.textContent = res[1].error ? res[1].error.message : String(res[0]);
        });
    };
    submit();
  });

  applyLang();
  fetch("/channels/webchat/session", {credentials: "same-origin"})
    .then(function (r) { return r.status === 200 ? r.json() : null; })
    .then(function (s) {
      if (s && !s.ended) { enterChat(s); } else { $("prechat").hidden = false; loadTopics(); }
    })
    .catch(function () { $("prechat").hidden = false; loadTopics(); });
})();
