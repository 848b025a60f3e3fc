"""The help lists exactly the sub-commands that exist, for staff and for leads."""
from __future__ import annotations

import pytest

from bot.messages import help as help_text
from bot.slack.listeners import commands


def test_every_sub_command_is_in_the_help_and_nothing_else():
    commands.check_help_matches_commands()
    for name in [*(n for n in commands.SUBCOMMANDS if n), *commands.LEAD_SUBCOMMANDS]:
        assert f"`/collab {name}" in help_text.USAGE + help_text.LEAD_USAGE


def test_a_help_line_without_a_sub_command_stops_the_app_starting(monkeypatch):
    monkeypatch.setitem(help_text.COMMANDS, "teleport", ("", "go somewhere else", False))
    with pytest.raises(RuntimeError, match="teleport"):
        commands.check_help_matches_commands()


def test_help_through_http_shows_the_leads_part_only_to_leads(sender):
    assert "For network leads" not in str(sender.command("help").json())
    assert "`/collab export`" in str(sender.command("help", user_id="U0LEAD0001").json())
