"""A local stand-in for the Telegram Bot API, so the real python-telegram-bot runs end to end
offline: ``{root}/bot{token}/{method}`` and ``{root}/file/bot{token}/{path}`` on loopback.

It answers ``getMe``, ``getUpdates`` (offsets confirm earlier updates, as Telegram does; a
short long-poll), ``sendMessage``, ``sendPhoto``, ``sendDocument``, ``getFile`` and file
downloads, ``setWebhook``, ``deleteWebhook`` and ``getWebhookInfo``.  Failures are scripted per
method (``fail``: 429 with ``retry_after``, 403, 400 ...; ``stall``: answer late, for client
timeouts).  Every call is logged with its monotonic time (``calls``), which is what the pacing
benchmark measures.  Used by the tests and by ``bench/telegram_*.py``."""

from __future__ import annotations

import email.parser
import email.policy
import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "123456:TEST-token"


@dataclass
class Call:
    at: float
    method: str
    params: dict[str, Any]
    status: int = 200


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1
    delay: float = 0.0


@dataclass
class State:
    token: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update: int = 1
    confirmed: int = 0  # the highest offset a getUpdates call gave
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id → path, bytes
    sent_ids: dict[int, int] = field(default_factory=dict)  # chat → last message id
    webhook: dict[str, Any] = field(default_factory=dict)
    # The longest a getUpdates call waits for updates (Telegram: up to 50 s; short by default
    # so tests do not wait on it).
    long_poll_cap: float = 2.0
    # Where calls' times come from (a test with a fake clock logs that clock's time).
    now: Callable[[], float] = time.monotonic
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)


