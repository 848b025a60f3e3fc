"""`collab schools import FILE`: load or refresh schools from a GIAS establishment CSV.

Migrates the database first so that a fresh machine works with one command. A progress bar
goes to stderr, the counts to stdout; a file that won't do exits 2 with one line saying why.
"""
from __future__ import annotations

import argparse
import sys
from typing import TextIO

BAR_WIDTH = 30
SHOW_SKIPPED = 20


def add_schools_command(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "schools", help="manage the schools reference data",
        description="Manage the schools reference data (from Get Information about Schools).",
    )
    commands = parser.add_subparsers(dest="schools_command", metavar="SUBCOMMAND")
    commands.required = True
    importer = commands.add_parser(
        "import", help="import or update schools from a GIAS establishment CSV",
        description="Import or update schools, by URN, from a Get Information about Schools "
                    "establishment CSV exactly as downloaded (edubasealldataYYYYMMDD.csv or an extract).",
    )
    importer.add_argument("file", metavar="FILE", help="the GIAS CSV file")
    importer.add_argument("--database-url", metavar="URL", default=None,
                          help="database to import into (default: DATABASE_URL, else sqlite:///collab.db)")
    importer.set_defaults(func=run_import)
    return parser


class ProgressBar:
    """`\\r[#####.....] 12,000/50,000 schools` on a terminal; just the final line otherwise."""

    def __init__(self, stream: TextIO, width: int = BAR_WIDTH):
        self.stream = stream
        self.width = width
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self.drawn = False

    def render(self, done: int, total: int | None) -> str:
        if not total:
            return f"{done:,} schools"
        filled = min(self.width, self.width * done // total)
        return f"[{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{total:,} schools"

    def __call__(self, done: int, total: int | None) -> None:
        if self.live:
            self.stream.write("\r" + self.render(done, total))
            self.stream.flush()
            self.drawn = True

    def finish(self, done: int, total: int | None) -> None:
        self.stream.write(("\r" if self.drawn else "") + self.render(done, total) + "\n")
        self.stream.flush()


def run_import(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from bot.bootstrap import build
    from bot.config import Settings, SettingsError, load_settings
    from bot.domain.errors import InvalidInput
    from bot.services.schools import import_schools, read_gias
    from models.db import session_scope, upgrade

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        gias = read_gias(args.file)  # check the file before touching the database
        total = len(gias)
        url = args.database_url or load_settings().database_url
    except (InvalidInput, SettingsError) as exc:
        print(f"collab schools import: {exc}", file=stderr)
        return 2
    bar = ProgressBar(stderr)
    engine = build(Settings(), database_url=url).engine
    try:
        upgrade(engine)
        with session_scope(engine) as session:  # all or nothing
            counts = import_schools(session, gias, progress=bar)
    except InvalidInput as exc:
        print(("\n" if bar.drawn else "") + f"collab schools import: {exc}", file=stderr)
        return 2
    finally:
        engine.dispose()
    bar.finish(total, total)
    print(counts.summary(), file=stdout)
    for reason in counts.skipped[:SHOW_SKIPPED]:
        print(f"  skipped {reason}", file=stdout)
    if len(counts.skipped) > SHOW_SKIPPED:
        print(f"  … and {len(counts.skipped) - SHOW_SKIPPED:,} more skipped rows", file=stdout)
    for warning in counts.warnings[:SHOW_SKIPPED]:
        print(f"  note {warning}", file=stdout)
    if len(counts.warnings) > SHOW_SKIPPED:
        print(f"  … and {len(counts.warnings) - SHOW_SKIPPED:,} more notes", file=stdout)
    return 0
