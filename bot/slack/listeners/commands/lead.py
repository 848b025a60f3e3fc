"""Leads appoint leads: `/collab lead add @someone`, `/collab lead remove @someone`."""
from __future__ import annotations

import re

from bot.messages.common import reply
from bot.slack.listeners.invocation import Invocation
from bot.services import members
from bot.domain.errors import InvalidInput

# A Slack user id: U or W and up to 31 more (the column holds 32); longer is not a person.
MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,31})(?:\|[^>]*)?>$")


def lead(inv: Invocation) -> None:
    """`lead add @user` / `lead remove @user`: leads appoint leads."""
    words = inv.args.split()
    if len(words) != 2 or words[0].lower() not in ("add", "remove") or not MENTION.match(words[1]):
        raise InvalidInput("Use `/collab lead add @someone` or `/collab lead remove @someone`.")
    target = MENTION.match(words[1]).group(1)
    adding = words[0].lower() == "add"
    with inv.unit() as (session, workspace):
        if not adding and target in inv.deps.settings.leads:
            raise InvalidInput("That lead is set in COLLAB_LEADS; an operator can remove them there.")
        changed = members.set_lead(session, workspace, target, adding)
    if changed:
        inv.ack(**reply(f"<@{target}> is {'now' if adding else 'no longer'} a network lead."))
    else:
        inv.ack(**reply(f"<@{target}> {'is already' if adding else 'was not'} a network lead: nothing changed."))
