"""Lead sub-commands for the pairing lifecycle: `/collab round` and `/collab review`."""
from __future__ import annotations

import logging

from bot.messages import pairings as views
from bot.messages.common import reply
from bot.config import SettingsError
from bot.slack.listeners.invocation import Invocation
from bot.delivery import pairings as pairing_delivery
from bot.services import gaps, pairings, rounds
from bot.domain.errors import CollabError

log = logging.getLogger(__name__)
REVIEW_LIMIT = 10


def round_(inv: Invocation) -> None:
    """Acknowledge at once (Slack waits 3 s), then run the round, post the cards and say how it went."""
    inv.ack(**reply(":hourglass_flowing_sand: Running a matching round…"))
    inv.deps.after_ack(_run_round, inv)


def _run_round(inv: Invocation) -> None:
    settings = inv.deps.settings
    try:
        if not settings.review_channel:
            raise SettingsError("COLLAB_REVIEW_CHANNEL is not set, so there is nowhere to post review cards.")
        with inv.unit() as (session, workspace):
            match_round = rounds.propose_round(session, workspace, settings, started_by=inv.user_id)
            left = gaps.left_behind(session, match_round.id)
        counts = pairing_delivery.post_review_cards(inv.deps.engine, inv.deps.messenger(inv.client), workspace, settings)
        text = views.round_summary(match_round, counts["posted"], counts["failed"], settings.review_channel,
                                   left=left.by_reason, themes=left.themes_nobody_offers)
    except (CollabError, SettingsError) as problem:
        text = f":warning: The round didn't run: {problem}"
    except Exception:  # the lead must hear something, whatever happened
        log.exception("matching round failed")
        text = ":warning: Sorry, the matching round failed. Please try again, or ask an operator to look at the logs."
    tell(inv.client, inv.channel_id, inv.user_id, text)


def review(inv: Invocation) -> None:
    with inv.unit() as (session, workspace):
        waiting = pairings.pending(session, workspace, limit=REVIEW_LIMIT)
        total = pairings.count_pending(session, workspace)
        inv.ack(**views.review_reply(waiting, total))


def tell(client, channel_id: str, user_id: str, text: str) -> None:
    """An ephemeral note where they typed; a DM if the bot can't post there."""
    try:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
        return
    except Exception:
        log.info("ephemeral reply failed; sending a DM instead")
    try:
        client.chat_postMessage(channel=user_id, text=text)
    except Exception:
        log.warning("could not tell the lead the round's result")
