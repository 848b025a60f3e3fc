"""The help is built from the command table: it lists exactly the sub-commands that exist."""
from __future__ import annotations

import re

from bot.messages.help import usage
from bot.slack.listeners import commands
from bot.slack.listeners.commands.table import TABLE


def listed(text: str) -> set[str]:
    return set(re.findall(r"`/collab ([a-z-]+)", text))


def test_the_help_lists_every_sub_command_the_dispatcher_answers_and_no_other():
    assert listed(usage(TABLE)) == {n for n in commands.SUBCOMMANDS if n}
    assert listed(usage(TABLE, leads=True)) == set(commands.LEAD_SUBCOMMANDS)


def test_help_through_http_shows_the_leads_part_only_to_leads(sender):
    staff = str(sender.command("help").json())
    assert "For network leads" not in staff and listed(staff) == {n for n in commands.SUBCOMMANDS if n}
    lead = str(sender.command("help", user_id="U0LEAD0001").json())
    assert listed(lead) == {n for n in commands.SUBCOMMANDS if n} | set(commands.LEAD_SUBCOMMANDS)


def test_an_unknown_word_gets_the_usage_from_the_same_table(sender):
    body = str(sender.command("teleport me to Year 9").json())
    assert "I don't know `teleport`" in body and "teleport me to Year 9" in body
    assert listed(body) >= {"need", "offer", "list"}
