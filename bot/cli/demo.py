"""`collab demo`: a real network of 24 Berkshire schools, matched, with the digests they would get.

Everything runs through the same services the Slack app and the scheduler use; nothing is
sent to Slack. The database is a SQLite file of its own (demo.db), made afresh each time.
"""
from __future__ import annotations

import csv
import re
import sys
from importlib import resources
from pathlib import Path

from sqlmodel import select

from bot.config import Settings
from bot.services import members, posts
from bot.services.schools import import_file
from bot.services.workspaces import ensure_workspace
from models import School
from models.db import make_engine, session_scope, upgrade

DEMO_TEAM = "T0DEMONET1"
DEMO_LEAD = "U0DEMOLEAD"


def data_file(name: str) -> Path:
    return Path(str(resources.files("bot") / "data" / name))


def demo_user(urn: str) -> str:
    return f"U0DEMO{urn}"


def load_demo(session, workspace) -> tuple[int, int]:
    """Join one member per school and post the demo needs and offers; returns (needs, offers)."""
    counts = {"need": 0, "offer": 0}
    with open(data_file("demo_posts.csv"), newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            user = demo_user(row["school_urn"])
            if members.get_member(session, workspace, user) is None:
                members.join(session, workspace, user, row["school_urn"])
            save = posts.post_need if row["kind"] == "need" else posts.post_offer
            save(session, workspace, user, row["text"])
            counts[row["kind"]] += 1
    members.set_lead(session, workspace, DEMO_LEAD, True)
    return counts["need"], counts["offer"]


def plain_text(blocks: list[dict]) -> str:
    """Block Kit as a person would read it, for the terminal."""
    lines = []
    for block in blocks:
        text = block.get("text", {}).get("text") if block.get("type") == "section" else None
        if block.get("type") == "context":
            text = " ".join(e.get("text", "") for e in block.get("elements", []))
        if block.get("type") == "header":
            text = block["text"]["text"].upper()
        if text:
            text = re.sub(r"<@[A-Z0-9]+>", "you", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            lines.append(re.sub(r"[*_]", "", text))
    return "\n".join(lines)


def run_demo(database_url: str = "sqlite:///demo.db", out=sys.stdout) -> int:
    from bot.delivery.digests import compose_digest
    from bot.services.rounds import propose_round
    from models import Member, Need, Offer, Pairing

    if database_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(database_url[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
    engine = make_engine(database_url)
    upgrade(engine)
    settings = Settings(database_url=database_url)
    with session_scope(engine) as session:
        counts = import_file(session, data_file("demo_schools.csv"))
        workspace = ensure_workspace(session, DEMO_TEAM, "Demo network")
        needs, offers = load_demo(session, workspace)
    print(f"Demo network: {counts.added} schools in Slough and Windsor and Maidenhead, "
          f"{needs} needs and {offers} offers.\n", file=out)

    with session_scope(engine) as session:
        workspace = ensure_workspace(session, DEMO_TEAM)
        round_ = propose_round(session, workspace, settings, started_by="demo")
        proposals = session.exec(
            select(Pairing).where(Pairing.round_id == round_.id).order_by(Pairing.score.desc(), Pairing.id)
        ).all()
        print(f"Matching round: {round_.needs_considered} open needs, {round_.offers_considered} offers "
              f"with capacity; {len(proposals)} pairings proposed for the leads to review.\n", file=out)
        for number, row in enumerate(proposals, 1):
            need, offer = session.get(Need, row.need_id), session.get(Offer, row.offer_id)
            taker, giver = session.get(School, need.school_id), session.get(School, offer.school_id)
            print(f"{number:>2}. {taker.name} needs: {_short(need.text)}\n"
                  f"    → {giver.name} offers: {_short(offer.text)}\n"
                  f"    {row.reason}  (match strength {row.score:.2f})\n", file=out)

        print("What each school's weekly digest would say (first three schools):\n", file=out)
        staff = session.exec(
            select(Member).where(Member.workspace_id == workspace.id, Member.school_id.is_not(None))
            .order_by(Member.id).limit(3)
        ).all()
        for member in staff:
            school = session.get(School, member.school_id)
            _, blocks = compose_digest(session, workspace, member, round_.started_at, settings)
            print(f"--- {school.name} ---\n{plain_text(blocks)}\n", file=out)
    engine.dispose()
    print("This was a dry run: nothing was sent to Slack. See README.md to connect a workspace.", file=out)
    return 0


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
