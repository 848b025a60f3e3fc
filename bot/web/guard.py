"""The guard in front of Bolt: every Slack request passes here first, so no listener ever sees a
request that is unsigned, stale, replayed, oversized or not shaped like what Slack sends, and no
request, signed or not, is ever answered with a 500 or an HTML page.

Order matters: the headers are checked before the body is read (an unsigned 100 MB body is refused
without reading it), the size before reading, the signature before parsing, the shape before the
replay store (only a well-formed signed request costs a database write), and the store before Bolt.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import threading
import time
import traceback
from pathlib import PurePath
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.web.shapes import Refused, SlackRequest, Unreadable, inspect, slack_text
from models import SeenRequest
from models.db import session_scope

log = logging.getLogger(__name__)

# Slack's requests are small: a slash command is a few hundred bytes; a button press also carries the
# message or view it sat in, and Collab's own messages are a few KB. Anything bigger is refused (413).
MAX_BODY_BYTES = 256 * 1024
# Slack's advice: refuse a request whose timestamp is more than five minutes from now.
SIGNATURE_WINDOW_SECONDS = 5 * 60
# How often a worker clears signatures older than the window out of the replay store.
PRUNE_EVERY_SECONDS = 60
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: "²" is a digit to str.isdigit()
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
CONTENT_LENGTH = re.compile(r"[0-9]{1,12}")

SORRY = ("Sorry, something went wrong on Collab's side and I couldn't do that. "
         "Nothing was lost: what was already saved is still there. Please try again in a minute.")


class Replay(Refused):
    """The same signed bytes again. Refused, except that an event is acknowledged: Slack keeps
    retrying (and may turn off the app's events) when deliveries are not answered 200."""


NUL_REPLY = ("I couldn't read that: it holds a NUL character, which can't be typed or stored, so nothing "
             "was saved. Here is what you typed without it, to send again:")
NUL_FIELD = "This holds a NUL character, which can't be stored. Please retype it; nothing was saved."


class SlackGuard:
    """WSGI middleware: `SlackGuard(bolt_wsgi_app, signing_secret, engine)`."""

    def __init__(self, app: Callable, signing_secret: str, engine: Engine, *,
                 notify: Callable[[SlackRequest, str], None] | None = None,
                 clock: Callable[[], float] | None = None, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.secret = signing_secret.encode()
        self.engine = engine
        self.notify = notify
        # Looked up at each call, so a test's frozen clock (freezegun) is the one Slack's sender uses.
        self.clock = clock or (lambda: time.time())
        self.max_body_bytes = max_body_bytes
        self._pruned_at = 0.0
        self._prune_lock = threading.Lock()

    def __call__(self, environ, start_response):
        request: SlackRequest | None = None
        try:
            body, signature = self._verified_body(environ)
            request = inspect(body, environ.get("CONTENT_TYPE", ""))
            self._remember(signature)
            status, headers, payload = self._run(environ, body, request)
            if not status.startswith("5"):
                return _send(start_response, status, headers, payload)
            failure = "the listener failed (Bolt answered %s)" % status[:3]
        except Replay as replay:
            if request is not None and request.kind == "event":
                return _send(start_response, "200 OK", [("Content-Type", "text/plain; charset=utf-8")], b"")
            return _send_json(start_response, replay.status, {"ok": False, "error": str(replay)})
        except Refused as refused:
            return _send_json(start_response, refused.status, {"ok": False, "error": str(refused)})
        except Unreadable as unreadable:
            return _unreadable(unreadable, start_response)
        except Exception as error:  # the last resort: nothing below may answer a 500
            failure = describe(error)
        kind = f"{request.kind}:{request.interaction}" if request and request.interaction else (
            request.kind if request else "unchecked")
        log.error("a Slack request (%s) failed: %s", kind, failure)
        return self._apologise(request, start_response)

    # ---------------------------------------------------------------- letting a request in
    def _verified_body(self, environ) -> tuple[bytes, str]:
        """The body and its signature, once both headers are well formed, the timestamp is within
        the window, the size is within the limit and the signature matches."""
        if environ.get("REQUEST_METHOD") != "POST":
            raise Refused("405 Method Not Allowed", "Slack requests are POSTs")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        if timestamp is None or not TIMESTAMP.fullmatch(timestamp):
            raise Refused("401 Unauthorized", "X-Slack-Request-Timestamp is missing or is not whole seconds")
        if signature is None or not SIGNATURE.fullmatch(signature):
            raise Refused("401 Unauthorized", "X-Slack-Signature is missing or is not v0= and 64 hex digits")
        if abs(self.clock() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
            raise Refused("401 Unauthorized", "X-Slack-Request-Timestamp is more than 5 minutes from now")
        body = self._read(environ)
        expected = "v0=" + hmac.new(self.secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise Refused("401 Unauthorized", "X-Slack-Signature does not match the body")
        return body, signature

    def _read(self, environ) -> bytes:
        declared = environ.get("CONTENT_LENGTH") or ""
        stream = environ["wsgi.input"]
        if declared:
            if not CONTENT_LENGTH.fullmatch(declared):
                raise Refused("400 Bad Request", "Content-Length is not a number")
            length = int(declared)
            if length > self.max_body_bytes:
                raise Refused("413 Content Too Large", f"the body is over {self.max_body_bytes:,} bytes")
            body = _read_up_to(stream, length)
            if len(body) < length:
                raise Refused("400 Bad Request", "the body is shorter than Content-Length")
            return body
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return b""
        body = _read_up_to(stream, self.max_body_bytes + 1)
        if len(body) > self.max_body_bytes:
            raise Refused("413 Content Too Large", f"the body is over {self.max_body_bytes:,} bytes")
        return body

    def _remember(self, signature: str) -> None:
        """Store the signature; a second arrival of the same one is a replay."""
        now = datetime.now(timezone.utc)
        try:  # one INSERT on a connection: no ORM session, on every request
            with self.engine.begin() as connection:
                connection.execute(insert(SeenRequest.__table__).values(signature=signature, seen_at=now))
        except IntegrityError:
            raise Replay("401 Unauthorized", "this request was already received (a replay)") from None
        self._prune(now)

    def _prune(self, now: datetime) -> None:
        """Signatures older than the window can never be valid again: forget them once a minute."""
        with self._prune_lock:
            if self.clock() - self._pruned_at < PRUNE_EVERY_SECONDS:
                return
            self._pruned_at = self.clock()
        cutoff = now - timedelta(seconds=2 * SIGNATURE_WINDOW_SECONDS)
        with session_scope(self.engine) as session:
            session.exec(delete(SeenRequest).where(SeenRequest.seen_at < cutoff))

    # ---------------------------------------------------------------- behind the guard
    def _run(self, environ, body: bytes, request: SlackRequest) -> tuple[str, list, bytes]:
        """Call Bolt with the body already read, and hold its answer until we know it is not a 500."""
        environ = dict(environ)
        if request.kind == "command" and b"payload" in body:
            # Bolt takes any form body containing the letters "payload" for an interaction, so
            # `/collab need a payload of books` reached no listener. The same form with one letter
            # percent-encoded means the same thing; the guard, which checked Slack's signature,
            # signs it for Bolt.
            body = body.replace(b"payload", b"p%61yload")
            timestamp = environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"].encode()
            environ["HTTP_X_SLACK_SIGNATURE"] = "v0=" + hmac.new(
                self.secret, b"v0:" + timestamp + b":" + body, hashlib.sha256).hexdigest()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        answer: dict = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda _data: None

        chunks = self.app(environ, capture)
        try:
            payload = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return answer["status"], answer["headers"], payload

    def _apologise(self, request: SlackRequest | None, start_response):
        """A polite answer to a person; a bare acknowledgement to Slack's own deliveries."""
        if request is None:
            return _send_json(start_response, "400 Bad Request", {"ok": False, "error": "bad request"})
        if request.kind == "command":
            return _send_json(start_response, "200 OK", {"response_type": "ephemeral", "text": SORRY})
        if request.interaction == "view_submission" and request.input_blocks:
            # Keep the modal open with everything typed in it, and say so beside the first field.
            return _send_json(start_response, "200 OK", {
                "response_action": "errors", "errors": {request.input_blocks[0]: SORRY[:150]}})
        if request.kind == "interaction" and self.notify is not None:
            threading.Thread(target=self._notify, args=(request,), daemon=True,
                             name="collab-apology").start()
        return _send(start_response, "200 OK", [("Content-Type", "text/plain; charset=utf-8")], b"")

    def _notify(self, request: SlackRequest) -> None:
        try:
            self.notify(request, SORRY)
        except Exception as error:
            log.error("could not tell the person their request failed: %s", describe(error))


def _unreadable(unreadable: Unreadable, start_response):
    request = unreadable.request
    if request.kind == "command":
        typed = slack_text(request.payload.get("text", "").replace("\x00", ""))
        return _send_json(start_response, "200 OK", {"response_type": "ephemeral",
                                                     "text": f"{NUL_REPLY}\n>{typed}"})
    block = unreadable.block_id or (request.input_blocks[0] if request.input_blocks else None)
    if request.interaction == "view_submission" and block:
        return _send_json(start_response, "200 OK", {"response_action": "errors", "errors": {block: NUL_FIELD}})
    return _send_json(start_response, "400 Bad Request", {"ok": False, "error": "a NUL character in the payload"})


def describe(error: BaseException) -> str:
    """An exception for the log without its message (which may quote what someone typed): its type
    and where it was raised in our code."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/bot/" in f.filename or "/models/" in f.filename] or frames
    if not ours:
        return type(error).__name__
    path = PurePath(ours[-1].filename)
    return f"{type(error).__name__} at {path.parent.name}/{path.name}:{ours[-1].lineno}"


def _read_up_to(stream, limit: int) -> bytes:
    parts, remaining = [], limit
    while remaining > 0:
        chunk = stream.read(min(remaining, 64 * 1024))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _send(start_response, status: str, headers: list, payload: bytes):
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    start_response(status, headers + [("Content-Length", str(len(payload)))])
    return [payload]


def _send_json(start_response, status: str, body: dict):
    return _send(start_response, status, [("Content-Type", "application/json")], json.dumps(body).encode())
