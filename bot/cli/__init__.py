"""The `collab` command line: the operator's edge of the product.

Each sub-command is a thin wrapper over a service or the matching engine, so that the
command line, the scheduler and the Slack listeners all do the same thing the same way.
Imports are lazy so that `collab match` on a laptop does not load Slack or database code.
"""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collab", description="Collab: schools helping schools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True

    serve = subparsers.add_parser("serve", help="run the Slack app (HTTP on --port, or --socket-mode)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default: $PORT or 3000)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default: $WEB_CONCURRENCY or 2)")
    serve.add_argument("--threads", type=int, default=None, help="threads per worker (default: $COLLAB_THREADS or 2)")
    serve.add_argument("--socket-mode", action="store_true", help="connect out to Slack instead (needs SLACK_APP_TOKEN)")
    serve.set_defaults(func=_serve)

    db = subparsers.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION")
    db_commands.required = True
    db_commands.add_parser("upgrade", help="create or upgrade the schema to the latest migration").set_defaults(func=_db_upgrade)

    demo = subparsers.add_parser("demo", help="load a demo network of real schools, match it and show the digests")
    demo.add_argument("--database-url", default="sqlite:///demo.db", help="where to build it (made afresh)")
    demo.set_defaults(func=_demo)

    from bot.cli.rhythm import add_rhythm_commands
    from bot.cli.rounds import add_round_command
    from bot.cli.schools import add_schools_command
    from matching.cli import add_match_command

    add_schools_command(subparsers)
    add_round_command(subparsers)
    add_rhythm_commands(subparsers)
    add_match_command(subparsers)
    return parser


def _settings():
    from bot.config import load_settings

    return load_settings()


def _serve(args) -> int:
    settings = _settings()
    # Settings first (no I/O), then the database, before gunicorn starts: either stops with one line.
    settings.require(*(["SLACK_APP_TOKEN"] if args.socket_mode else []), "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    check_database(settings)
    if args.socket_mode:
        from bot.web.server import serve_socket_mode

        serve_socket_mode(settings)
        return 0
    from bot.web.server import serve_http

    port = args.port or settings.port
    serve_http(settings, port, host=args.host, workers=args.workers, threads=args.threads)
    return 0


class DatabaseNotReady(Exception):
    """A long-running command will not start: its database is missing, unreachable or not migrated."""


def check_database(settings) -> None:
    """Stop `serve` and `clock` at start, in one line (exit 2), when the database is not ready,
    rather than in a gunicorn traceback or with "no such table" on the first request."""
    from models.db import make_engine, schema_status

    engine = make_engine(settings.database_url)
    try:
        status = schema_status(engine)
    finally:
        engine.dispose()
    if not status.ok:
        raise DatabaseNotReady(status.problem)


def _demo(args) -> int:
    from bot.cli.demo import run_demo

    return run_demo(args.database_url)


def _db_upgrade(args) -> int:
    from bot.bootstrap import build
    from models.db import current_revision

    with build(_settings(), migrate=True) as collab:
        engine = collab.engine
        print(f"Database is at migration {current_revision(engine)} ({engine.url.render_as_string(hide_password=True)}).")
    return 0


def main(argv: list[str] | None = None) -> int:
    from bot.config import SettingsError
    from bot.domain.errors import CollabError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (SettingsError, CollabError, DatabaseNotReady) as problem:
        print(f"collab: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
