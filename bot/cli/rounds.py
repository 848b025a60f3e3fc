"""`collab round [--team T…]`: run a matching round now and post the review cards.

Migrates first (a fresh machine works), then for each installed workspace (or the one named)
proposes pairings and posts a card for each to the review channel. Needs SLACK_BOT_TOKEN and
COLLAB_REVIEW_CHANNEL; without them it exits 2 with one line saying which is missing.
"""
from __future__ import annotations

import argparse


def add_round_command(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "round", help="run a matching round now and post review cards",
        description="Propose pairings for every installed workspace (or --team) and post a review card "
                    "for each to COLLAB_REVIEW_CHANNEL.",
    )
    parser.add_argument("--team", metavar="TEAM_ID", default=None, help="only this Slack workspace (T…)")
    parser.add_argument("--database-url", metavar="URL", default=None,
                        help="database to use (default: DATABASE_URL, else sqlite:///collab.db)")
    parser.set_defaults(func=run_round)
    return parser


def run_round(args, settings=None, messenger=None, out=None) -> int:
    import sys

    from bot.bootstrap import build
    from bot.config import SettingsError, load_settings
    from bot.domain.errors import NotFound
    from bot.delivery.pairings import post_review_cards
    from bot.messages.common import plural
    from bot.messages.pairings import left_line
    from bot.services.gaps import left_behind
    from bot.services.rounds import propose_round
    from bot.services.workspaces import installed_workspaces
    from models.db import session_scope

    out = out or sys.stdout
    settings = settings or load_settings()
    settings.require("SLACK_BOT_TOKEN")
    if not settings.review_channel:
        raise SettingsError("COLLAB_REVIEW_CHANNEL is not set (see .env.example)")
    with build(settings, database_url=args.database_url, migrate=True, messenger=messenger) as collab:
        engine, messenger = collab.engine, collab.messenger
        with session_scope(engine) as session:
            workspaces = installed_workspaces(session, args.team)
        if not workspaces:
            if args.team:
                raise NotFound(f"No installed workspace has team id {args.team}.")
            print("No workspaces have installed Collab yet: nothing to match.", file=out)
            return 0
        for workspace in workspaces:
            with session_scope(engine) as session:
                match_round = propose_round(session, workspace, settings, started_by="cli")
                left = left_behind(session, match_round.id)
                why = left_line(left.by_reason, left.themes_nobody_offers)
            counts = post_review_cards(engine, messenger, workspace, settings)
            print(f"{workspace.team_id}: {plural(match_round.needs_considered, 'open need')}, "
                  f"{plural(match_round.offers_considered, 'offer')} with room; "
                  f"{plural(match_round.proposals, 'new pairing')}; {plural(counts['posted'], 'review card')} posted"
                  + (f", {counts['failed']} failed" if counts["failed"] else "")
                  + (f", {counts['waiting']} to retry" if counts["waiting"] else "") + "."
                  + (f" {why}" if why else ""), file=out)
    return 0
