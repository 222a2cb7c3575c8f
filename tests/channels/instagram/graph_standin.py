"""A local stand-in for Meta's Graph API (the parts the sender uses), on a loopback port:
``POST /{account}/messages``, ``POST /{comment}/replies``, ``GET /{account}`` (with the
``mentioned_comment`` / ``mentioned_media`` fields of the Mentions API), ``GET /?ids=...``
(multiple-id read of IG Comments: ``from``, ``media``) and ``GET /{account}/conversations``.  It records every request and
answers as Meta does for the recipient or token it is given:

* token ``expired`` → 400 code 190 (OAuthException); recipient ``limited`` → 400 code 4;
* recipient ``outside`` → 400 code 10 / 2018278 unless the message is tagged ``HUMAN_AGENT``;
* recipient ``gone`` → 400 code 551 ("This person isn't available right now");
* text over 1,000 characters → 400 code 100 (length);
* a private reply (``recipient.comment_id``) to a comment registered in ``comments`` (id →
  creation time) more than 7 days before ``now()`` → 400 code 10 "outside of allowed window",
  as Meta's Private Replies documentation says (7 days after the comment); a public reply
  (``/{comment}/replies``) any time; a second private reply to one comment → 400 code 10
  (Meta allows one; the wording of that refusal is the stand-in's own);
* anything else → 200 with a fresh ``message_id`` (or comment ``id``)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


ACCOUNT = "17841400000000001"


class GraphStandIn:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        # What GET /{account}/conversations answers (Meta's shape, field expansion applied).
        self.conversations: list[dict[str, Any]] = []
        self.token_expired = False
        # Comments Meta knows (id → when written) and the stand-in's clock, for the 7-day
        # private-reply window.
        self.comments: dict[str, dt.datetime] = {}
        self.now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
        # IG Comments as the Graph API returns them (id → {"id", "from", "media"}), and the
        # comments / media that mention our account (id → the mentioned_* object).
        self.comment_objects: dict[str, dict[str, Any]] = {}
        self.mentioned: dict[str, dict[str, Any]] = {}
        self.privately_answered: set[str] = set()
        self._ids = itertools.count(1)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
                standin.requests.append({"path": self.path, "body": None, "token": token})
                if token == "expired":
                    status, answer = standin._error(190, "Error validating access token", 463)
                elif "/conversations" in self.path:
                    status, answer = 200, {"data": standin.conversations}
                elif "ids=" in self.path:
                    query = parse_qs(urlsplit(self.path).query)
                    ids = query["ids"][0].split(",")
                    status, answer = 200, {i: standin.comment_objects[i] for i in ids
                                           if i in standin.comment_objects}
                elif "mentioned_" in self.path:
                    fields = parse_qs(urlsplit(self.path).query)["fields"][0]
                    kind = fields.split(".", 1)[0]
                    wanted = fields.split("(", 1)[1].split(")", 1)[0]
                    found = standin.mentioned.get(wanted)
                    status, answer = (200, {"id": ACCOUNT, kind: found}) if found else \
                        standin._error(100, f"Unsupported get request. Object {wanted} does "
                                            "not exist", 33)
                else:
                    status, answer = 200, {"id": ACCOUNT}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(size) or b"{}")
                token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
                standin.requests.append({"path": self.path, "body": body, "token": token})
                status, answer = standin.answer(self.path, body, token)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v21.0"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _error(code: int, message: str, sub: int | None = None) -> tuple[int, dict[str, Any]]:
        return 400, {"error": {"message": message, "type": "OAuthException", "code": code,
                               "error_subcode": sub, "fbtrace_id": "AbCdEf"}}

    def answer(self, path: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
        if token == "expired":
            return self._error(190, "Error validating access token: Session has expired", 463)
        n = next(self._ids)
        if path.endswith("/replies"):
            return 200, {"id": f"1790000000000{n:04d}"}
        recipient = body.get("recipient", {})
        text = body.get("message", {}).get("text", "")
        who = recipient.get("id")
        answered = recipient.get("comment_id")
        written = self.comments.get(str(answered))
        if written is not None and self.now() - written > dt.timedelta(days=7):
            return self._error(10, "This message is sent outside of allowed window.")
        if answered is not None:
            if answered in self.privately_answered:
                return self._error(10, "Only one private reply may be sent to a comment.")
            self.privately_answered.add(answered)
        if who == "limited":
            return self._error(4, "Application request limit reached")
        if who == "gone":
            return self._error(551, "This person isn't available right now.", 1545041)
        if who == "outside" and body.get("tag") != "HUMAN_AGENT":
            return self._error(10, "This message is sent outside of allowed window.", 2018278)
        if len(text) > 1000:
            return self._error(100, "Length of param message[text] must be less than or "
                                    "equal to 1000")
        return 200, {"recipient_id": who or "9000000000000005", "message_id": f"m_sent_{n}"}

    def __enter__(self) -> GraphStandIn:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def running() -> Iterator[GraphStandIn]:
    with GraphStandIn() as standin:
        yield standin
