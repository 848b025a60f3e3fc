"""A message to the bot in its Messages tab: answered with the help, since `/collab` does the work.

Only people's own new messages in the bot's DM are answered: never the bot's own messages (that
would loop), edits, deletions or other bots. What they wrote is neither stored nor logged.
"""
from __future__ import annotations

from bot.messages.help import dm_help
from bot.services.workspaces import is_lead
from bot.slack.listeners.commands.table import TABLE


def register(app) -> None:
    app.event("message")(lambda event, context, client: context["deps"].after_ack(
        direct_message, event, context, client) if _from_a_person(event) else None)


def _from_a_person(event: dict) -> bool:
    return (event.get("channel_type") == "im" and not event.get("subtype") and not event.get("bot_id")
            and bool(event.get("user")))


def direct_message(event, context, client) -> None:
    deps = context["deps"]
    with deps.unit(context["team_id"]) as (session, workspace):
        lead = is_lead(session, workspace, event["user"], deps.settings.leads)
    text, blocks = dm_help(TABLE, lead)
    client.chat_postMessage(channel=event["channel"], text=text, blocks=blocks)
