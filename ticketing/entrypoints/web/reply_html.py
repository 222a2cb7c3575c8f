"""The ticket page's ways to answer the citizen: the reply form with its channel choice (the
channels the citizen wrote on; those that cannot deliver now are shown disabled with the
reason) and, for a citizen who called, the call-back log ("catat telepon balik").

Input is ``replies.reply_channels`` as ``views.get_ticket`` returns it (``reply_options``);
every value goes through ``html.escape``; no script."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any


def _choice(option: Mapping[str, Any], chosen: str | None) -> str:
    value = escape(str(option.get("channel")))
    label = escape(str(option.get("label") or option.get("channel")))
    if not option.get("possible"):
        reason = escape(str(option.get("reason") or "tidak bisa mengirim"))
        return (f'<li><label class="impossible"><input type="radio" name="channel" '
                f'value="{value}" disabled> {label}</label> '
                f'<span class="reason">— {reason}</span></li>')
    checked = " checked" if option.get("channel") == chosen else ""
    return (f'<li><label><input type="radio" name="channel" value="{value}"{checked}> '
            f'{label}</label></li>')


def reply_form(tid: int, replies: Mapping[str, Any], *, draft: str, after: str) -> str:
    options: Sequence[Mapping[str, Any]] = replies.get("options") or []
    possible = [o for o in options if o.get("possible")]
    chosen = replies.get("default") or (possible[0]["channel"] if possible else None)
    choices = "".join(_choice(o, chosen) for o in options)
    if not possible:
        why = ("Warga hanya bisa dihubungi lewat telepon: catat telepon balik di bawah."
               if replies.get("call_back") else
               "Tidak ada kanal yang bisa mengirim balasan ke warga saat ini.")
        return (f'<div id="reply-form"><h3>Balas warga</h3><ul id="reply-channels">{choices}'
                f'</ul><p id="reply-impossible">{escape(why)}</p></div>')
    # A comment can be answered where everyone reads it (never with personal data: the sender
    # refuses a NIK, phone or e-mail there); privately by DM otherwise.
    # Only where the citizen's message has such a place (a comment), with the windows said.
    public = "".join(
        f'<p class="reply-note">{escape(str(o.get("note")))}</p>' for o in possible
        if o.get("note")) + "".join(
        '<p><label><input type="checkbox" name="public" value="1"'
        + ("" if o.get("private", True) else " checked required")
        + '> Balas komentar secara publik (tanpa data pribadi); tanpa centang: balasan '
          'pribadi lewat DM</label></p>' for o in possible if o.get("public"))
    return f"""
<form method="post" action="/tickets/{tid}/reply" id="reply-form"><h3>Balas warga</h3>
<fieldset><legend>Kirim lewat</legend><ul id="reply-channels">{choices}</ul></fieldset>{public}
<p><textarea name="body" rows="6" required maxlength="100000"
aria-label="Balasan">{escape(draft)}</textarea></p>
<p><label>Lalu status <select name="status"><option value="">tidak berubah</option>{after}
</select></label> <button type="submit">Kirim balasan</button></p>
<p class="meta">Balasan dihitung sebagai respons saat kanal menerimanya, bukan saat disimpan.</p>
</form>"""


def call_back_form(tid: int, replies: Mapping[str, Any], *, draft: str) -> str:
    if not replies.get("call_back"):
        return ""
    return f"""
<form method="post" action="/tickets/{tid}/callback" id="callback-form">
<h3>Catat telepon balik</h3>
<p><label><input type="radio" name="reached" value="1" required> Tersambung dengan warga</label>
<label><input type="radio" name="reached" value="0"> Tidak tersambung</label></p>
<p><textarea name="body" rows="3" required maxlength="100000"
aria-label="Hasil telepon">{escape(draft)}</textarea></p>
<p><button type="submit">Simpan telepon balik</button></p>
<p class="meta">Telepon yang tersambung dihitung sebagai respons pada saat dicatat.</p></form>"""
