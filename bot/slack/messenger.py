"""The Slack side of the outbox: slack_sdk calls, with Slack's answers sorted into three kinds.

* :class:`PermanentError`: the same however often we try (a deactivated user, a missing channel);
* :class:`TemporaryError`: Slack answered and did not take the message (rate limited, ``ok: false``);
* :class:`UnsureError`: no usable answer (timeout, dropped connection, 5xx, a body that is not
  Slack's JSON object): the message may have been posted.

Every message is posted with Slack message ``metadata`` carrying a hash of its idempotency key, so
:meth:`SlackMessenger.find_sent` can tell from the conversation's history whether an unsure
attempt arrived (scopes ``im:history``, ``mpim:history``, ``channels:history``, ``groups:history``).
"""
from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.delivery.outbox import PermanentError, TemporaryError, UnsureError
from bot.slack.retries import ServerErrors

# Errors that will be the same however often we try.
PERMANENT = {
    "account_inactive", "user_not_found", "users_not_found", "user_disabled", "channel_not_found",
    "is_archived", "not_in_channel", "cannot_dm_bot", "invalid_auth", "token_revoked", "not_authed",
    "missing_scope", "msg_too_long", "invalid_blocks", "no_text", "team_access_not_granted",
    "message_not_found", "cant_update_message", "restricted_action",
}
# The metadata event every Collab message carries; its payload is the hashed idempotency key.
EVENT_TYPE = "collab_outbox"
# A post answered 5xx is looked up and tried again this many times (as other calls are by slack_sdk).
SERVER_ERROR_RETRIES = 3
# How much of a conversation's history is searched for an unsure message (newest first).
HISTORY_PAGES, HISTORY_PAGE_SIZE = 5, 200

_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def message_tag(key: str) -> str:
    """The key as Slack sees it: a hash, so no user id or other detail is written into metadata."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _answer(error: SlackApiError) -> tuple[int | None, str]:
    """(HTTP status, Slack's error code or "") from any answer, whatever its body's shape."""
    response = error.response
    status = getattr(response, "status_code", None)
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    return status, code if isinstance(code, str) else ""


class SlackMessenger:
    def __init__(self, client: WebClient):
        self.client = client

    def _call(self, method, **kwargs):
        try:
            return method(**kwargs)
        except SlackApiError as error:
            status, code = _answer(error)
            if code in PERMANENT:
                raise PermanentError(code) from None
            if status is not None and status < 500:  # Slack answered, and did not post it
                raise TemporaryError(code or f"HTTP {status}") from None
            raise UnsureError(code or f"HTTP {status}", answered=status is not None) from None
        except (SlackClientError, OSError) as error:
            raise UnsureError(type(error).__name__) from None
        except (AttributeError, TypeError, ValueError, KeyError):
            # slack_sdk could not read the answer (JSON that is not an object, or not JSON at all).
            raise UnsureError("unreadable answer") from None

    def post(self, channel: str, text: str, blocks: list | None = None, key: str | None = None) -> tuple[str, str]:
        """Post a message; with a `key`, a 5xx is retried like other calls, but only after Slack's
        history shows the message did not arrive (slack_sdk itself must not repeat a post)."""
        extra = {"metadata": {"event_type": EVENT_TYPE, "event_payload": {"key": message_tag(key)}}} if key else {}
        attempt = 0
        while True:
            try:
                response = self._call(self.client.chat_postMessage, channel=channel, text=text, blocks=blocks, **extra)
                break
            except UnsureError as error:
                if key is None or not error.answered or attempt >= SERVER_ERROR_RETRIES:
                    raise
            attempt += 1
            time.sleep(self._backoff(attempt))
            found = self.find_sent(channel, key, datetime.now(timezone.utc) - timedelta(minutes=10))
            if found is not None:
                return found
        try:
            return response["channel"], response["ts"]
        except (KeyError, TypeError):
            raise UnsureError("answer without channel or ts") from None

    def _backoff(self, attempt: int) -> float:
        """The wait slack_sdk's server-error handler would use (scaled by COLLAB_SLACK_RETRY_WAIT)."""
        for handler in self.client.retry_handlers or []:
            if isinstance(handler, ServerErrors):
                return handler.interval_calculator.calculate_sleep_duration(attempt)
        return 0.0

    def update(self, channel: str, ts: str, text: str, blocks: list | None = None) -> None:
        self._call(self.client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)

    def open_conversation(self, user_ids: Sequence[str]) -> str:
        response = self._call(self.client.conversations_open, users=",".join(sorted(set(user_ids))))
        return response["channel"]["id"]

    def find_sent(self, channel: str, key: str, since: datetime) -> tuple[str, str] | None:
        """(channel, ts) of the message posted with `key` since `since`, or None if Slack has none.

        `channel` may be a user id (a DM): it is opened to find the DM's id. Raises UnsureError if
        the history is too long to search or cannot be read, so nothing is re-sent on a guess.
        """
        if _USER.match(channel):
            channel = self.open_conversation([channel])
        tag, cursor = message_tag(key), None
        for _ in range(HISTORY_PAGES):
            page = self._call(self.client.conversations_history, channel=channel, oldest=f"{since.timestamp():.6f}",
                              include_all_metadata=True, limit=HISTORY_PAGE_SIZE, cursor=cursor)
            for message in page.get("messages") or []:
                metadata = message.get("metadata") if isinstance(message, dict) else None
                if (isinstance(metadata, dict) and metadata.get("event_type") == EVENT_TYPE
                        and (metadata.get("event_payload") or {}).get("key") == tag):
                    return channel, message["ts"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        raise UnsureError("history too long to search")
