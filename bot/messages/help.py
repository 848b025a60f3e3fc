"""The help: one line per `/collab` sub-command, kept beside the names the dispatcher answers to.

bot/slack/listeners/commands checks at registration that every sub-command here has a handler and
every handler is here, so the help can never offer a sub-command that does not exist.
"""
from __future__ import annotations

from bot.messages.common import reply, section

# name: (what to type after the name, what it does, for leads only)
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "join": ("<URN or part of your school's name>", "link yourself to your school", False),
    "need": ("<what your school needs help with>", "or just `/collab need` for a form", False),
    "offer": ("<what your school could share>", "or just `/collab offer` for a form", False),
    "list": ("", "your school's needs and offers, to close or pause them", False),
    "matches": ("", "your school's pairings and where they have got to", False),
    "pause": ("[weeks]", "stop digests and nudges to you for a while (`/collab resume` restarts them)", False),
    "resume": ("", "restart digests and nudges to you", False),
    "forget-me": ("", "delete what Collab holds about you", False),
    "help": ("", "this message", False),
    "round": ("", "run a matching round now", True),
    "review": ("", "pairings waiting for a decision", True),
    "report": ("", "the network's report, with a chart, by direct message", True),
    "export": ("", "every pairing as a spreadsheet (CSV), by direct message", True),
    "lead": ("add|remove @someone", "appoint or stand down a network lead", True),
}


def _line(name: str) -> str:
    args, what, _ = COMMANDS[name]
    typed = f"/collab {name} {args}".strip()
    return f"• `{typed}`: {what}"


def usage(leads: bool = False) -> str:
    """The help for staff, or the leads' part of it."""
    title = "*For network leads*" if leads else "*How to use Collab*"
    return "\n".join([title, *(_line(n) for n, (_, _, lead) in COMMANDS.items() if lead == leads)])


USAGE = usage()
LEAD_USAGE = usage(leads=True)


def help_blocks(is_lead: bool = False) -> list[dict]:
    return [section(USAGE)] + ([section(LEAD_USAGE)] if is_lead else [])


def help_reply(is_lead: bool = False) -> dict:
    return reply("How to use Collab", help_blocks(is_lead))


def dm_help(is_lead: bool = False) -> tuple[str, list[dict]]:
    """The answer to a direct message: we don't read DMs, so say what does work."""
    text = "Hello! I don't read messages here, but `/collab` does everything. Here's how:"
    return text, [section(":wave: " + text), *help_blocks(is_lead)]
