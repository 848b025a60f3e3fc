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

# How many unpaired needs of each reason the demo lists (the rest are counted).
SHOW_LEFT = 3

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
            theme = row.get("theme") or None  # chosen by its poster; empty: our suggestion
            if row["kind"] == "need":
                posts.post_need(session, workspace, user, row["text"], theme)
            else:
                posts.post_offer(session, workspace, user, row["text"], theme, capacity=int(row.get("capacity") or 1))
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
    from bot.messages.common import gap_line
    from bot.messages.pairings import fit
    from bot.services.gaps import network_gaps
    from bot.services.rounds import propose_round
    from models import Member, Need, Offer, Pairing, UnpairedNeed

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
                  f"    {row.reason}  ({fit(row)})\n", file=out)
        print('"Likely fit: 8 in 10" means that of ten pairings like this one, a network lead would call about '
              "eight a good fit (the engine's estimate, calibrated on hand-labelled Ofsted sentences).\n", file=out)

        left = session.exec(select(UnpairedNeed).where(UnpairedNeed.round_id == round_.id)
                            .order_by(UnpairedNeed.reason, UnpairedNeed.need_id)).all()
        if left:
            print(f"{len(left)} needs were not paired this round, and why (a few of each):\n", file=out)
            for reason in ("no_offer_on_theme", "too_unlikely", "offers_taken"):
                rows = [row for row in left if row.reason == reason]
                for row in rows[:SHOW_LEFT]:
                    need = session.get(Need, row.need_id)
                    school = session.get(School, need.school_id)
                    print(f" - {school.name}: {_short(need.text, 90)}\n   {_why(session, row)}", file=out)
                if len(rows) > SHOW_LEFT:
                    print(f"   … and {len(rows) - SHOW_LEFT} more for the same reason", file=out)
            print("", file=out)
        gaps = network_gaps(session, workspace, round_.started_at)
        if gaps:
            print("Where the network needs offers (a school that could offer one of these would help most):", file=out)
            for gap in gaps:
                print(f" - {gap_line(gap)}", file=out)
            print("", file=out)

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


def _why(session, row) -> str:
    """An unpaired need's reason in a deputy head's words, naming the closest offers' schools."""
    from matching import Unmatched, likely_fit
    from matching.unmatched import TOO_UNLIKELY
    from models import Offer

    if row.reason != TOO_UNLIKELY:
        return Unmatched(str(row.need_id), row.theme, row.reason).describe()
    closest = []
    for part in filter(None, row.closest.split(",")):
        offer_id, _, probability = part.partition(":")
        offer = session.get(Offer, int(offer_id))
        closest.append(f"{session.get(School, offer.school_id).name} ({likely_fit(float(probability))})")
    return ("The closest offers are too unlikely a fit to propose: " + "; ".join(closest) + "."
            if closest else "No offer is close enough to propose.")


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
