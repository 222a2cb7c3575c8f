"""The words mail clients write around quoted history, in the languages citizens' clients are set
to: reply attributions, Outlook header blocks and separators, forward markers, device
signatures and mailing-list footers.  Only patterns (compiled once); ``reply.py`` applies them.

Languages: Indonesian, Malay, English, Russian, French, German, Spanish, Dutch, Portuguese,
Japanese, Italian, Polish, Swedish, Danish/Norwegian, Turkish, Czech, Finnish, Hungarian,
Chinese and Korean.
"""

from __future__ import annotations

import re
from typing import Final

_I: Final = re.IGNORECASE

# "... wrote:" — the verb ending a reply attribution (may be followed by the name, as German
# Apple Mail writes "Am 03.06.2024 um 10:15 schrieb Budi <b@x.id>:").
ATTR_VERB_RE: Final = re.compile(  # one \b for all the words (not one per word: 4× faster)
    r"\b(?:menulis|wrote|a (?:é|e)crit|schrieb|escribi(?:ó|o)|escreveu|schreef"
    r"|ha scritto|scrisse|написал(?:а|\(а\))?|пишет|napisa(?:ł|l)(?:a|\(a\))?"
    r"|yazd(?:ı|i)|skrev|skrifaði|kirjoitti|napsal(?:a|\(a\))?|(?:í|i)rta"
    r"|kirjutas)|写道|寫道|님이 작성|が書きました|のメッセージ", _I)
# How a multi-line attribution starts: a lead word, a date or a weekday abbreviation.
ATTR_START_RE: Final = re.compile(
    r"^\s*(?:pada|on|le|am|el|em|op|il|den|dne|dnia|w dniu|в|tanggal|tgl|"
    r"\d|[^\W\d_]{2,4}\.?,\s)", _I)
# Evidence that a line is an attribution rather than a sentence: an address or a time.
ATTR_EVIDENCE_RE: Final = re.compile(r"@|\d{1,2}[:.]\d{2}")
# Gmail in Japanese, Russian, Chinese ... writes no verb: "<date> <name> <address>:".
ATTR_ADDRESS_END_RE: Final = re.compile(
    r"(?:<[^<>\s]{1,200}@[^<>\s]{1,200}>|\S+@\S+\.\S+)\s*[:：]\s*$")
ATTR_DATE_RE: Final = re.compile(r"\d{1,2}[:.]\d{2}|\d{4}|年")
# Yahoo's text part runs the quoted text on after "menulis:   ".
INLINE_ATTR_RE: Final = re.compile(
    r"<[^<>\s]{1,200}@[^<>\s]{1,200}>\s*(?:menulis|wrote)\s*:\s{2,}\S", _I)
OLD_GMAIL_RE: Final = re.compile(r"^\s*\d{4}-\d{2}-\d{2} .{0,80}<[^<>\s]+@[^<>\s]+>\s*:\s*$")

SEPARATOR_RE: Final = re.compile(
    r"^\s*-{2,}\s*(?:original message|original e-?mail|pesan asli|pesan aslinya|pesan semula"
    r"|ursprüngliche nachricht|originalnachricht|message d'origine|message original"
    r"|mensaje original|mensagem original|oorspronkelijk bericht|origineel bericht"
    r"|messaggio originale|исходное сообщение|oryginalna wiadomo(?:ść|sc)"
    r"|original meddelelse|oprindelig meddelelse|opprinnelig melding|ursprungligt meddelande"
    r"|orijinal ileti|özgün ileti|původní zpráva|alkuperäinen viesti|eredeti üzenet"
    r"|元のメッセージ|原始邮件|原始郵件|원본 메시지|mesej asal)\s*-{2,}\s*$", _I)
RULE_RE: Final = re.compile(r"^\s*(?:_{10,}|-{10,}|—{5,}|={10,})\s*$")
FROM_RE: Final = re.compile(
    r"^[ \t]?\*?(?:from|dari|von|de|da|van|от|od|fra|från|kimden|lähettäjä|feladó"
    r"|差出人|发件人|寄件者|보낸\s?사람)\*?\s*[:：]\*?\s*\S", _I)
FIELD_RE: Final = re.compile(
    r"^[ \t]?\*?(?:sent|date|to|cc|bcc|subject|reply-to|dikirim|tanggal|kepada|perihal|subjek"
    r"|hal|terkirim|tembusan|gesendet|datum|an|betreff|envoy(?:é|e)|à|objet|enviado|fecha|para"
    r"|asunto|assunto|data|verzonden|aan|onderwerp|inviato|oggetto|a|отправлено|дата|кому|тема"
    r"|копия|wysłano|do|temat|sendt|til|emne|skickat|till|ämne|gönderildi|gönderilen|kime|konu"
    r"|odesláno|komu|předmět|lähetetty|vastaanottaja|aihe|elküldve|címzett|tárgy"
    r"|送信日時|送信日|宛先|件名|日付|发送时间|发送日期|收件人|主题|日期|寄件日期|收件者|主旨"
    r"|보낸\s?날짜|받는\s?사람|제목)\*?\s*[:：]", _I)
FORWARD_RE: Final = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded message|pesan yang diteruskan|pesan terusan|pesan diteruskan"
    r"|weitergeleitete nachricht|message transf(?:é|e)r(?:é|e)|mensaje reenviado"
    r"|mensagem encaminhada|doorgestuurd bericht|messaggio inoltrato|пересылаемое сообщение"
    r"|przekazana wiadomo(?:ść|sc)|videresendt meddelelse|vidarebefordrat meddelande"
    r"|転送されたメッセージ|转发的邮件|轉寄的郵件|전달된 메시지)\s*-{2,}"
    r"|(?:begin forwarded message|mulai pesan yang diteruskan|awal pesan yang diteruskan"
    r"|anfang der weitergeleiteten nachricht|début du message (?:ré)?exp(?:é|e)di(?:é|e)"
    r"|inicio del mensaje reenviado|início da mensagem reencaminhada"
    r"|begin doorgestuurd bericht|inizio messaggio inoltrato)\s*:)\s*$", _I)
QUOTED_RE: Final = re.compile(r"^\s{0,3}>")
SIG_DELIM_RE: Final = re.compile(r"^(?:--|—|– )\s*$")
DEVICE_RE: Final = re.compile(
    r"^\s*(?:sent from|dikirim dari|get outlook for|dapatkan outlook untuk|sent via|"
    r"diketik dari|sent using|dikirim menggunakan|dikirim via|dihantar dari|"
    r"von meinem .{1,40} gesendet|gesendet von|envoy(?:é|e) (?:de|depuis) |enviado desde "
    r"|enviado d[eo] meu|enviado do |verzonden (?:vanaf|met|van) |inviato da |"
    r"отправлено с|wysłane z|skickat från|sendt fra|gönderildi:|odesláno z|lähetetty "
    r"|\S{0,20}から送信|从我的|發自我的|寄自我的)", _I)
# Mailing-list footers (Mailman, Google Groups, generic unsubscribe blocks).
LIST_FOOTER_RE: Final = re.compile(
    r"(?:mailing list\s*$|/listinfo/|/mailman/|you received this message because you are "
    r"subscribed to the google groups|anda menerima pesan ini karena anda berlangganan"
    r"|to unsubscribe from this group|untuk berhenti berlangganan|to unsubscribe,? (?:send|visit"
    r"|e-?mail)|unsubscribe:\s*\S|this list is|berhenti berlangganan dari grup)", _I)
