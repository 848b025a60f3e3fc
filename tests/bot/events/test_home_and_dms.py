"""App Home and direct messages through signed Events API requests and the stub Slack."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from models import Need
from models.db import session_scope
from tests.bot.conftest import LEAD
from tests.support.rhythm import Network
from tests.support.slack_stub import BOT_USER_ID, dm_channel_id

DEPUTY = "U0DEPUTY01"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def home_of(sender, slack, user, count=1):
    sender.app_home_opened(user)
    return slack.wait_for("views.publish", count)[-1].json("view")


def buttons(view):
    return [(e["action_id"], e.get("value")) for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def words(view) -> str:
    return str(view)


def test_staff_home_shows_posts_and_pairings_with_the_list_and_matches_buttons(sender, slack, engine):
    net = Network(engine)
    net.member(DEPUTY, "colgate")
    for n in range(30):
        net.need("colgate", f"need {n}: help with persistent absence in Year 9", created=T0 + timedelta(minutes=n))
    net.offer("colgate", "our phonics scheme and training for TAs", theme="reading", created=T0)
    introduced = net.pairing("colgate", "hinchley", "introduced", at=T0)
    connected = net.pairing("stmary", "colgate", "connected", at=T0 + timedelta(hours=1))
    net.pairing("colgate", "stmaryrc", "declined", at=T0)  # over: not on Home
    # 31 posts, and each pairing above brought its own open need or offer: 34 in all.
    view = home_of(sender, slack, DEPUTY)
    text = words(view)
    # Posts: a page with the same Pause / Close as `/collab list`, not a comma list of theme names.
    assert ("post_pause", f"need:{1}:0") in buttons(view)
    assert sum(1 for a, _ in buttons(view) if a == "post_close") == 10
    assert "Showing 10 of 34 posts: `/collab list` shows them all." in text
    # Pairings going on, with the same next steps as `/collab matches`.
    assert ("followup_yes", f"{introduced}:0:yes") in buttons(view)
    assert ("feedback_open", str(connected)) in buttons(view)
    assert "(2 going on)" in text
    assert "pairing_approve" not in text and "at a glance" not in text
    assert "free school meals" not in text


def test_pausing_a_post_on_home_republishes_home(sender, slack, engine):
    net = Network(engine)
    net.member(DEPUTY, "colgate")
    need_id = net.need("colgate", chosen=False)  # our suggestion: Home offers to confirm it
    home_of(sender, slack, DEPUTY)
    sender.action("post_pause", f"need:{need_id}:0", user_id=DEPUTY, view={"type": "home", "blocks": []})
    view = slack.wait_for("views.publish", 2)[-1].json("view")
    assert ("post_resume", f"need:{need_id}:0") in buttons(view)
    # A suggested theme confirmed on Home: Home again, without the button.
    [(_, value)] = [b for b in buttons(view) if b[0] == "list_theme_ok"]
    sender.action("list_theme_ok", value, user_id=DEPUTY, view={"type": "home", "blocks": []})
    view = slack.wait_for("views.publish", 3)[-1].json("view")
    assert not [b for b in buttons(view) if b[0] == "list_theme_ok"]
    with session_scope(engine) as session:
        assert session.get(Need, need_id).status == "paused"


def test_answering_on_home_says_thank_you_by_dm_and_refreshes(sender, slack, engine):
    net = Network(engine)
    net.member(DEPUTY, "colgate")
    pid = net.pairing("colgate", "hinchley", "introduced", at=T0)
    home_of(sender, slack, DEPUTY)
    sender.action("followup_yes", f"{pid}:0:yes", user_id=DEPUTY, block_id=f"pairing_{pid}",
                  view={"type": "home", "blocks": []})
    view = slack.wait_for("views.publish", 2)[-1].json("view")
    assert ("feedback_open", str(pid)) in buttons(view)
    [thanks] = slack.wait_for("chat.postMessage")
    assert thanks.params["channel"] == DEPUTY and "Wonderful" in thanks.params["text"]


def test_lead_home_shows_reviews_and_the_network_at_a_glance(sender, slack, engine):
    net = Network(engine)
    net.member(DEPUTY, "colgate")
    old = datetime.now(timezone.utc) - timedelta(days=3)
    proposed = net.pairing("colgate", "hinchley", "proposed", at=old)
    net.pairing("stmary", "hinchley", "connected", at=old)
    net.need("stmaryrc")
    view = home_of(sender, slack, LEAD)
    text = words(view)
    assert ("pairing_approve", str(proposed)) in buttons(view)
    assert "*The network at a glance* (leads only)" in text
    assert "1 pairing waiting two days or more for review" in text
    assert "For network leads" in text  # the leads' help, too
    # A lead's Home names no school in the glance line.
    glance = next(b["text"]["text"] for b in view["blocks"] if "at a glance" in b.get("text", {}).get("text", ""))
    assert "School" not in glance


def dm(sender, user=DEPUTY, **extra):
    event = {"type": "message", "channel": dm_channel_id(user), "user": user, "text": "hello, how do I post?",
             "ts": f"{time.time():.6f}", "channel_type": "im", **extra}
    return sender.event(event)


def test_a_dm_to_the_bot_gets_the_help(sender, slack, engine):
    Network(engine).member(DEPUTY, "colgate")
    assert dm(sender).status_code == 200
    [answer] = slack.wait_for("chat.postMessage")
    assert answer.params["channel"] == dm_channel_id(DEPUTY)
    blocks = str(answer.json("blocks"))
    assert "/collab need" in blocks and "For network leads" not in blocks
    slack.reset()
    dm(sender, user=LEAD)
    assert "For network leads" in str(slack.wait_for("chat.postMessage")[0].json("blocks"))


def test_the_bots_own_messages_edits_and_other_bots_get_no_answer(sender, slack, engine):
    dm(sender, user=BOT_USER_ID, bot_id="B0COLLAB1")
    dm(sender, subtype="message_changed")
    dm(sender, bot_id="B0OTHER01")
    sender.event({"type": "message", "channel": "C0GENERAL1", "user": DEPUTY, "text": "hi", "ts": "1.1",
                  "channel_type": "channel"})
    # The others are turned away before their acknowledgement (no work is queued for them), so once
    # this last, real one is answered nothing else can still arrive.
    dm(sender)
    slack.wait_for("chat.postMessage")
    assert len(slack.calls_to("chat.postMessage")) == 1
