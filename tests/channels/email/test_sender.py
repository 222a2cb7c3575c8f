"""The sender of a mail is its mailbox: the angle-bracket address, never a display name that
looks like one (a spoofing signal, kept as the name and flagged), one mailbox out of several,
and never an address without a local part or a domain."""

from __future__ import annotations

from typing import Any

import pytest

from channels.email import parse_email
from channels.email.sender import mailboxes, pick_sender
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import InboundMessage

META = {"received_at": "2024-06-13T08:00:00Z", "mail_from": "<>"}


def _parse(from_line: bytes, extra: bytes = b"") -> InboundMessage:
    raw = (b"From: " + from_line + b"\r\n" + extra + b"Subject: x\r\n"
           b"Date: Fri, 14 Jun 2024 10:00:00 +0700\r\n\r\nhalo\r\n")
    msg = parse_email(raw, META)
    assert isinstance(msg, InboundMessage)
    return msg


@pytest.mark.parametrize("from_line, name, address, warnings", [
    (b"alice@example.com <bob@example.com>", "alice@example.com", "bob@example.com",
     ["display-name-address"]),
    (b'"alice@example.com" <bob@example.com>', "alice@example.com", "bob@example.com",
     ["display-name-address"]),
    (b"=?utf-8?q?alice=40example=2Ecom?= <bob@example.com>", "alice@example.com",
     "bob@example.com", ["display-name-address"]),
    (b'"Alice (alice@bank.example)" <phish@evil.example>', "Alice (alice@bank.example)",
     "phish@evil.example", ["display-name-address"]),
    (b"Bob@Example.com <bob@example.com>", "Bob@Example.com", "bob@example.com", []),
    (b"Budi Santoso <Budi@X.id>", "Budi Santoso", "budi@x.id", []),
    (b"budi@x.id (Budi Santoso)", "Budi Santoso", "budi@x.id", []),
    (b"<@relay.example:budi@x.id>", None, "budi@x.id", []),
    (b"Warga: rina@x.id, budi@y.id;", None, "rina@x.id", ["several-from-mailboxes"]),
    (b"alice@example.com, bob@example.com", None, "alice@example.com",
     ["several-from-mailboxes"]),
    (b'"Budi" <budi@x.id> <evil@y.id>', "Budi", "evil@y.id", ["several-addresses-in-one-mailbox"]),
    (b"<@example.com>, rina@x.id", None, "rina@x.id", ["invalid-address"]),
])
def test_the_mailbox_decides(from_line: bytes, name: str | None, address: str,
                             warnings: list[str]) -> None:
    msg = _parse(from_line)
    assert (msg.sender.name, msg.sender.email) == (name, address)
    assert msg.extra.get("sender_warnings", []) == warnings


def test_the_sender_header_picks_one_of_several_from_mailboxes() -> None:
    msg = _parse(b"Rina <rina@x.id>, Budi <budi@y.id>", b"Sender: Budi <budi@y.id>\r\n")
    assert msg.sender.email == "budi@y.id" and msg.sender.name == "Budi"
    assert msg.extra["from_all"] == ["rina@x.id", "budi@y.id"]


def test_the_claimed_address_is_kept_for_staff() -> None:
    msg = _parse(b"alice@example.com <bob@example.com>")
    assert msg.extra["sender_claimed"] == "alice@example.com"


@pytest.mark.parametrize("from_line", [b"<@example.com>", b"budi@", b"@example.com",
                                       b"undisclosed-recipients:;", b"<>", b"Budi Santoso"])
def test_an_address_without_a_local_part_or_domain_is_never_an_identity(from_line: bytes) -> None:
    with pytest.raises(MalformedPayload, match="no email address"):
        _parse(from_line)


def test_mailboxes_reads_lists_with_quotes_and_comments() -> None:
    got = mailboxes(['"Doe, John" <j@x.id>, (kantor) k@y.id, "a<b" <c@z.id>'])
    assert got == [("Doe, John", "j@x.id"), ("kantor", "k@y.id"), ("a<b", "c@z.id")]


def test_pick_sender_without_a_valid_mailbox_is_none() -> None:
    assert pick_sender(["Budi"], []) is None
    choice: Any = pick_sender(["a@b.id"], [])
    assert choice.address == "a@b.id" and choice.warnings == ()
