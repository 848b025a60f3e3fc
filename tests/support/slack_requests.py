"""Send Slack's real wire formats, correctly signed, to the running HTTP app.

    sender = SlackSender(app_url, signing_secret, response_url_base=stub.base_url)
    resp = sender.command("need help with attendance")
    resp = sender.action("approve", value="42", message={"ts": "1700000000.000100", "blocks": []})
    resp = sender.view_submission("need_modal", {"theme": {"pick": select("attendance")},
                                                 "text": {"text": plain("Year 9 absence")}})
    resp = sender.app_home_opened("U0DEPUTY1")

The payloads are built from the shapes in ``tests/fixtures/slack/bolt-python``
(bolt-python's own scenario-test payloads) with IDs replaced, and checked
against java-slack-sdk's recorded shapes in the harness tests:

* slash command: ``application/x-www-form-urlencoded`` flat form;
* interactivity: ``application/x-www-form-urlencoded`` with ``payload=<JSON>``;
* Events API: ``application/json``.

Each request carries ``X-Slack-Request-Timestamp`` and
``X-Slack-Signature: v0=hex(hmac_sha256(secret, "v0:" + ts + ":" + body))``
computed over the exact bytes sent. Every sending method takes these keyword
arguments to test the app's defences:

    timestamp=   forge the request time (int/str unix seconds)
    secret=      sign with another secret
    sign=False   send no signature headers at all
    headers=     extra / overriding headers
    retry_num=   add Slack's X-Slack-Retry-Num / X-Slack-Retry-Reason headers

Only the standard library and ``requests``; nothing from bot/, models/ or matching/.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import socketserver
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests

from tests.support.slack_stub import APP_ID, BOT_USER_ID, SHUTDOWN_POLL, dm_channel_id

__all__ = [
    "FIXTURES",
    "SlackSender",
    "checkboxes",
    "load_fixture",
    "multi_select",
    "number",
    "plain",
    "radio",
    "select",
    "serve_wsgi",
    "sign",
    "users_select",
]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "slack"

DEFAULT_TEAM_ID = "T0COLLAB1"
DEFAULT_TEAM_DOMAIN = "collab-test"
DEFAULT_USER_ID = "U0DEPUTY1"
DEFAULT_CHANNEL_ID = "C0GENERAL1"
DEFAULT_CHANNEL_NAME = "general"
VERIFICATION_TOKEN = "collab-legacy-verification-token"


def load_fixture(relpath: str) -> Any:
    """Parsed JSON from ``tests/fixtures/slack/<relpath>``."""
    return json.loads((FIXTURES / relpath).read_text(encoding="utf-8"))


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """Slack's request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:<ts>:<body>``."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


_sign = sign  # SlackSender methods take a ``sign=`` flag that shadows the name


# --------------------------------------------------------------------- view state values
def plain(value: str | None) -> dict:
    """State value of a ``plain_text_input``."""
    return {"type": "plain_text_input", "value": value}


def number(value: str | int | float | None, decimal: bool = False) -> dict:
    """State value of a ``number_input`` (Slack sends the number as a string)."""
    return {"type": "number_input", "value": None if value is None else str(value),
            "is_decimal_allowed": decimal}


def _option(value: str, text: str | None = None) -> dict:
    return {"text": {"type": "plain_text", "text": text if text is not None else value, "emoji": True},
            "value": value}


def select(value: str | None, text: str | None = None) -> dict:
    """State value of a ``static_select`` (``None``: nothing chosen)."""
    return {"type": "static_select",
            "selected_option": None if value is None else _option(value, text)}


def radio(value: str | None, text: str | None = None) -> dict:
    """State value of ``radio_buttons``."""
    return {"type": "radio_buttons",
            "selected_option": None if value is None else _option(value, text)}


def multi_select(values: list[str], texts: list[str] | None = None) -> dict:
    """State value of a ``multi_static_select``."""
    texts = texts or list(values)
    return {"type": "multi_static_select",
            "selected_options": [_option(v, t) for v, t in zip(values, texts)]}


def checkboxes(values: list[str], texts: list[str] | None = None) -> dict:
    """State value of ``checkboxes``."""
    texts = texts or list(values)
    return {"type": "checkboxes", "selected_options": [_option(v, t) for v, t in zip(values, texts)]}


def users_select(user_id: str | None) -> dict:
    """State value of a ``users_select``."""
    return {"type": "users_select", "selected_user": user_id}


