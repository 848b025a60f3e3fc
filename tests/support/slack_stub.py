"""A local stand-in for Slack's Web API, for tests.

Point the code under test at ``stub.api_url`` (``SLACK_API_URL`` /
``WebClient(base_url=stub.api_url)``) and every call it makes is recorded and
answered with a response shaped like Slack's (key names checked against
java-slack-sdk's recorded shapes in ``tests/fixtures/slack/java-slack-sdk-shapes``).

    with SlackStub() as stub:
        client = WebClient(token="xoxb-test", base_url=stub.api_url)
        client.chat_postMessage(channel="C1", text="hi")
        [call] = stub.wait_for("chat.postMessage")
        assert call.params["text"] == "hi"

It also accepts the POSTs that bolt's ``respond()`` sends to a ``response_url``
(``stub.response_url(name)`` makes one; they land in ``stub.responses``) and the
raw file bytes that ``files_upload_v2`` POSTs to the URL from
``files.getUploadURLExternal``.

Failures on demand: ``fail_next`` (HTTP 429 with ``Retry-After``, or 5xx, with any
body), ``error_next`` (HTTP 200 with ``ok: false``), ``lose_answer_next`` (the call is
carried out, then its answer is held past the client's timeout or the connection is
dropped without one) and ``rate_limit`` (Slack-style limits: past ``calls`` per
``per`` seconds a method answers 429 with ``Retry-After``). Failed calls are recorded
too, so a test can count attempts. ``conversations.history`` lists what was posted,
with message ``metadata`` when asked for (``include_all_metadata``).

Only the standard library is used; nothing from bot/, models/ or matching/.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["Call", "ResponseCall", "SlackStub", "dm_channel_id", "mpim_channel_id"]

TEAM_ID = "T0COLLAB1"
TEAM_NAME = "Collab Test Network"
TEAM_DOMAIN = "collab-test"
BOT_USER_ID = "U0COLLABBOT"
BOT_ID = "B0COLLAB1"
APP_ID = "A0COLLAB1"

_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _digest(text: str, n: int = 10) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:n].upper()


def dm_channel_id(user_id: str) -> str:
    """The stable IM channel id the stub gives the bot's DM with ``user_id``."""
    return "D" + _digest("im:" + user_id)


def mpim_channel_id(user_ids) -> str:
    """The stable group-DM id the stub gives a set of users (order does not matter)."""
    return "G" + _digest("mpim:" + ",".join(sorted(set(user_ids))))


@dataclass
class Call:
    """One request the stub received.

    ``params`` merges the query string, a form body and a JSON body, values as
    sent (so ``blocks`` sent form-encoded is a JSON string; sent as JSON it is a
    list). ``json(name)`` gives the parsed value either way.
    """

    method: str
    params: dict
    headers: dict
    status: int = 200
    response: Any = None
    outcome: str = "ok"  # "ok", "error:<slack error>", "http:<status>"
    body: bytes = b""
    at: float = field(default_factory=time.time)

    def json(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name, default)
        if isinstance(value, (str, bytes)):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.response, dict) and bool(self.response.get("ok"))

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return self.params.get("token")

    def __repr__(self) -> str:  # short, readable in assertion messages
        keys = {k: v for k, v in self.params.items() if k not in ("token",)}
        text = json.dumps(keys, default=str)
        if len(text) > 300:
            text = text[:300] + "…"
        return f"Call({self.method!r}, {self.outcome}, {text})"


