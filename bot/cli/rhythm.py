"""`collab digest` and `collab clock`: the weekly rhythm from the command line (see docs/scheduling.md)."""
from __future__ import annotations

import sys


def add_rhythm_commands(subparsers) -> None:
    digest = subparsers.add_parser("digest", help="send this week's digests now (each person gets one a week at most)")
    digest.add_argument("--team", metavar="TEAM_ID", help="only this Slack workspace (default: every installed one)")
    digest.add_argument("--dry-run", action="store_true", help="print the digests instead of sending them")
    digest.set_defaults(func=_digest)

    clock = subparsers.add_parser("clock", help="run the scheduler: rounds, digests, nudges (the Procfile's clock)")
    what = clock.add_mutually_exclusive_group()
    what.add_argument("--show", action="store_true", help="print the schedule and the next run of each job, then exit")
    what.add_argument("--run", metavar="JOB", help="run one job now for the current period (round, digest, followups, "
                      "feedback, reciprocity, expiry, review_reminders, introductions, catch_up), then exit")
    clock.set_defaults(func=_clock)


def _settings():
    from bot.config import load_settings

    return load_settings()


def _digest(args, out=None) -> int:
    from bot.delivery.digests import compose_digest, send_digests
    from bot.services.digests import recipients
    from bot.domain.errors import NotFound
    from bot.services.workspaces import installed_workspaces
    from models import utcnow
    from bot.bootstrap import build
    from models.db import session_scope

    out = out or sys.stdout
    settings = _settings()
    if not args.dry_run:
        settings.require("SLACK_BOT_TOKEN")
    collab = build(settings)
    engine = collab.engine
    now = utcnow()
    try:
        with session_scope(engine) as session:
            workspaces = installed_workspaces(session, args.team)
        if not workspaces:
            raise NotFound(f"No installed workspace {args.team}." if args.team else "No installed workspaces yet.")
        if args.dry_run:
            from bot.cli.demo import plain_text

            with session_scope(engine) as session:
                for workspace in workspaces:
                    for member in recipients(session, workspace, now, settings):
                        _, blocks = compose_digest(session, workspace, member, now, settings)
                        print(f"--- {member.slack_user_id} ({workspace.team_id}) ---\n{plain_text(blocks)}\n", file=out)
            return 0
        messenger = collab.messenger
        for workspace in workspaces:
            summary = send_digests(engine, messenger, workspace, now, settings)
            print(f"{workspace.team_id}: {summary}", file=out)
        return 0
    finally:
        engine.dispose()


def _runtime(settings):
    """The one place the scheduler's settings, engine and messenger are built (the caller disposes the engine).
    A database that is missing, unreachable or not migrated stops `clock` and `clock --run` here, in one line."""
    from bot.bootstrap import build
    from bot.cli import check_database
    from bot.scheduling.registry import Runtime

    settings.require("SLACK_BOT_TOKEN")
    check_database(settings)
    collab = build(settings)
    return Runtime(collab.settings, collab.engine, collab.messenger)


def _clock(args, out=None) -> int:
    from bot.scheduling import clock, jobs
    from bot.scheduling.registry import JOBS

    out = out or sys.stdout
    settings = _settings()
    if args.show:
        from bot.services.calendar import holidays

        for line in clock.describe(settings):
            print(line, file=out)
        found = holidays(settings)
        print(f"{len(found)} school holidays from {settings.term_dates_file}" if settings.term_dates_file
              else "No term dates file (COLLAB_TERM_DATES): digests and nudges run every week.", file=out)
        return 0
    if args.run:
        if args.run != "catch_up" and args.run not in JOBS:
            from bot.config import SettingsError

            raise SettingsError(f"There is no job called {args.run!r}; the jobs are: {', '.join(JOBS)}, catch_up")
        rt = _runtime(settings)
        try:
            results = jobs.catch_up(rt) if args.run == "catch_up" else [jobs.run_job(rt, args.run)]
        finally:
            rt.engine.dispose()
        for result in results:
            print(f"{result.run_key}: {result.status}{' (' + result.detail + ')' if result.detail else ''}", file=out)
        return 0
    from bot.logs import configure

    configure(settings.log_level)  # tokens and personal data are redacted from the clock's logs too
    clock.check(settings)  # a bad term-dates file or schedule stops the clock now, naming it
    rt = _runtime(settings)
    try:
        return clock.run_clock(rt)
    finally:
        rt.engine.dispose()
