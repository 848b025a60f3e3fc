"""The `/collab` slash command: one dispatcher, one small handler per sub-command, answered ephemerally."""
from __future__ import annotations

from bot.messages import posts as views
from bot.messages.common import unescape
from bot.messages.help import usage
from bot.slack.listeners.commands.table import LEAD_SUBCOMMANDS, SUBCOMMANDS, TABLE
from bot.slack.listeners.invocation import Invocation
from bot.slack.listeners.problems import answering_command_problems
from bot.domain.errors import NotALead
from bot.services.workspaces import is_lead


def register(app) -> None:
    app.command("/collab")(collab)


def collab(ack, command, context, client) -> None:
    typed = unescape(command.get("text"))
    word, _, rest = typed.strip().partition(" ")
    name = word.lower()
    invocation = Invocation(
        deps=context["deps"], team_id=command["team_id"], user_id=command["user_id"],
        channel_id=command.get("channel_id", ""), trigger_id=command.get("trigger_id", ""),
        args=rest.strip(), typed=typed, client=client, ack=ack,
    )
    handler = SUBCOMMANDS.get(name)
    if handler is None:
        lead_handler = LEAD_SUBCOMMANDS.get(name)
        if lead_handler is None:
            problem = f"I don't know `{word}`." if word else "Tell me what to do."
            ack(**views.problem_reply(problem, typed, usage=usage(TABLE)))
            return
        handler = _lead_only(lead_handler)
    answering_command_problems(handler)(invocation)  # a problem becomes the reply (listeners/problems.py)


def _lead_only(handler):
    def guarded(inv: Invocation) -> None:
        with inv.unit() as (session, workspace):
            allowed = is_lead(session, workspace, inv.user_id, inv.deps.settings.leads)
        if not allowed:
            raise NotALead()
        handler(inv)

    return guarded


