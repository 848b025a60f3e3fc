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
from dataclasses import dataclass, field
from pathlib import PurePath
from datetime import datetime, timedelta, timezone
from typing import Callable
from urllib.parse import parse_qsl

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from models import SeenRequest
from models.db import session_scope

log = logging.getLogger(__name__)

# Slack's requests are small: a slash command is a few hundred bytes, and the largest we receive (a
# button press echoing one of our own messages) is tens of KB. Anything bigger is refused with 413.
MAX_BODY_BYTES = 256 * 1024
# Slack's advice: refuse a request whose timestamp is more than five minutes from now.
SIGNATURE_WINDOW_SECONDS = 5 * 60
# How often a worker clears signatures older than the window out of the replay store.
PRUNE_EVERY_SECONDS = 60
# Slack's ids (T…, U…, C…, E…, W…) are upper-case letters and digits; our columns hold 32.
SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")
EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: "²" is a digit to str.isdigit()
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
CONTENT_LENGTH = re.compile(r"[0-9]{1,12}")

SORRY = ("Sorry, something went wrong on Collab's side and I couldn't do that. "
         "Nothing was lost: what was already saved is still there. Please try again in a minute.")


class Refused(Exception):
    """A request the guard will not let in; `status` and the message are what the sender is told."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


class Replay(Refused):
    """The same signed bytes again. Refused, except that an event is acknowledged: Slack keeps
    retrying (and may turn off the app's events) when deliveries are not answered 200."""


NUL_REPLY = ("I couldn't read that: it holds a NUL character, which can't be typed or stored, so nothing "
             "was saved. Here is what you typed without it, to send again:")
NUL_FIELD = "This holds a NUL character, which can't be stored. Please retype it; nothing was saved."


@dataclass
class SlackRequest:
    """What the guard learned about a signed request: enough to answer a person politely if the
    listener behind it fails, and nothing else."""

    kind: str                       # "command", "interaction", "event", "other"
    payload: dict = field(default_factory=dict)
    interaction: str = ""           # block_actions, view_submission, ...
    response_url: str | None = None
    user_id: str | None = None
    channel_id: str | None = None
    input_blocks: list[str] = field(default_factory=list)


class Unreadable(Exception):
    """Signed, from a person, and shaped like Slack's, but holding a NUL (PostgreSQL cannot store
    one, and nobody types one): answered with a clear message instead of reaching a listener."""

    def __init__(self, request: SlackRequest, block_id: str | None = None):
        super().__init__("a NUL character in what was sent")
        self.request = request
        self.block_id = block_id


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def slack_text(text: str) -> str:
    """Text for mrkdwn: Slack's own three escapes undone once, then all three done, so text Slack
    escaped shows as typed and text nobody escaped can neither ping nor link."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _is_id(value) -> bool:
    return isinstance(value, str) and SLACK_ID.fullmatch(value) is not None


def _require_id(value, what: str) -> str:
    if not _is_id(value):
        raise Refused("400 Bad Request", f"{what} is missing or is not a Slack id")
    return value


def inspect(body: bytes, content_type: str) -> SlackRequest:
    """Check a signed body has the shape Slack sends and the fields every listener relies on."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("400 Bad Request", "the body is not UTF-8") from None
    if "\x00" in text:
        raise Refused("400 Bad Request", "the body holds a NUL character")
    if content_type.split(";")[0].strip().lower() == "application/json":
        return _event(_json_object(text, "the JSON body"))
    if text.startswith("{"):  # Bolt reads any body starting with "{" as JSON, whatever its type says
        raise Refused("400 Bad Request", "a form body that starts with {")
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        return _interaction(_json_object(form["payload"], "payload"))
    if "command" in form:
        return _command(form)
    if form.get("ssl_check") == "1":
        return SlackRequest("other")
    raise Refused("400 Bad Request", "not a slash command, an interaction or an event")


def _json_object(text: str, what: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused("400 Bad Request", f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused("400 Bad Request", f"{what} is not a JSON object")
    return value


def _command(form: dict) -> SlackRequest:
    _require_id(form.get("team_id"), "team_id")
    user_id = _require_id(form.get("user_id"), "user_id")
    if not form.get("command", "").startswith("/"):
        raise Refused("400 Bad Request", "command is not a slash command")
    channel_id = form.get("channel_id") or None
    if channel_id is not None:
        _require_id(channel_id, "channel_id")
    request = SlackRequest("command", form, response_url=form.get("response_url") or None,
                           user_id=user_id, channel_id=channel_id)
    if _holds_nul(form):
        raise Unreadable(request)
    return request


def _interaction(payload: dict) -> SlackRequest:
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise Refused("400 Bad Request", "payload has no type")
    user = payload.get("user")
    user_id = _require_id(user.get("id") if isinstance(user, dict) else None, "user.id")
    team = payload.get("team")
    # Every listener works for one workspace: Enterprise Grid's org-wide shape (team: null) is refused.
    _require_id(team.get("id") if isinstance(team, dict) else None, "team.id")
    channel = payload.get("channel")
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    if channel_id is not None:
        _require_id(channel_id, "channel.id")
    request = SlackRequest("interaction", payload, interaction=kind, user_id=user_id, channel_id=channel_id,
                           response_url=payload.get("response_url") if isinstance(payload.get("response_url"), str) else None)
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            raise Refused("400 Bad Request", "block_actions has no actions")
        for action in actions:
            if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
                raise Refused("400 Bad Request", "an action has no action_id")
            if "value" in action and not isinstance(action["value"], str):
                raise Refused("400 Bad Request", "an action's value is not text")
    if kind in ("view_submission", "view_closed") or "view" in payload:
        request.input_blocks = _view(payload.get("view"), required=kind in ("view_submission", "view_closed"))
    if _holds_nul(payload):
        values = (payload.get("view") or {}).get("state", {}).get("values", {})
        raise Unreadable(request, next((block for block, value in values.items() if _holds_nul(value)), None))
    return request


def _view(view, required: bool) -> list[str]:
    if view is None and not required:
        return []
    if not isinstance(view, dict):
        raise Refused("400 Bad Request", "view is not an object")
    if not isinstance(view.get("callback_id", ""), str):
        raise Refused("400 Bad Request", "view.callback_id is not text")
    metadata = view.get("private_metadata", "")
    if not isinstance(metadata, str):
        raise Refused("400 Bad Request", "view.private_metadata is not text")
    if metadata:
        # Collab only ever writes a JSON object here (bot/messages): anything else was not ours.
        _json_object(metadata, "view.private_metadata")
    state = view.get("state", {"values": {}})
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(element, dict) for element in block.values())
            for block in values.values()):
        raise Refused("400 Bad Request", "view.state.values is not shaped like Slack's")
    return list(values)


def _event(body: dict) -> SlackRequest:
    kind = body.get("type")
    if kind == "url_verification":
        if not isinstance(body.get("challenge"), str):
            raise Refused("400 Bad Request", "url_verification has no challenge")
        return SlackRequest("other", body)
    if kind != "event_callback":
        if kind == "app_rate_limited":
            return SlackRequest("other", body)
        raise Refused("400 Bad Request", "not an event_callback")
    _require_id(body.get("team_id"), "team_id")
    if not (isinstance(body.get("event_id"), str) and EVENT_ID.fullmatch(body["event_id"])):
        raise Refused("400 Bad Request", "event_id is missing or malformed")
    if not isinstance(body.get("event_time"), int) or isinstance(body.get("event_time"), bool):
        raise Refused("400 Bad Request", "event_time is not a whole number")
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise Refused("400 Bad Request", "event is missing or has no type")
    if "user" in event and isinstance(event["user"], str):
        _require_id(event["user"], "event.user")
    if _holds_nul(body):
        raise Refused("400 Bad Request", "the event holds a NUL character")
    return SlackRequest("event", body)


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
