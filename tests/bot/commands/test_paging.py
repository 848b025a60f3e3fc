"""`/collab list` and `/collab matches` page through signed HTTP: never over Slack's 50 blocks, every post
reachable with "Show more", each page read with LIMIT (not every post loaded)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import event

from models import Need
from models.db import session_scope
from tests.support.rhythm import Network

DEPUTY = "U0DEPUTY01"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def buttons(blocks):
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def post_ids(blocks, action="post_close"):
    return [":".join(e["value"].split(":")[:2]) for e in buttons(blocks) if e["action_id"] == action]


def school_with_posts(engine, needs=30, offers=3) -> Network:
    net = Network(engine)
    net.member(DEPUTY, "colgate")
    for n in range(needs):
        net.need("colgate", f"need number {n}: help with persistent absence", created=T0 + timedelta(minutes=n))
    for n in range(offers):
        net.offer("colgate", f"offer number {n}: our phonics scheme", theme="reading", created=T0 + timedelta(minutes=n))
    return net


def test_list_of_33_posts_pages_by_ten_and_every_post_is_reachable(sender, slack, engine):
    school_with_posts(engine)
    body = sender.command("list", user_id=DEPUTY).json()
    assert len(body["blocks"]) <= 50  # (and the checker holds every rule on every answer)
    text = str(body)
    assert "30 needs and 3 offers" in text and "Showing 1–10 of 33" in text
    seen = post_ids(body["blocks"])
    post_buttons = [e for e in buttons(body["blocks"]) if e["action_id"].startswith("post_")]
    assert len(seen) == 10 and all(len([e for e in post_buttons if e["value"].startswith(i + ":")]) == 2
                                   for i in seen)  # each shown post keeps its Pause and Close
    more = next(e for e in buttons(body["blocks"]) if e["action_id"] == "list_more")
    assert more["text"]["text"] == "Show more (23 more)"
    pages = 1
    while more is not None:
        sender.action("list_more", more["value"], user_id=DEPUTY)
        pages += 1
        page = slack.wait_for_response(pages - 1)[-1]
        assert page.json("replace_original") is True
        seen += post_ids(page.blocks)
        more = next((e for e in buttons(page.blocks) if e["action_id"] == "list_more"), None)
    assert pages == 4 and len(seen) == 33 and len(set(seen)) == 33
    assert "Showing 31–33 of 33" in str(page.body)
    assert any(e["action_id"] == "list_first" for e in buttons(page.blocks))


def test_closing_a_post_on_page_two_shows_page_two_again(sender, slack, engine):
    school_with_posts(engine, needs=15, offers=0)
    sender.command("list", user_id=DEPUTY)
    sender.action("list_more", "10", user_id=DEPUTY)
    page = slack.wait_for_response(1)[0]
    close = next(e for e in buttons(page.blocks) if e["action_id"] == "post_close")
    sender.action("post_close", close["value"], user_id=DEPUTY)
    after = slack.wait_for_response(2)[1]
    assert "Showing 11–14 of 14" in str(after.body)
    with session_scope(engine) as session:
        assert session.get(Need, int(close["value"].split(":")[1])).status == "closed"


def test_a_page_reads_only_the_rows_it_shows(sender, engine):
    school_with_posts(engine, needs=40, offers=5)
    statements = []
    from sqlalchemy.engine import Engine  # the app builds its own engine: listen on every one

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    net = Network(engine)
    for n in range(15):
        net.pairing("colgate", "hinchley", "introduced", at=T0 + timedelta(hours=n))
    event.listen(Engine, "before_cursor_execute", seen)
    try:
        sender.command("list", user_id=DEPUTY)
        sender.command("matches", user_id=DEPUTY)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")
             and any(f"FROM {table}" in s for table in ("need", "offer", "pairing"))]
    assert len(reads) >= 4, statements
    for statement in reads:
        assert "count(" in statement.lower() or "LIMIT" in statement.upper(), statement


def test_matches_pages_and_each_pairing_has_its_next_step(sender, slack, engine):
    net = Network(engine)
    net.member(DEPUTY, "colgate")
    for n in range(11):
        net.pairing("colgate", "hinchley", "introduced", at=T0 + timedelta(hours=n))
    net.pairing("colgate", "stmary", "connected", at=T0 + timedelta(days=1))
    net.pairing("stmaryrc", "colgate", "declined", at=T0 - timedelta(days=1))
    net.pairing("colgate", "stmary", "proposed")  # the leads' business: not shown to the school
    body = sender.command("matches", user_id=DEPUTY).json()
    text = str(body)
    assert "your 13 pairings" in text and "Showing 1–10 of 13" in text
    first = body["blocks"][1]["text"]["text"]
    assert "*St Mary's Church of England Primary School* is helping with" in first and "_connected_" in first
    assert [e["action_id"] for e in buttons(body["blocks"])][:1] == ["feedback_open"]
    assert [e["action_id"] for e in buttons(body["blocks"])].count("followup_yes") == 9
    more = next(e for e in buttons(body["blocks"]) if e["action_id"] == "matches_more")
    sender.action("matches_more", more["value"], user_id=DEPUTY)
    page = slack.wait_for_response(1)[0]
    words = str(page.body)
    assert "Showing 11–13 of 13" in words
    # A pairing that didn't go ahead is told as such, not as "is helping with".
    assert "You were paired to help *St Mary's Catholic Primary School* with" in words
    assert "didn't go ahead" in words


def test_answering_from_matches_keeps_the_list_and_thanks(sender, slack, engine):
    net = Network(engine)
    net.member(DEPUTY, "colgate")
    pid = net.pairing("colgate", "hinchley", "introduced", at=T0)
    body = sender.command("matches", user_id=DEPUTY).json()
    yes = next(e for e in buttons(body["blocks"]) if e["action_id"] == "followup_yes")
    block = next(b for b in body["blocks"] if b["type"] == "actions")
    sender.action("followup_yes", yes["value"], user_id=DEPUTY, block_id=block["block_id"])
    thanks = slack.wait_for_response(1)[0]
    assert "Wonderful" in thanks.text and thanks.json("replace_original") is False
    from models import Pairing

    with session_scope(engine) as session:
        assert session.get(Pairing, pid).state == "connected"


def test_a_show_more_past_the_end_shows_the_last_page(sender, slack, engine):
    school_with_posts(engine, needs=12, offers=0)
    sender.action("list_more", "40", user_id=DEPUTY)  # an old button: most posts have closed since
    [page] = slack.wait_for_response(1)
    assert "Showing 11–12 of 12" in str(page.body)
