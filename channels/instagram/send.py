"""The Instagram sender: replies through Meta's Graph API (``TICKETING_META_GRAPH_URL``, with
``TICKETING_META_ACCESS_TOKEN``), called by the outbox worker.

What the reply answers decides how it goes (``payload["in_reply_to"]``, the citizen's last
Instagram message on the ticket):

* a DM: ``POST /{account}/messages`` to the citizen's Instagram-scoped id.  Outside Meta's
  24-hour window Meta refuses it (code 10, subcode 2018278); with ``human_agent`` the send is
  repeated once with the ``HUMAN_AGENT`` tag (up to 7 days), else it is refused for good;
* a comment: a private reply (the default) — a DM to the commenter (``recipient.comment_id``),
  which moves the conversation to DM on the same ticket — or, with ``payload["public"]``, a
  public reply in the comment thread (``POST /{comment}/replies``), which the sender refuses if
  it holds personal data (a NIK, a phone number, an e-mail address): everyone reads it.

Meta's errors are mapped: an expired or invalid token is ``ChannelUnavailable`` (retried until
someone renews it), rate limits are ``RateLimited`` (the outbox backs off), a user who cannot be
reached is ``RecipientRejected(unreachable=True)``, too long or otherwise refused is
``RecipientRejected``.  What is returned is Meta's id of what we sent (a mid, or
``comment:<id>``), stored on our message so that echoes and answers thread back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from channels.instagram.capability import MAX_TEXT
from channels.instagram.parse import comment_id
from ticketing.domain.errors import ChannelUnavailable, RateLimited, RecipientRejected
from ticketing.domain.redact import redact
from ticketing.services.ports import Delivery, Sender

log = logging.getLogger(__name__)

_RATE_CODES = {4, 17, 32, 613}  # app / user / page / custom rate limits
_OUTSIDE_WINDOW = (10, 2018278)
_UNREACHABLE_SUBCODES = {2018001, 2018108, 2534014, 1545041}
_COMMENT = comment_id("")


class OutsideWindow(RecipientRejected):
    """Meta refused a DM outside the 24-hour window."""


def graph_error(response: httpx.Response) -> Exception:
    """The channel error for a Graph API answer that is not a success."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    code, sub = error.get("code"), error.get("error_subcode")
    text = str(error.get("message") or response.reason_phrase)[:300]
    where = f"Graph API {response.status_code} code {code}/{sub}: {text}"
    if response.status_code == 429 or code in _RATE_CODES:
        retry = response.headers.get("retry-after", "")
        return RateLimited(where, retry_after=float(retry) if retry.isdigit() else 60.0)
    if code == 190 or response.status_code == 401:
        return ChannelUnavailable(f"access token expired or invalid; renew "
                                  f"TICKETING_META_ACCESS_TOKEN ({where})")
    if (code, sub) == _OUTSIDE_WINDOW or "outside of allowed window" in text.lower():
        return OutsideWindow(f"di luar jendela 24 jam Meta (outside Meta's 24-hour window: "
                             f"{where})")
    if code == 551 or sub in _UNREACHABLE_SUBCODES:
        return RecipientRejected(f"pengguna tidak bisa dihubungi (user not reachable: {where})",
                                 unreachable=True)
    if code == 100 and "length" in text.lower():
        return RecipientRejected(f"pesan terlalu panjang (too long: {where})")
    if 400 <= response.status_code < 500:
        return RecipientRejected(where)
    return ChannelUnavailable(where)


def personal_data(text: str) -> bool:
    """A NIK, a phone number or an e-mail address in the text (what ``redact`` would mask)."""
    return redact(text) != text


class GraphSender:
    def __init__(self, *, graph_url: str, access_token: str, account_id: str = "me",
                 human_agent: bool = False, client: httpx.Client | None = None,
                 timeout: float = 15.0) -> None:
        self.root = graph_url.rstrip("/")
        self.token, self.account, self.human_agent = access_token, account_id, human_agent
        self.client = client or httpx.Client(timeout=timeout)

    def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response = self.client.post(f"{self.root}{path}", json=dict(body),
                                        headers={"Authorization": f"Bearer {self.token}"})
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"Graph API unreachable: {exc}") from exc
        if response.status_code != 200:
            raise graph_error(response)
        try:
            data = response.json()
        except ValueError as exc:
            raise ChannelUnavailable("Graph API answered 200 without JSON") from exc
        return data if isinstance(data, dict) else {}

    def __call__(self, delivery: Delivery) -> str | None:
        if not self.token:
            raise ChannelUnavailable("TICKETING_META_ACCESS_TOKEN is not set")
        body = str(delivery.payload.get("body") or "")
        if len(body) > MAX_TEXT:
            raise RecipientRejected(f"pesan lebih dari {MAX_TEXT} karakter (too long for "
                                    f"Instagram: {len(body)} characters)")
        answered = str(delivery.payload.get("in_reply_to") or "")
        if answered.startswith(_COMMENT):
            return self._comment_reply(answered[len(_COMMENT):], body,
                                       public=bool(delivery.payload.get("public")))
        recipient = delivery.recipient.get("instagram_id")
        if not recipient:
            raise RecipientRejected("no Instagram-scoped id for the citizen")
        message = {"recipient": {"id": str(recipient)}, "message": {"text": body}}
        try:
            data = self._post(f"/{self.account}/messages", message)
        except OutsideWindow:
            if not self.human_agent:
                raise
            data = self._post(f"/{self.account}/messages",
                              {**message, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"})
        mid = data.get("message_id")
        return str(mid) if mid else None

    def _comment_reply(self, cid: str, body: str, *, public: bool) -> str | None:
        if public:
            if personal_data(body):
                raise RecipientRejected("balasan publik memuat data pribadi (NIK, nomor telepon "
                                        "atau e-mail); kirim sebagai balasan pribadi (a public "
                                        "reply must not hold personal data)")
            data = self._post(f"/{cid}/replies", {"message": body})
            return comment_id(data["id"]) if data.get("id") else None
        try:
            data = self._post(f"/{self.account}/messages",
                              {"recipient": {"comment_id": cid}, "message": {"text": body}})
        except OutsideWindow as exc:
            # Private replies have their own window: 7 days after the comment (capability.py)
            raise OutsideWindow(f"balasan pribadi lebih dari 7 hari setelah komentar ditolak "
                                f"Meta; balas secara publik (a private reply more than 7 days "
                                f"after the comment: reply publicly) — {exc}") from exc
        mid = data.get("message_id")
        return str(mid) if mid else None


def make_sender(*, graph_url: str, access_token: str, account_id: str = "me",
                human_agent: bool = False) -> Sender:
    return GraphSender(graph_url=graph_url, access_token=access_token, account_id=account_id,
                       human_agent=human_agent)
