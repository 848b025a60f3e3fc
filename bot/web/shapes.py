"""What Slack sends, checked: a signed body must have the shape Slack's payloads have and the
fields every listener relies on, or the guard refuses it before any listener (or database) sees it.

Slack's shapes: ../shared/slack/ (beside the repository) and tests/fixtures/slack (slash command form, interactivity
`payload=` form, Events API JSON).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

# Slack's ids (T…, U…, C…, E…, W…) are upper-case letters and digits; our columns hold 32.
SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")
EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Refused(Exception):
    """A request the guard will not let in; `status` and the message are what the sender is told."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


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
