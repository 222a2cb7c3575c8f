/* Live updates for the staff pages (ticketing): reads GET /events (server-sent events, the
 * page's own session) and shows, in the page header, new tickets, citizens' new messages on
 * my tickets, tickets taken by someone else and the unread notification count; on a ticket
 * page a citizen's new message is added to the conversation; on the queue a ticket taken by
 * someone else is marked in its row.  Plain JavaScript, no library, no CDN.  Everything shown
 * is set as text (textContent), never as HTML.  The browser's EventSource reconnects by
 * itself and sends Last-Event-ID, so nothing is missed across a short network break.
 * Pages read and work without this file. */
(function () {
  "use strict";
  if (!window.EventSource || !document.querySelector) { return; }
  var lang = (document.documentElement.lang || "id").slice(0, 2) === "en" ? "en" : "id";
  var T = {
    id: {
      live: "Langsung", off: "Terputus, menyambung ulang…", unread: "notifikasi belum dibaca",
      created: "Tiket baru #{id}", message: "Pesan baru dari warga di tiket #{id}",
      taken: "Tiket #{id} diambil oleh {who}", yours: "Tiket #{id} ditugaskan kepada Anda",
      takenRow: "diambil oleh {who}", someone: "petugas lain", citizen: "Warga",
      signedOut: "Sesi berakhir: masuk lagi untuk pembaruan langsung."
    },
    en: {
      live: "Live", off: "Disconnected, reconnecting…", unread: "unread notifications",
      created: "New ticket #{id}", message: "New citizen message on ticket #{id}",
      taken: "Ticket #{id} taken by {who}", yours: "Ticket #{id} assigned to you",
      takenRow: "taken by {who}", someone: "another agent", citizen: "Citizen",
      signedOut: "Session ended: sign in again for live updates."
    }
  }[lang];

  function say(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return String(values[k]); });
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  var match = location.pathname.match(/^\/tickets\/(\d+)/);
  var watching = match ? Number(match[1]) : null;
  var header = document.querySelector("body > header") || document.body;
  var box = el("div", { id: "live", style: "font-size:.9em" });
  var state = el("span", { id: "live-state", style: "color:#666;margin-right:.5rem" }, "");
  var badge = el("span", { id: "live-unread", title: T.unread, "aria-label": T.unread,
    style: "background:#b00;color:#fff;border-radius:1em;padding:0 .45em;display:none" }, "0");
  var list = el("ul", { id: "live-events", "aria-live": "polite",
    style: "list-style:none;margin:.2rem 0;padding:0;max-width:32rem" });
  box.appendChild(state); box.appendChild(badge); box.appendChild(list);
  header.appendChild(box);

  function notice(text, ticketId, kind) {
    var item = el("li", { "class": "live-" + kind.replace(".", "-"), "data-ticket": ticketId });
    if (ticketId) {
      item.appendChild(el("a", { href: "/tickets/" + Number(ticketId) }, text));
    } else { item.textContent = text; }
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 5) { list.removeChild(list.lastChild); }
  }
  function setUnread(n) {
    badge.textContent = String(Number(n) || 0);
    badge.style.display = Number(n) > 0 ? "inline" : "none";
  }
  function rows(ticketId) {
    var found = [];
    document.querySelectorAll('tr[data-ticket="' + Number(ticketId) + '"]').forEach(
      function (r) { found.push(r); });
    document.querySelectorAll('a[href="/tickets/' + Number(ticketId) + '"]').forEach(function (a) {
      var r = a.closest("tr, li");
      if (r && found.indexOf(r) < 0 && !list.contains(r)) { found.push(r); }
    });
    return found;
  }
  function showMessage(d) {
    var where = document.getElementById("conversation") ||
      document.querySelector("[data-live-messages]") || document.querySelector("main") ||
      document.body;
    if (document.getElementById("m-" + Number(d.message_id))) { return; }
    var article = el("article", { "class": "msg msg-in live-new", id: "m-" + Number(d.message_id),
      style: "border-left:4px solid #06c;padding-left:.5rem" });
    article.appendChild(el("header", {}, (d.author || T.citizen) + " · " + (d.channel || "") +
      " · " + new Date(d.sent_at).toLocaleString(lang === "en" ? "en-GB" : "id-ID")));
    article.appendChild(el("p", { style: "white-space:pre-wrap" }, d.body || ""));
    where.appendChild(article);
  }
  function on(kind, fn) {
    source.addEventListener(kind, function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      fn(data);
    });
  }

  var source = new EventSource("/events" + (watching ? "?ticket=" + watching : ""));
  source.onopen = function () { state.textContent = T.live; };
  source.onerror = function () { state.textContent = T.off; };
  on("hello", function (d) { setUnread(d.unread); });
  on("notification", function (d) { setUnread(d.unread); });
  on("ticket.created", function (d) { notice(say(T.created, { id: d.ticket_id }), d.ticket_id, "ticket.created"); });
  on("message.created", function (d) {
    if (watching === Number(d.ticket_id)) { showMessage(d); }
    if (d.yours || watching !== Number(d.ticket_id)) {
      notice(say(T.message, { id: d.ticket_id }), d.ticket_id, "message.created");
    }
  });
  on("ticket.assigned", function (d) {
    if (d.yours) {
      notice(say(T.yours, { id: d.ticket_id }), d.ticket_id, "ticket.assigned");
      return;
    }
    var who = d.assignee || T.someone;
    notice(say(T.taken, { id: d.ticket_id, who: who }), d.ticket_id, "ticket.assigned");
    rows(d.ticket_id).forEach(function (r) {
      r.classList.add("live-taken");
      r.style.opacity = "0.55";
      if (!r.querySelector(".live-taken-by")) {
        var last = r.lastElementChild || r;
        last.appendChild(el("span", { "class": "live-taken-by" }, " (" + say(T.takenRow, { who: who }) + ")"));
      }
    });
  });
  on("signed_out", function () { source.close(); state.textContent = T.signedOut; });
})();