class SlackSender:
    """Builds, signs and POSTs Slack requests to ``base_url + path`` (default ``/slack/events``)."""

    def __init__(self, base_url: str, signing_secret: str, team_id: str = DEFAULT_TEAM_ID,
                 response_url_base: str | None = None, *, user_id: str = DEFAULT_USER_ID,
                 channel_id: str = DEFAULT_CHANNEL_ID, api_app_id: str = APP_ID,
                 bot_user_id: str = BOT_USER_ID, path: str = "/slack/events", timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + path
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.user_id = user_id
        self.channel_id = channel_id
        self.api_app_id = api_app_id
        self.bot_user_id = bot_user_id
        self.response_url_base = response_url_base.rstrip("/") if response_url_base else None
        self.timeout = timeout
        self.session = requests.Session()
        self._seq = itertools.count(1)
        self.last_body: bytes | None = None
        self.last_headers: dict | None = None

    # ------------------------------------------------------------------ helpers
    def _n(self) -> int:
        return next(self._seq)

    def trigger_id(self) -> str:
        n = self._n()
        return f"{1700000000000 + n}.{int(hashlib.md5(self.team_id.encode()).hexdigest(), 16) % 10**10}.{hashlib.md5(str(n).encode()).hexdigest()}"

    def response_url(self, kind: str = "commands") -> str:
        n = self._n()
        if self.response_url_base:
            return f"{self.response_url_base}/response/{kind}-{n}"
        return f"https://hooks.slack.com/{kind}/{self.team_id}/{1000 + n}/stub{n:06d}"

    def _user(self, user_id: str, team_id: str) -> dict:
        name = user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": team_id}

    def _team(self, team_id: str) -> dict:
        return {"id": team_id, "domain": DEFAULT_TEAM_DOMAIN}

    @staticmethod
    def _ts() -> str:
        now = time.time()
        return f"{now:.6f}"

    # ------------------------------------------------------------------ transport
    def raw(self, body: bytes | str, content_type: str, headers: dict | None = None, *,
            timestamp: int | str | None = None, secret: str | None = None, sign: bool = True,
            retry_num: int | None = None, retry_reason: str = "http_timeout") -> requests.Response:
        """POST ``body`` as is (signed unless ``sign=False``): for malformed requests."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        h = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        if sign:
            ts = str(int(time.time()) if timestamp is None else timestamp)
            h["X-Slack-Request-Timestamp"] = ts
            h["X-Slack-Signature"] = _sign(secret if secret is not None else self.signing_secret, ts, body)
        if retry_num is not None:
            h["X-Slack-Retry-Num"] = str(retry_num)
            h["X-Slack-Retry-Reason"] = retry_reason
        h.update(headers or {})
        self.last_body, self.last_headers = body, h
        return self.session.post(self.url, data=body, headers=h, timeout=self.timeout)

    def send_form(self, fields: dict, **sending) -> requests.Response:
        body = urlencode(fields).encode("utf-8")
        return self.raw(body, "application/x-www-form-urlencoded", **sending)

    def send_payload(self, payload: dict, **sending) -> requests.Response:
        """Interactivity: ``payload=<JSON>`` form-encoded."""
        return self.send_form({"payload": json.dumps(payload, separators=(",", ":"))}, **sending)

    def send_json(self, envelope: dict, **sending) -> requests.Response:
        """Events API: the JSON body."""
        return self.raw(json.dumps(envelope).encode("utf-8"), "application/json", **sending)

    # ------------------------------------------------------------------ slash command
    def command_fields(self, text: str = "", *, user_id: str | None = None, command: str = "/collab",
                       trigger_id: str | None = None, channel_id: str | None = None,
                       team_id: str | None = None, response_url: str | None = None, **extra) -> dict:
        """The form fields of a slash command, in Slack's order (see slash_command.form.json)."""
        team_id = team_id or self.team_id
        user_id = user_id or self.user_id
        channel_id = channel_id or self.channel_id
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": DEFAULT_TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": "directmessage" if channel_id.startswith("D") else DEFAULT_CHANNEL_NAME,
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self.response_url("commands"),
            "trigger_id": trigger_id or self.trigger_id(),
        }
        fields.update({k: v for k, v in extra.items()})
        return fields

    def command(self, text: str = "", user_id: str | None = None, command: str = "/collab",
                trigger_id: str | None = None, channel_id: str | None = None, *,
                team_id: str | None = None, response_url: str | None = None,
                timestamp: int | str | None = None, secret: str | None = None, sign: bool = True,
                headers: dict | None = None, retry_num: int | None = None,
                **extra) -> requests.Response:
        """POST a ``/collab`` slash command (form-encoded). ``extra`` adds/overrides form fields."""
        fields = self.command_fields(text, user_id=user_id, command=command, trigger_id=trigger_id,
                                     channel_id=channel_id, team_id=team_id, response_url=response_url,
                                     **extra)
        return self.send_form(fields, timestamp=timestamp, secret=secret, sign=sign, headers=headers,
                              retry_num=retry_num)

    # ------------------------------------------------------------------ block_actions
    def action_payload(self, action_id: str, value: str = "", *, user_id: str | None = None,
                       block_id: str = "b", message: dict | None = None, view: dict | None = None,
                       channel_id: str | None = None, team_id: str | None = None,
                       action_type: str | None = None, selected_option: dict | None = None,
                       text: str = "Button", message_ts: str | None = None,
                       response_url: str | None = None, trigger_id: str | None = None,
                       state: dict | None = None, **extra) -> dict:
        """A ``block_actions`` payload shaped like block_actions.json.

        * ``message`` given: the button sat in that (non-ephemeral) message; ``container``
          and ``message`` point at it (``message["ts"]`` is its ts).
        * ``view`` given: the button sat in a modal or the App Home (``view["type"]``);
          ``container`` is the view and there is no channel/response_url, as in Slack.
        * neither: an ephemeral message (like the fixture), which Slack does not echo.
        ``selected_option`` (e.g. ``select("x")["selected_option"]``) makes it a static_select.
        """
        team_id = team_id or self.team_id
        user_id = user_id or self.user_id
        channel_id = channel_id or self.channel_id
        payload = copy.deepcopy(load_fixture("bolt-python/block_actions.json"))
        payload["user"] = self._user(user_id, team_id)
        payload["api_app_id"] = self.api_app_id
        payload["token"] = VERIFICATION_TOKEN
        payload["team"] = self._team(team_id)
        payload["enterprise"] = None
        payload["is_enterprise_install"] = False
        payload["trigger_id"] = trigger_id or self.trigger_id()
        action: dict = {"action_id": action_id, "block_id": block_id, "action_ts": self._ts()}
        if selected_option is not None or (action_type and action_type != "button"):
            action["type"] = action_type or "static_select"
            action["selected_option"] = selected_option
        else:
            action.update({"text": {"type": "plain_text", "text": text, "emoji": True},
                           "value": value, "type": "button"})
        payload["actions"] = [action]
        payload["state"] = {"values": state or {}}
        if view is not None:
            view = copy.deepcopy(view)
            view.setdefault("id", f"V0VIEW{self._n():05d}")
            view.setdefault("team_id", team_id)
            view.setdefault("state", {"values": state or {}})
            view.setdefault("app_id", self.api_app_id)
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = view
            payload.pop("channel", None)
            payload.pop("response_url", None)
            payload.pop("state", None)
        else:
            payload["channel"] = {"id": channel_id,
                                  "name": "directmessage" if channel_id.startswith("D") else DEFAULT_CHANNEL_NAME}
            payload["response_url"] = response_url or self.response_url("actions")
            if message is not None:
                message = copy.deepcopy(message)
                message.setdefault("ts", message_ts or "1700000000.000100")
                message.setdefault("type", "message")
                message.setdefault("user", self.bot_user_id)
                payload["container"] = {"type": "message", "message_ts": message["ts"],
                                        "channel_id": channel_id, "is_ephemeral": False}
                payload["message"] = message
            else:
                payload["container"] = {"type": "message",
                                        "message_ts": message_ts or "1700000000.000100",
                                        "channel_id": channel_id, "is_ephemeral": True}
        payload.update(extra)
        return payload

    def action(self, action_id: str, value: str = "", user_id: str | None = None, block_id: str = "b",
               message: dict | None = None, view: dict | None = None, channel_id: str | None = None, *,
               timestamp: int | str | None = None, secret: str | None = None, sign: bool = True,
               headers: dict | None = None, retry_num: int | None = None, **kw) -> requests.Response:
        """POST a ``block_actions`` interaction (``payload=`` form). See ``action_payload``."""
        payload = self.action_payload(action_id, value, user_id=user_id, block_id=block_id,
                                      message=message, view=view, channel_id=channel_id, **kw)
        return self.send_payload(payload, timestamp=timestamp, secret=secret, sign=sign,
                                 headers=headers, retry_num=retry_num)

    # ------------------------------------------------------------------ view_submission / closed
    def view_payload(self, callback_id: str, values: dict | None = None, private_metadata: str = "", *,
                     user_id: str | None = None, team_id: str | None = None, view_id: str | None = None,
                     blocks: list | None = None, external_id: str = "", title: str = "Collab",
                     response_urls: list | None = None, kind: str = "view_submission",
                     trigger_id: str | None = None, **extra) -> dict:
        """A ``view_submission`` (or ``view_closed``) payload shaped like view_submission.json."""
        team_id = team_id or self.team_id
        user_id = user_id or self.user_id
        fixture = "bolt-python/view_submission.json" if kind == "view_submission" else "bolt-python/view_closed.json"
        payload = copy.deepcopy(load_fixture(fixture))
        payload["team"] = self._team(team_id)
        payload["user"] = self._user(user_id, team_id)
        payload["api_app_id"] = self.api_app_id
        payload["token"] = VERIFICATION_TOKEN
        payload["enterprise"] = None
        payload["is_enterprise_install"] = False
        if kind == "view_submission":
            payload["trigger_id"] = trigger_id or self.trigger_id()
        else:
            payload["is_cleared"] = False
        view = payload["view"]
        view_id = view_id or f"V0VIEW{self._n():05d}"
        view.update({
            "id": view_id,
            "team_id": team_id,
            "blocks": blocks if blocks is not None else [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values or {}},
            "hash": f"{int(time.time())}.{hashlib.md5(view_id.encode()).hexdigest()[:8]}",
            "title": {"type": "plain_text", "text": title, "emoji": True},
            "root_view_id": view_id,
            "app_id": self.api_app_id,
            "external_id": external_id,
            "app_installed_team_id": team_id,
            "bot_id": "B0COLLAB1",
        })
        payload["response_urls"] = response_urls or []
        payload.update(extra)
        return payload

    def view_submission(self, callback_id: str, values: dict | None = None, private_metadata: str = "",
                        user_id: str | None = None, *, timestamp: int | str | None = None,
                        secret: str | None = None, sign: bool = True, headers: dict | None = None,
                        retry_num: int | None = None, **kw) -> requests.Response:
        """POST a ``view_submission``; ``values`` is ``{block_id: {action_id: plain(...)/select(...)}}``."""
        payload = self.view_payload(callback_id, values, private_metadata, user_id=user_id, **kw)
        return self.send_payload(payload, timestamp=timestamp, secret=secret, sign=sign,
                                 headers=headers, retry_num=retry_num)

    def view_closed(self, callback_id: str, private_metadata: str = "", user_id: str | None = None, *,
                    timestamp: int | str | None = None, secret: str | None = None, sign: bool = True,
                    headers: dict | None = None, **kw) -> requests.Response:
        """POST a ``view_closed`` (only sent for views opened with ``notify_on_close``)."""
        payload = self.view_payload(callback_id, None, private_metadata, user_id=user_id,
                                    kind="view_closed", **kw)
        return self.send_payload(payload, timestamp=timestamp, secret=secret, sign=sign, headers=headers)

    # ------------------------------------------------------------------ Events API
    def event_envelope(self, event: dict, event_type: str | None = None, *, team_id: str | None = None,
                       event_id: str | None = None, event_time: int | None = None, **extra) -> dict:
        """An ``event_callback`` envelope around ``event`` (shape of event_app_home_opened.json)."""
        team_id = team_id or self.team_id
        event = dict(event)
        if event_type:
            event["type"] = event_type
        event.setdefault("event_ts", self._ts())
        now = int(time.time()) if event_time is None else event_time
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev0COLLAB{self._n():05d}",
            "event_time": now,
            "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": self.bot_user_id,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
            "event_context": f"4-{hashlib.md5(str(now).encode()).hexdigest()}",
        }
        envelope.update(extra)
        return envelope

    def event(self, event: dict, event_type: str | None = None, *, team_id: str | None = None,
              event_id: str | None = None, timestamp: int | str | None = None, secret: str | None = None,
              sign: bool = True, headers: dict | None = None, retry_num: int | None = None,
              retry_reason: str = "http_timeout", **extra) -> requests.Response:
        """POST an Events API ``event_callback`` (JSON). Reuse ``event_id`` with ``retry_num``
        to imitate Slack redelivering the same event."""
        envelope = self.event_envelope(event, event_type, team_id=team_id, event_id=event_id, **extra)
        return self.send_json(envelope, timestamp=timestamp, secret=secret, sign=sign, headers=headers,
                              retry_num=retry_num, retry_reason=retry_reason)

    def app_home_opened(self, user_id: str | None = None, tab: str = "home", view: dict | None = None,
                        **kw) -> requests.Response:
        user_id = user_id or self.user_id
        event = {"type": "app_home_opened", "user": user_id, "channel": dm_channel_id(user_id), "tab": tab}
        if view is not None:
            event["view"] = view
        return self.event(event, **kw)

    def app_uninstalled(self, **kw) -> requests.Response:
        return self.event({"type": "app_uninstalled"}, **kw)

    def tokens_revoked(self, user_ids: list[str] | tuple = (), bot_ids: list[str] | tuple = (),
                       **kw) -> requests.Response:
        tokens: dict = {}
        if user_ids:
            tokens["oauth"] = list(user_ids)
        if bot_ids:
            tokens["bot"] = list(bot_ids)
        return self.event({"type": "tokens_revoked", "tokens": tokens}, **kw)

    def url_verification(self, challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                         **sending) -> requests.Response:
        return self.send_json({"token": VERIFICATION_TOKEN, "challenge": challenge,
                               "type": "url_verification"}, **sending)


# --------------------------------------------------------------------- run a WSGI app on a thread
class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


@contextmanager
def serve_wsgi(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a random local port in a thread; yields its base URL."""
    server = make_server(host, 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL},
                              name="wsgi-app", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
