"""The Slack side of the outbox: slack_sdk calls, with Slack's errors sorted into permanent and temporary."""
from __future__ import annotations

from typing import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.delivery.outbox import PermanentError, TemporaryError

# Errors that will be the same however often we try.
PERMANENT = {
    "account_inactive", "user_not_found", "users_not_found", "user_disabled", "channel_not_found",
    "is_archived", "not_in_channel", "cannot_dm_bot", "invalid_auth", "token_revoked", "not_authed",
    "missing_scope", "msg_too_long", "invalid_blocks", "no_text", "team_access_not_granted",
    "message_not_found", "cant_update_message", "restricted_action",
}


class SlackMessenger:
    def __init__(self, client: WebClient):
        self.client = client

    def _call(self, method, **kwargs):
        try:
            return method(**kwargs)
        except SlackApiError as error:
            code = error.response.get("error", "") if error.response is not None else ""
            if code in PERMANENT:
                raise PermanentError(code) from None
            raise TemporaryError(code or f"HTTP {error.response.status_code}") from None
        except (SlackClientError, OSError) as error:
            raise TemporaryError(type(error).__name__) from None

    def post(self, channel: str, text: str, blocks: list | None = None) -> tuple[str, str]:
        response = self._call(self.client.chat_postMessage, channel=channel, text=text, blocks=blocks)
        return response["channel"], response["ts"]

    def update(self, channel: str, ts: str, text: str, blocks: list | None = None) -> None:
        self._call(self.client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)

    def open_conversation(self, user_ids: Sequence[str]) -> str:
        response = self._call(self.client.conversations_open, users=",".join(sorted(set(user_ids))))
        return response["channel"]["id"]

    def publish_home(self, user_id: str, view: dict) -> None:
        self._call(self.client.views_publish, user_id=user_id, view=view)