@dataclass
class ResponseCall:
    """One POST to a ``response_url`` (``/response/<name>``)."""

    name: str
    body: Any  # parsed JSON when it was JSON, else the text
    headers: dict
    raw: bytes = b""
    status: int = 200
    at: float = field(default_factory=time.time)

    def json(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default

    @property
    def text(self) -> str | None:
        return self.json("text")

    @property
    def blocks(self) -> list:
        return self.json("blocks") or []

    def __repr__(self) -> str:
        text = json.dumps(self.body, default=str)
        if len(text) > 300:
            text = text[:300] + "…"
        return f"ResponseCall({self.name!r}, {text})"


# How often serve_forever looks for shutdown(): what every test with a stub waits at its end, on average half.
SHUTDOWN_POLL = 0.005


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class SlackStub:
    """Threaded HTTP server on 127.0.0.1 (random port) that imitates Slack's Web API.

    Attributes tests may read or set:
      calls       every Web API call (and file upload) in arrival order
      responses   every POST to a response_url
      users       ``{user_id: {...}}`` merged over a generated user for users.info;
                  a value of ``None`` makes that user unknown (``user_not_found``)
      auto_users  when True (default) any id like ``U…``/``W…`` is a known user
      uploads     ``{file_id: bytes}`` uploaded through the upload URL
      views       ``{view_id: view}`` opened / published / updated
      messages    ``{(channel, ts): message}`` posted or updated
    """

    def __init__(self, *, team_id: str = TEAM_ID, bot_user_id: str = BOT_USER_ID,
                 bot_id: str = BOT_ID, app_id: str = APP_ID):
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.users: dict[str, dict | None] = {}
        self.auto_users = True
        self.calls: list[Call] = []
        self.responses: list[ResponseCall] = []
        self.uploads: dict[str, bytes] = {}
        self.views: dict[str, dict] = {}
        self.messages: dict[tuple[str, str], dict] = {}
        self._handlers: dict[str, Callable[[Call], dict]] = {}
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lost_answers: dict[str, deque] = defaultdict(deque)
        self._limits: dict[str, tuple[int, float]] = {}
        self._recent: dict[str, deque] = defaultdict(deque)
        self._last_ts = 0.0
        self._cond = threading.Condition()
        self._counter = 0
        self._ts_counter = 0
        self._opened: set[str] = set()
        self._filenames: dict[str, str] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "SlackStub":
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", 0), self._make_handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-stub",
                                        kwargs={"poll_interval": SHUTDOWN_POLL}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "SlackStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackStub is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """Web API base URL, as ``WebClient(base_url=...)`` / ``SLACK_API_URL`` take it."""
        return self.base_url + "/api/"

    def response_url(self, name: str = "r") -> str:
        """A response_url that lands in ``self.responses`` with this ``name``."""
        return f"{self.base_url}/response/{name}"

    # ------------------------------------------------------------------ inspection
    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        with self._cond:
            found = [c for c in self.calls if c.method == method]
        if ok is not None:
            found = [c for c in found if c.ok == ok]
        return found

    def methods(self) -> list[str]:
        """Method names called so far, in order (handy in assertion messages)."""
        with self._cond:
            return [c.method for c in self.calls]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0, *,
                 ok: bool | None = None) -> list[Call]:
        """Wait until at least ``count`` calls to ``method`` arrived (failed ones count
        unless ``ok=True``); return them all. AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} call(s) to {method} within {timeout}s, got {len(found)}; "
                        f"calls seen: {self.calls!r}")
                self._cond.wait(min(left, 0.05))

    def wait_for_response(self, count: int = 1, timeout: float = 5.0, *,
                          name: str | None = None) -> list[ResponseCall]:
        """Wait until at least ``count`` response_url POSTs arrived (optionally for one name)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.responses if name is None or r.name == name]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} response_url POST(s) within {timeout}s, got {len(found)}; "
                        f"responses seen: {self.responses!r}; API calls seen: {self.calls!r}")
                self._cond.wait(min(left, 0.05))

    def reset(self) -> None:
        """Forget recorded calls, responses, uploads, views, messages and pending failures
        (users and custom handlers stay)."""
        with self._cond:
            self.calls.clear()
            self.responses.clear()
            self.uploads.clear()
            self.views.clear()
            self.messages.clear()
            self._failures.clear()
            self._lost_answers.clear()
            self._limits.clear()
            self._recent.clear()
            self._opened.clear()

    # ------------------------------------------------------------------ behaviour
    def fail_next(self, method: str, status: int = 429, retry_after: int | None = 1,
                  times: int = 1, body: Any = None) -> None:
        """The next ``times`` calls to ``method`` get HTTP ``status``; for 429 with a
        ``Retry-After`` header and ``{"ok": false, "error": "ratelimited"}``. ``body``
        replaces the answer's body: any JSON value (a list, ``null``) or, as ``bytes``,
        anything at all (an HTML error page). The call is not carried out.
        ``method="response"`` applies to response_url POSTs."""
        with self._cond:
            for _ in range(times):
                self._failures[method].append(("http", status, retry_after, body))

    def lose_answer_next(self, method: str, how: str = "drop", hold: float = 2.0, times: int = 1,
                         after: int = 0) -> None:
        """After ``after`` calls answered as usual, the next ``times`` calls to ``method`` are
        carried out (a message is posted) but their answer is lost: ``how="drop"`` closes the
        connection without one; ``how="hold"`` waits ``hold`` seconds first (longer than the
        client's timeout, which then gives up), then closes it."""
        if how not in ("drop", "hold"):
            raise ValueError("how is 'drop' or 'hold'")
        with self._cond:
            self._lost_answers[method].extend([None] * after)
            for _ in range(times):
                self._lost_answers[method].append((how, hold))

    def rate_limit(self, method: str, calls: int, per: float = 60.0) -> None:
        """Allow ``calls`` calls to ``method`` in any ``per`` seconds; past that, HTTP 429 with
        ``Retry-After`` saying when the next one will be allowed (rejected calls don't count).
        ``calls=0`` removes the limit."""
        with self._cond:
            if calls <= 0:
                self._limits.pop(method, None)
            else:
                self._limits[method] = (calls, per)
            self._recent.pop(method, None)

    def _over_limit(self, method: str) -> float | None:
        """Seconds until `method` may be called again, or None (and the call is counted)."""
        with self._cond:
            limit = self._limits.get(method)
            if limit is None:
                return None
            calls, per = limit
            now = time.monotonic()
            recent = self._recent[method]
            while recent and recent[0] <= now - per:
                recent.popleft()
            if len(recent) >= calls:
                return recent[0] + per - now
            recent.append(now)
            return None

    def _pop_lost_answer(self, method: str):
        """The answer-losing fault for this call, or None to answer it as usual."""
        with self._cond:
            queue = self._lost_answers.get(method)
            if queue:
                return queue.popleft()
        return None

    def error_next(self, method: str, error: str = "user_not_found", times: int = 1) -> None:
        """The next ``times`` calls to ``method`` get HTTP 200 ``{"ok": false, "error": error}``."""
        with self._cond:
            for _ in range(times):
                self._failures[method].append(("error", error, None))

    def on(self, method: str, handler: Callable[[Call], dict] | dict | None) -> None:
        """Answer ``method`` with ``handler(call)`` (or a fixed dict); ``None`` restores the default."""
        if handler is None:
            self._handlers.pop(method, None)
        elif isinstance(handler, dict):
            fixed = handler
            self._handlers[method] = lambda call: json.loads(json.dumps(fixed))
        else:
            self._handlers[method] = handler

    def add_user(self, user_id: str, **fields) -> dict:
        """Register a user for users.info; ``fields`` override the generated ones
        (``real_name``, ``name``, ``tz``, ``profile={...}``, ``deleted``…)."""
        self.users[user_id] = fields
        return self._user(user_id)

    # ------------------------------------------------------------------ internals
    def _next_id(self, prefix: str) -> str:
        with self._cond:
            self._counter += 1
            n = self._counter
        return f"{prefix}0STUB{n:05d}"

    def _next_ts(self) -> str:
        """Like Slack's: the time of posting, unique in the workspace (so history's ``oldest`` works)."""
        with self._cond:
            self._ts_counter += 1
            self._last_ts = max(round(time.time(), 6), round(self._last_ts + 0.000001, 6))
            return f"{self._last_ts:.6f}"

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _pop_failure(self, method: str):
        with self._cond:
            queue = self._failures.get(method)
            if queue:
                return queue.popleft()
        return None

    def _user(self, user_id: str) -> dict | None:
        if user_id in self.users and self.users[user_id] is None:
            return None
        if user_id not in self.users and not (self.auto_users and _USER_ID_RE.match(user_id or "")):
            return None
        extra = dict(self.users.get(user_id) or {})
        real_name = extra.get("real_name") or f"Test User {user_id}"
        name = extra.get("name") or user_id.lower()
        display_name = extra.get("display_name") or real_name.split()[0]
        profile = {
            "title": "",
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name,
            "display_name_normalized": display_name,
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": "g" + _digest(user_id, 11).lower(),
            "email": extra.get("email") or f"{name}@example.org",
            "first_name": real_name.split()[0],
            "last_name": " ".join(real_name.split()[1:]),
            "image_48": "https://secure.gravatar.com/avatar/0.jpg?s=48",
            "image_72": "https://secure.gravatar.com/avatar/0.jpg?s=72",
            "team": self.team_id,
        }
        profile.update(extra.pop("profile", {}) or {})
        extra.pop("display_name", None)
        extra.pop("email", None)
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": 1700000000,
            "is_email_confirmed": True,
            "who_can_share_contact_card": "EVERYONE",
        }
        user.update(extra)
        return user

    def _view(self, call: Call, view_id: str | None = None) -> dict:
        submitted = call.json("view") or {}
        if not isinstance(submitted, dict):
            submitted = {}
        view_id = view_id or self._next_id("V")
        previous = self.views.get(view_id, {})
        view = {
            "id": view_id,
            "team_id": self.team_id,
            "type": submitted.get("type", previous.get("type", "modal")),
            "blocks": submitted.get("blocks", []),
            "private_metadata": submitted.get("private_metadata", ""),
            "callback_id": submitted.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{_digest(view_id + str(len(self.calls)), 8)}",
            "clear_on_close": submitted.get("clear_on_close", False),
            "notify_on_close": submitted.get("notify_on_close", False),
            "close": submitted.get("close"),
            "submit": submitted.get("submit"),
            "previous_view_id": None,
            "root_view_id": previous.get("root_view_id", view_id),
            "app_id": self.app_id,
            "external_id": submitted.get("external_id", previous.get("external_id", "")),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if "title" in submitted:
            view["title"] = submitted["title"]
        for key, value in submitted.items():  # echo anything else the app sent
            view.setdefault(key, value)
        with self._cond:
            self.views[view_id] = view
        return view

    def _message(self, call: Call, channel: str, ts: str) -> dict:
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": call.params.get("text", ""),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "ts": ts,
            "team": self.team_id,
        }
        blocks = call.json("blocks")
        if blocks:
            message["blocks"] = blocks
        if call.params.get("thread_ts"):
            message["thread_ts"] = call.params["thread_ts"]
        if call.params.get("metadata"):
            message["metadata"] = call.json("metadata")
        return message

    def _answer(self, call: Call) -> dict:
        """The default answer for a Web API call (HTTP 200)."""
        p = call.params
        m = call.method
        if m in self._handlers:
            return self._handlers[m](call)
        if not call.token:
            return {"ok": False, "error": "not_authed"}
        if not str(call.token).startswith("xox"):
            return {"ok": False, "error": "invalid_auth"}

        if m == "auth.test":
            return {"ok": True, "url": f"https://{TEAM_DOMAIN}.slack.com/", "team": TEAM_NAME,
                    "user": "collab", "team_id": self.team_id, "user_id": self.bot_user_id,
                    "bot_id": self.bot_id, "app_id": self.app_id, "is_enterprise_install": False}
        if m == "users.info":
            user = self._user(str(p.get("user", "")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": user}
        if m == "conversations.open":
            if p.get("channel"):
                return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": p["channel"]}}
            users = p.get("users")
            if isinstance(users, str):
                users = [u.strip() for u in users.split(",") if u.strip()]
            users = list(users or [])
            if not users:
                return {"ok": False, "error": "users_list_not_supplied"}
            for u in users:
                if self._user(u) is None:
                    return {"ok": False, "error": "user_not_found"}
            if len(set(users)) > 8:
                return {"ok": False, "error": "too_many_users"}
            cid = dm_channel_id(users[0]) if len(set(users)) == 1 else mpim_channel_id(users)
            with self._cond:
                already = cid in self._opened
                self._opened.add(cid)
            answer = {"ok": True, "channel": {"id": cid}}
            if already:
                answer.update({"no_op": True, "already_open": True})
            return answer
        if m == "chat.postMessage":
            channel = str(p.get("channel") or "")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            if not (p.get("text") or p.get("blocks") or p.get("attachments")):
                return {"ok": False, "error": "no_text"}
            if _USER_ID_RE.match(channel):  # posting to a user id goes to the bot's DM with them
                channel = dm_channel_id(channel)
            ts = self._next_ts()
            message = self._message(call, channel, ts)
            with self._cond:
                self.messages[(channel, ts)] = message
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if m == "conversations.history":
            channel = str(p.get("channel") or "")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            oldest = float(p.get("oldest") or 0)
            latest = float(p.get("latest") or "inf")
            limit = max(1, min(int(p.get("limit") or 100), 999))
            start = int(p.get("cursor") or 0)
            metadata = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
            with self._cond:
                found = sorted(((ts, dict(msg)) for (c, ts), msg in self.messages.items()
                                if c == channel and oldest <= float(ts) <= latest), key=lambda x: -float(x[0]))
            page = [msg for _, msg in found[start:start + limit]]
            if not metadata:
                for msg in page:
                    msg.pop("metadata", None)
            more = start + limit < len(found)
            return {"ok": True, "messages": page, "has_more": more, "pin_count": 0,
                    "response_metadata": {"next_cursor": str(start + limit) if more else ""}}
        if m == "chat.postEphemeral":
            if not p.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            if not p.get("user"):
                return {"ok": False, "error": "user_not_in_channel"}
            return {"ok": True, "message_ts": self._next_ts()}
        if m == "chat.update":
            channel, ts = str(p.get("channel") or ""), str(p.get("ts") or "")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            if not ts:
                return {"ok": False, "error": "message_not_found"}
            message = self._message(call, channel, ts)
            with self._cond:
                self.messages[(channel, ts)] = message
            return {"ok": True, "channel": channel, "ts": ts, "text": p.get("text", ""),
                    "message": message}
        if m in ("views.open", "views.push"):
            if not p.get("trigger_id") and not p.get("interactivity_pointer"):
                return {"ok": False, "error": "invalid_arguments"}
            if not p.get("view"):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "view": self._view(call)}
        if m == "views.publish":
            if not p.get("user_id"):
                return {"ok": False, "error": "invalid_arguments"}
            if self._user(str(p["user_id"])) is None:
                return {"ok": False, "error": "user_not_found"}
            # one Home view per user: keep its id stable across publishes
            home_id = "V" + _digest("home:" + str(p["user_id"]))
            return {"ok": True, "view": self._view(call, home_id)}
        if m == "views.update":
            view_id = p.get("view_id")
            if not view_id and p.get("external_id"):
                view_id = next((v["id"] for v in self.views.values()
                                if v.get("external_id") == p["external_id"]), None)
                if view_id is None:
                    return {"ok": False, "error": "not_found"}
            if not view_id:
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "view": self._view(call, str(view_id))}
        if m == "files.getUploadURLExternal":
            if not p.get("filename") or not p.get("length"):
                return {"ok": False, "error": "invalid_arguments"}
            file_id = self._next_id("F")
            with self._cond:
                self._filenames[file_id] = str(p["filename"])
            return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}
        if m == "files.completeUploadExternal":
            files = call.json("files") or []
            channel = p.get("channel_id") or p.get("channels")
            out = []
            for f in files:
                fid = f.get("id")
                data = self.uploads.get(fid, b"")
                name = self._filenames.get(fid, fid)
                title = f.get("title") or name
                out.append({
                    "id": fid, "created": int(time.time()), "timestamp": int(time.time()),
                    "name": name, "title": title, "mimetype": "", "filetype": "", "pretty_type": "",
                    "user": self.bot_user_id, "user_team": self.team_id, "editable": False,
                    "size": len(data), "mode": "hosted", "is_external": False, "is_public": False,
                    "public_url_shared": False, "display_as_bot": False, "username": "",
                    "url_private": f"https://files.slack.com/files-pri/{self.team_id}-{fid}/{name}",
                    "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{self.bot_user_id}/{fid}/{name}",
                    "channels": [channel] if isinstance(channel, str) and channel else [],
                    "groups": [], "ims": [], "comments_count": 0, "shares": {},
                })
            return {"ok": True, "files": out}
        return {"ok": False, "error": "unknown_method"}

    # ------------------------------------------------------------------ HTTP
    def _make_handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: Any, headers: dict | None = None) -> None:
                if isinstance(body, bytes):
                    raw, ctype = body, "text/html; charset=utf-8"
                elif body is None or isinstance(body, (dict, list, int, float)):
                    raw = json.dumps(body).encode()
                    ctype = "application/json; charset=utf-8"
                else:
                    raw = str(body).encode()
                    ctype = "text/plain; charset=utf-8"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, str(v))
                self.end_headers()
                self.wfile.write(raw)

            def _read(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self):
                self._dispatch(b"")

            def do_POST(self):
                self._dispatch(self._read())

            def _dispatch(self, raw: bytes) -> None:
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    if parts.path.startswith("/api/"):
                        self._api(unquote(parts.path[5:]), parts.query, raw, headers)
                    elif parts.path.startswith("/response/"):
                        self._response(unquote(parts.path[10:]), raw, headers)
                    elif parts.path.startswith("/upload/"):
                        self._upload(parts.path.rsplit("/", 1)[-1], raw, headers)
                    else:
                        self._send(404, "Not Found")
                except Exception as exc:  # a bug in the stub must not hang the client
                    self._send(500, {"ok": False, "error": "stub_error", "detail": repr(exc)})

            def _api(self, method: str, query: str, raw: bytes, headers: dict) -> None:
                params: dict = dict(parse_qsl(query, keep_blank_values=True))
                ctype = headers.get("content-type", "")
                if raw:
                    if "application/json" in ctype:
                        try:
                            body = json.loads(raw.decode("utf-8"))
                        except ValueError:
                            body = None
                        if isinstance(body, dict):
                            params.update(body)
                    elif "application/x-www-form-urlencoded" in ctype or not ctype:
                        params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                call = Call(method=method, params=params, headers=headers, body=raw)
                failure = stub._pop_failure(method)
                wait = None if failure else stub._over_limit(method)
                if wait is not None:
                    failure = ("http", 429, max(1, int(wait + 0.999)), None)
                if failure and failure[0] == "http":
                    _, status, retry_after, body = failure
                    extra = {}
                    if status == 429:
                        if retry_after is not None:
                            extra["Retry-After"] = retry_after
                    if body is None:
                        body = {"ok": False, "error": "ratelimited" if status == 429 else
                                "fatal_error" if status >= 500 else "request_error"}
                    call.status, call.response, call.outcome = status, body, f"http:{status}"
                    stub._record(call)
                    self._send(status, body, extra)
                    return
                if failure and failure[0] == "error":
                    body = {"ok": False, "error": failure[1]}
                else:
                    body = stub._answer(call)
                call.response = body
                call.outcome = "ok" if body.get("ok") else f"error:{body.get('error')}"
                lost = stub._pop_lost_answer(method)
                if lost is not None:
                    how, hold = lost
                    call.outcome += f" (answer {'dropped' if how == 'drop' else 'held'})"
                    stub._record(call)
                    if how == "hold":
                        time.sleep(hold)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)  # socket.SHUT_RDWR: no answer at all
                    except OSError:
                        pass
                    return
                stub._record(call)
                self._send(200, body)

            def _response(self, name: str, raw: bytes, headers: dict) -> None:
                text = raw.decode("utf-8", "replace")
                try:
                    body = json.loads(text) if text else {}
                except ValueError:
                    body = text
                record = ResponseCall(name=name, body=body, headers=headers, raw=raw)
                failure = stub._pop_failure("response")
                status, answer = 200, "ok"
                if failure and failure[0] == "http":
                    status, answer = failure[1], "expired_url" if failure[1] == 404 else "error"
                elif failure:
                    status, answer = 400, failure[1]
                record.status = status
                with stub._cond:
                    stub.responses.append(record)
                    stub._cond.notify_all()
                self._send(status, answer)

            def _upload(self, file_id: str, raw: bytes, headers: dict) -> None:
                call = Call(method="upload", params={"file_id": file_id, "length": len(raw)},
                            headers=headers, body=raw)
                failure = stub._pop_failure("upload")
                if failure:
                    status = failure[1] if failure[0] == "http" else 400
                    call.status, call.response, call.outcome = status, "error", f"http:{status}"
                    stub._record(call)
                    self._send(status, "error")
                    return
                with stub._cond:
                    stub.uploads[file_id] = raw
                call.response = {"ok": True}
                stub._record(call)
                self._send(200, f"OK - {len(raw)}")

        return Handler
