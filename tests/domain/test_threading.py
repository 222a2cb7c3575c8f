"""The ticket token both ways, and the reply subject."""

from __future__ import annotations

import pytest

from ticketing.domain.threading import (find_ticket_token, reply_subject, strip_reply_prefixes,
                                        ticket_tag)


@pytest.mark.parametrize("ticket_id", [1, 123, 999_999, 1_000_000, 123_456_789_012])
def test_a_written_token_is_found_again(ticket_id: int) -> None:
    assert find_ticket_token(f"Re: {ticket_tag(ticket_id)} Pengaduan Anda") == ticket_id


def test_the_token_has_at_least_six_digits() -> None:
    assert ticket_tag(123) == "[#T-000123]"
    assert ticket_tag(1_234_567) == "[#T-1234567]"


@pytest.mark.parametrize("text", [None, "", "T-000123", "[#T-]", "[T-000123]", "#T-000123",
                                  "[#T-1234567890123]"])
def test_no_token_in_text_without_one(text: str | None) -> None:
    assert find_ticket_token(text) is None


def test_the_first_token_wins() -> None:
    assert find_ticket_token("[#T-000007] Re: [#T-000009] lama") == 7


@pytest.mark.parametrize("subject, want", [
    ("Re: Fwd: [#T-000123] Insentif belum cair", "Insentif belum cair"),
    ("BLS: TRS: Balas: Teruskan: AW: re : OTP", "OTP"),
    ("  [#T-000001]   [#T-000002] Re: akun", "akun"),
    ("Reaktivasi akun", "Reaktivasi akun"),
    (None, ""),
])
def test_reply_prefixes_and_old_tokens_are_stripped(subject: str | None, want: str) -> None:
    assert strip_reply_prefixes(subject) == want


def test_reply_subject_carries_the_token_once() -> None:
    subject = reply_subject(42, "Re: [#T-000042] Re: Insentif belum cair")
    assert subject == "[#T-000042] Re: Insentif belum cair"
    assert find_ticket_token(subject) == 42
    assert reply_subject(42, "Re: ") == "[#T-000042] Re: Pengaduan Anda"
    assert len(reply_subject(42, "x" * 1000)) == 300
