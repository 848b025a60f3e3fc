"""The help, built from the `/collab` command table (bot/slack/listeners/commands/table.py).

Each row of that table carries its handler and its line of help, so the help can never offer a
sub-command that does not exist, nor leave one out. A row here is anything with `name`, `args`,
`what` and `lead`.
"""
from __future__ import annotations

from typing import Iterable

from bot.messages.common import reply, section


def _line(row) -> str:
    typed = f"/collab {row.name} {row.args}".strip()
    return f"• `{typed}`: {row.what}"


def usage(rows: Iterable, leads: bool = False) -> str:
    """The help for staff, or the leads' part of it."""
    title = "*For network leads*" if leads else "*How to use Collab*"
    return "\n".join([title, *(_line(r) for r in rows if r.lead == leads)])


def help_blocks(rows: Iterable, is_lead: bool = False) -> list[dict]:
    rows = list(rows)
    return [section(usage(rows))] + ([section(usage(rows, leads=True))] if is_lead else [])


def help_reply(rows: Iterable, is_lead: bool = False) -> dict:
    return reply("How to use Collab", help_blocks(rows, is_lead))


def dm_help(rows: Iterable, is_lead: bool = False) -> tuple[str, list[dict]]:
    """The answer to a direct message: we don't read DMs, so say what does work."""
    text = "Hello! I don't read messages here, but `/collab` does everything. Here's how:"
    return text, [section(":wave: " + text), *help_blocks(rows, is_lead)]