class StandIn:
    def __init__(self, token: str = TOKEN, *, long_poll_cap: float = 2.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.state = State(token=token, long_poll_cap=long_poll_cap, now=now)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -------------------------------------------------------------- scripting

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        with self.state.lock:
            uid = update.get("update_id") or self.state.next_update
            self.state.next_update = max(self.state.next_update, uid + 1)
            self.state.updates.append({**update, "update_id": uid})
            self.state.arrived.notify_all()
        return int(uid)

    def fail(self, method: str, status: int, description: str, *, retry_after: int | None = None,
             times: int = 1, delay: float = 0.0) -> None:
        with self.state.lock:
            self.state.failures.setdefault(method, []).append(
                Failure(status, description, retry_after, times, delay))

    def stall(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer ``method`` only after ``seconds`` (a client with a shorter timeout gives up)."""
        self.fail(method, 200, "", times=times, delay=seconds)

    def add_file(self, file_id: str, data: bytes, path: str = "photos/file_1.jpg") -> None:
        with self.state.lock:
            self.state.files[file_id] = (path, data)

    def calls(self, method: str | None = None) -> list[Call]:
        with self.state.lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    def pending(self) -> list[int]:
        with self.state.lock:
            return [u["update_id"] for u in self.state.updates]

    def start(self) -> StandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running(token: str = TOKEN) -> Iterator[StandIn]:
    s = StandIn(token).start()
    try:
        yield s
    finally:
        s.stop()


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


class _Handler(BaseHTTPRequestHandler):
    state: State
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK (~40 ms a response).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _params(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        out: dict[str, Any] = {k: _decode(v) for k, v in query.items()}
        if ctype.startswith("application/json") and body:
            out.update(json.loads(body))
        elif ctype.startswith("application/x-www-form-urlencoded"):
            out.update({k: _decode(v) for k, v in urllib.parse.parse_qsl(body.decode())})
        elif ctype.startswith("multipart/form-data"):
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {ctype}\r\n\r\n".encode() + body)
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True) or b""
                if part.get_filename():
                    out[str(name)] = {"filename": part.get_filename(), "size": len(data)}
                else:
                    out[str(name)] = _decode(data.decode())
        return out

    def _answer(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        st = self.state
        file_prefix = f"/file/bot{st.token}/"
        if path.startswith(file_prefix):
            wanted = path[len(file_prefix):]
            with st.lock:
                st.calls.append(Call(st.now(), "download", {"path": wanted}))
                found = next((d for p, d in st.files.values() if p == wanted), None)
            if found is None:
                self._answer(404, b"not found", "text/plain")
            else:
                self._answer(200, found, "application/octet-stream")
            return
        prefix = f"/bot{st.token}/"
        if not path.startswith(prefix):
            self._answer(404, json.dumps({"ok": False, "error_code": 404,
                                          "description": "Not Found"}).encode())
            return
        method = path[len(prefix):]
        params = self._params()
        call = Call(st.now(), method, params)
        method = _METHODS.get(method.lower(), method)  # case-insensitive, as in the Bot API
        call.method = method
        failure = self._failure(method)
        if failure is not None and failure.delay:
            time.sleep(failure.delay)
        if failure is not None and failure.status != 200:
            call.status = failure.status
            with st.lock:
                st.calls.append(call)
            extra = ({"parameters": {"retry_after": failure.retry_after}}
                     if failure.retry_after is not None else {})
            self._answer(failure.status, json.dumps(
                {"ok": False, "error_code": failure.status,
                 "description": failure.description, **extra}).encode())
            return
        with st.lock:
            st.calls.append(call)
        result = getattr(self, f"_m_{method}", None)
        if result is None:
            self._answer(404, json.dumps({"ok": False, "error_code": 404,
                                          "description": "Not Found: method"}).encode())
            return
        try:
            answer = result(params)
        except _Refused as exc:
            call.status = exc.status
            self._answer(exc.status, json.dumps({"ok": False, "error_code": exc.status,
                                                 "description": exc.description}).encode())
            return
        self._answer(200, json.dumps({"ok": True, "result": answer}).encode())

    def _failure(self, method: str) -> Failure | None:
        with self.state.lock:
            queue = self.state.failures.get(method) or []
            if not queue:
                return None
            head = queue[0]
            head.times -= 1
            if head.times <= 0:
                queue.pop(0)
            return head

    # -------------------------------------------------------------- methods

    def _m_getMe(self, _: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"id": int(self.state.token.partition(":")[0]), "is_bot": True,
                "first_name": "Pengaduan", "username": "pengaduan_test_bot",
                "can_join_groups": False, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def _m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: N802
        st = self.state
        offset = int(p.get("offset") or 0)
        limit = int(p.get("limit") or 100)
        deadline = time.monotonic() + min(float(p.get("timeout") or 0), st.long_poll_cap)
        with st.lock:
            if offset:
                st.updates = [u for u in st.updates if u["update_id"] >= offset]
                st.confirmed = max(st.confirmed, offset)
            while not st.updates and time.monotonic() < deadline:
                st.arrived.wait(deadline - time.monotonic())
            return [dict(u) for u in st.updates[:limit]]

    def _sent(self, p: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat = int(p["chat_id"])
        with self.state.lock:
            mid = self.state.sent_ids.get(chat, 1000) + 1
            self.state.sent_ids[chat] = mid
        return {"message_id": mid, "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": {"id": int(self.state.token.partition(":")[0]), "is_bot": True,
                         "first_name": "Pengaduan"}, **content}

    def _m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._sent(p, text=str(p.get("text")))

    def _m_sendPhoto(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._sent(p, photo=[{"file_id": "sent-photo", "file_unique_id": "u",
                                     "width": 1, "height": 1}])

    def _m_sendDocument(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._sent(p, document={"file_id": "sent-doc", "file_unique_id": "u"})

    def _m_getFile(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.state.lock:
            found = self.state.files.get(str(p.get("file_id")))
        if found is None:  # as Telegram says it
            raise _Refused(400, "Bad Request: invalid file_id")
        path, data = found
        return {"file_id": p["file_id"], "file_unique_id": "u" + str(p["file_id"]),
                "file_size": len(data), "file_path": path}

    def _m_setWebhook(self, p: dict[str, Any]) -> bool:  # noqa: N802
        with self.state.lock:
            self.state.webhook = dict(p)
        return True

    def _m_deleteWebhook(self, p: dict[str, Any]) -> bool:  # noqa: N802
        with self.state.lock:
            self.state.webhook = {}
        return True

    def _m_getWebhookInfo(self, _: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.state.lock:
            return {"url": self.state.webhook.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": len(self.state.updates)}


_METHODS = {n[3:].lower(): n[3:] for n in dir(_Handler) if n.startswith("_m_")}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on its call (a cancelled long poll of a stopping worker): the
        # answer has nowhere to go.  Anything else is printed as usual.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Refused(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description
