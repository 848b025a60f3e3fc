"""Every `/collab` sub-command in one table: its name, its handler, and its line of help.

Adding a sub-command is a handler and a row here; the help (bot/messages/help.py) is built from
these rows, so it lists exactly what the dispatcher answers to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bot.messages.help import help_reply
from bot.services.workspaces import is_lead
from bot.slack.listeners.commands import lead, pairings, reports, staff
from bot.slack.listeners.invocation import Invocation


@dataclass(frozen=True)
class SubCommand:
    name: str
    handler: Callable[[Invocation], None]
    args: str      # what to type after the name, as the help shows it
    what: str      # what it does, in a few words
    lead: bool = False


def help_(inv: Invocation) -> None:
    with inv.unit() as (session, workspace):
        leads = is_lead(session, workspace, inv.user_id, inv.deps.settings.leads)
    inv.ack(**help_reply(TABLE, leads))


TABLE: tuple[SubCommand, ...] = (
    SubCommand("join", staff.join, "<URN or part of your school's name>", "link yourself to your school"),
    SubCommand("need", staff.need, "<what your school needs help with>", "or just `/collab need` for a form"),
    SubCommand("offer", staff.offer, "<what your school could share>", "or just `/collab offer` for a form"),
    SubCommand("list", staff.list_, "", "your school's needs and offers, to close or pause them"),
    SubCommand("matches", staff.matches, "", "your school's pairings and where they have got to"),
    SubCommand("pause", staff.pause, "[weeks]", "stop digests and nudges to you for a while"),
    SubCommand("resume", staff.resume, "", "restart digests and nudges to you"),
    SubCommand("forget-me", staff.forget_me, "", "delete what Collab holds about you"),
    SubCommand("help", help_, "", "this message"),
    SubCommand("round", pairings.round_, "", "run a matching round now", lead=True),
    SubCommand("review", pairings.review, "", "pairings waiting for a decision", lead=True),
    SubCommand("report", reports.report, "", "the network's report, with a chart, by direct message", lead=True),
    SubCommand("export", reports.export, "", "every pairing as a spreadsheet (CSV), by direct message", lead=True),
    SubCommand("lead", lead.lead, "add|remove @someone", "appoint or stand down a network lead", lead=True),
)
# No words after /collab: the help.
SUBCOMMANDS = {"": help_, **{c.name: c.handler for c in TABLE if not c.lead}}
LEAD_SUBCOMMANDS = {c.name: c.handler for c in TABLE if c.lead}
