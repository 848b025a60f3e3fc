"""The `/collab` slash command: one dispatcher, one small handler per sub-command, answered ephemerally."""
from __future__ import annotations

from bot.messages import posts as views
from bot.messages.help import COMMANDS
from bot.slack.listeners.commands import lead, pairings, reports, staff
from bot.slack.listeners.invocation import Invocation
from bot.domain.errors import NotALead
from bot.services.workspaces import is_lead

SUBCOMMANDS = staff.SUBCOMMANDS
LEAD_SUBCOMMANDS = {**lead.LEAD_SUBCOMMANDS, **pairings.LEAD_SUBCOMMANDS, **reports.LEAD_SUBCOMMANDS}


def check_help_matches_commands() -> None:
    """The help offers exactly the sub-commands there are (an empty name is `help` by another name)."""
    staff_names = {n for n in SUBCOMMANDS if n}
    in_help = {n for n, (_, _, lead) in COMMANDS.items() if not lead}
    lead_in_help = {n for n, (_, _, lead) in COMMANDS.items() if lead}
    if staff_names != in_help or set(LEAD_SUBCOMMANDS) != lead_in_help:
        raise RuntimeError(
            f"help and sub-commands differ: staff {sorted(staff_names ^ in_help)}, "
            f"leads {sorted(set(LEAD_SUBCOMMANDS) ^ lead_in_help)}")


def register(app) -> None:
    check_help_matches_commands()
    app.command("/collab")(collab)


def collab(ack, command, context, client) -> None:
    typed = command.get("text") or ""
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
            ack(**views.problem_reply(problem, typed, show_usage=True))
            return
        handler = _lead_only(lead_handler)
    handler(invocation)  # a CollabError becomes the reply, with what they typed (listeners/problems.py)


def _lead_only(handler):
    def guarded(inv: Invocation) -> None:
        with inv.unit() as (session, workspace):
            allowed = is_lead(session, workspace, inv.user_id, inv.deps.settings.leads)
        if not allowed:
            raise NotALead()
        handler(inv)

    return guarded


