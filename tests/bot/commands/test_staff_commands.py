"""`/collab` driven through the real HTTP endpoint with signed requests, as Slack sends them."""
from __future__ import annotations

from sqlmodel import select

from models import Member, Need, Offer
from models.db import session_scope

DEPUTY = "U0DEPUTY01"


def reply_text(response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    return body.get("text", "") + "\n" + "\n".join(
        b.get("text", {}).get("text", "") for b in body.get("blocks", []) if b.get("type") == "section"
    )


def join(sender, urn="126013", user=DEPUTY):
    response = sender.command(f"join {urn}", user_id=user)
    assert "joined" in reply_text(response)
    return response


def test_help_with_no_text_and_with_help(sender, schools):
    for text in ("", "help", "  HELP  "):
        body = sender.command(text).json()
        assert body["response_type"] == "ephemeral"
        assert "/collab join" in reply_text(sender.command(text))


def test_unknown_subcommand_shows_usage_and_echoes_what_was_typed(sender, schools):
    text = reply_text(sender.command("nede help with phonics please"))
    assert "I don't know `nede`" in text
    assert "help with phonics please" in text
    assert "/collab need" in text


def test_join_by_urn_then_by_name_with_choice(sender, slack, schools):
    assert "Colgate Primary School" in reply_text(sender.command("join 126013"))
    # Several hits: the user picks one with a button, and that click joins them.
    body = sender.command("join st mary", user_id="U0OTHER001").json()
    picks = [b["accessory"]["value"] for b in body["blocks"] if b.get("accessory", {}).get("action_id") == "join_pick"]
    assert sorted(picks) == ["125012", "125964"]
    sender.action("join_pick", "125964", user_id="U0OTHER001")
    response = slack.wait_for_response(1)[0]
    assert "St Mary's Catholic Primary School" in response.text


def test_join_problems_are_explained(sender, schools):
    assert "No open school matches" in reply_text(sender.command("join nowhere school"))
    assert "closed" in reply_text(sender.command("join 100001"))
    assert "URN or part of its name" in reply_text(sender.command("join"))
    assert "at least three letters" in reply_text(sender.command("join st"))


def test_need_with_text_is_saved_with_an_inferred_theme(sender, engine, schools):
    join(sender)
    text = reply_text(sender.command("need help with persistent absence in Year 9"))
    assert "saved" in text
    with session_scope(engine) as session:
        need = session.exec(select(Need)).one()
        assert need.text == "help with persistent absence in Year 9"
        assert need.theme == "attendance"
        assert need.status == "open"


def test_posting_before_joining_says_how_to_join(sender, engine, schools):
    text = reply_text(sender.command("need help with phonics in reception"))
    assert "/collab join" in text and "help with phonics in reception" in text
    with session_scope(engine) as session:
        assert session.exec(select(Need)).all() == []


def test_too_long_post_is_refused_and_echoed_in_full(sender, engine, schools):
    join(sender)
    long_text = "Our reading catch-up needs support. " * 560  # about 20,000 characters
    body = sender.command("need " + long_text.strip()).json()
    assert "at most 1,000" in body["text"]
    assert long_text.strip()[-200:] in body["text"]  # nothing lost: the whole post comes back
    with session_scope(engine) as session:
        assert session.exec(select(Need)).all() == []


def test_emoji_and_mention_injection_are_stored_but_never_ping(sender, engine, schools):
    join(sender)
    body = sender.command("offer <!channel> our :books: library & <@U0BOSS0001> reading club").json()
    shown = " ".join(b.get("text", {}).get("text", "") for b in body["blocks"] if b["type"] == "section")
    assert "<!channel>" not in shown and "<@U0BOSS0001>" not in shown
    assert "&lt;!channel&gt;" in shown and "&amp;" in shown
    with session_scope(engine) as session:
        offer = session.exec(select(Offer)).one()
        assert offer.text == "<!channel> our :books: library & <@U0BOSS0001> reading club"


def test_need_without_text_opens_the_modal(sender, slack, schools):
    join(sender)
    response = sender.command("need")
    assert response.status_code == 200
    call = slack.wait_for("views.open")[0]
    view = call.json("view")
    assert view["callback_id"] == "need_modal"
    assert {b["block_id"] for b in view["blocks"]} == {"text", "theme", "urgency"}


def test_list_shows_posts_with_close_and_pause_buttons(sender, slack, engine, schools):
    join(sender)
    sender.command("need help with maths mastery in Key Stage 2")
    sender.command("offer we can share our phonics scheme and train your TAs")
    body = sender.command("list").json()
    action_ids = [e["action_id"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert action_ids.count("post_close") == 2 and action_ids.count("post_pause") == 2
    with session_scope(engine) as session:
        need = session.exec(select(Need)).one()
    sender.action("post_close", f"need:{need.id}", user_id=DEPUTY)
    slack.wait_for_response(1)
    with session_scope(engine) as session:
        assert session.get(Need, need.id).status == "closed"


def test_only_the_schools_members_change_its_posts(sender, slack, engine, schools):
    join(sender)
    sender.command("need help with maths mastery in Key Stage 2")
    join(sender, "136712", user="U0OTHER001")
    with session_scope(engine) as session:
        need = session.exec(select(Need)).one()
    sender.action("post_close", f"need:{need.id}", user_id="U0OTHER001")
    response = slack.wait_for_response(1)[0]
    assert "isn't one of your school's" in response.text
    with session_scope(engine) as session:
        assert session.get(Need, need.id).status == "open"


def test_another_workspace_sees_nothing_of_ours(sender, slack, engine, schools):
    join(sender)
    sender.command("need help with maths mastery in Key Stage 2")
    with session_scope(engine) as session:
        need = session.exec(select(Need)).one()
    # Same Slack user ID, another workspace: not a member there, cannot list or close our posts.
    assert "/collab join" in reply_text(sender.command("list", team_id="T0OTHERWS1"))
    sender.action("post_close", f"need:{need.id}", user_id=DEPUTY, team_id="T0OTHERWS1")
    assert "/collab join" in slack.wait_for_response(1)[0].text
    with session_scope(engine) as session:
        assert session.get(Need, need.id).status == "open"


def test_pause_and_resume(sender, engine, schools):
    join(sender)
    assert "Paused" in reply_text(sender.command("pause 2"))
    assert "how many weeks" in reply_text(sender.command("pause soon"))
    assert "between 1 and 52" in reply_text(sender.command("pause 99"))
    with session_scope(engine) as session:
        assert session.exec(select(Member)).one().paused_until is not None
    assert "Welcome back" in reply_text(sender.command("resume"))
    with session_scope(engine) as session:
        assert session.exec(select(Member)).one().paused_until is None


def test_forget_me_asks_then_forgets_but_keeps_the_schools_post(sender, slack, engine, schools):
    join(sender)
    sender.command("need help with maths mastery in Key Stage 2")
    body = sender.command("forget-me").json()
    assert any(b["type"] == "actions" for b in body["blocks"])
    with session_scope(engine) as session:
        assert session.exec(select(Member)).one()  # nothing happens until they confirm
    sender.action("forget_me_confirm", "yes", user_id=DEPUTY)
    slack.wait_for_response(1)
    with session_scope(engine) as session:
        assert session.exec(select(Member)).all() == []
        need = session.exec(select(Need)).one()
        assert need.member_id is None


def test_lead_commands_are_refused_to_others(sender, schools):
    assert "only network leads" in reply_text(sender.command("lead add <@U0NEW00001|newlead>"))
    assert "now a network lead" in reply_text(sender.command("lead add <@U0NEW00001|newlead>", user_id="U0LEAD0001"))
    assert "only network leads" not in reply_text(sender.command("lead add <@U0NEW00002>", user_id="U0NEW00001"))


def test_lead_add_and_remove_say_what_changed_and_removing_a_stranger_stores_nothing(sender, engine, schools):
    lead = "U0LEAD0001"
    assert "already a network lead" not in reply_text(sender.command("lead add <@U0NEW00001>", user_id=lead))
    assert "is already a network lead: nothing changed" in reply_text(sender.command("lead add <@U0NEW00001>", user_id=lead))
    assert "no longer a network lead" in reply_text(sender.command("lead remove <@U0NEW00001>", user_id=lead))
    assert "was not a network lead: nothing changed" in reply_text(sender.command("lead remove <@U0NEW00001>", user_id=lead))
    assert "was not a network lead" in reply_text(sender.command("lead remove <@U0NOBODY01>", user_id=lead))
    with session_scope(engine) as session:
        assert [m.slack_user_id for m in session.exec(select(Member)).all()] == ["U0NEW00001"]


def test_matches_shows_approved_pairings_from_each_schools_side(sender, engine, settings, schools):
    from datetime import datetime, timezone

    from bot.services import rounds
    from tests.support import network as net

    net.absence_pairing(engine, settings, "U0LEAD0001", datetime.now(timezone.utc), introduced=True)
    # A second pairing only proposed: the leads' business, not yet shown to either school.
    net.need(engine, net.STMARY, net.PHONICS_NEED, theme="reading")
    net.offer(engine, net.STMARYRC, net.PHONICS_OFFER, theme="reading")
    with session_scope(engine) as session:
        assert rounds.propose_round(session, net.workspace(engine), settings).proposals == 1
    taker = reply_text(sender.command("matches", user_id=net.COLGATE))
    assert "Hinchley Wood School" in taker and "is helping with" in taker and "introduced" in taker
    giver = reply_text(sender.command("matches", user_id=net.HINCHLEY))
    assert "You're helping" in giver and "Colgate Primary School" in giver
    for user in (net.STMARY, net.STMARYRC):
        assert "No pairings yet" in reply_text(sender.command("matches", user_id=user))


def element(blocks, action_id: str) -> dict:
    """The button or menu with this action_id, wherever the message put it."""
    found = [e for b in blocks for e in [b.get("accessory") or {}, *b.get("elements", [])]
             if e.get("action_id") == action_id]
    assert len(found) == 1, (action_id, blocks)
    return found[0]


def post_one(sender, engine, command: str, table, action_id: str):
    """Join, post, and return the reply, its element ``action_id`` and the post's row."""
    join(sender)
    body = sender.command(command).json()
    with session_scope(engine) as session:
        return body, element(body["blocks"], action_id), session.exec(select(table)).one()


def test_the_suggested_theme_can_be_changed_and_posts_paused_and_resumed(sender, slack, engine, schools):
    body, menu, need = post_one(sender, engine, "need help with persistent absence in Year 9", Need, "post_theme")
    assert not need.theme_chosen  # a suggestion until someone says otherwise
    assert menu["initial_option"]["value"] == f"need:{need.id}:attendance"
    assert "Is that right?" in str(body["blocks"])
    choice = next(o for o in menu["options"] if o["value"].endswith(":behaviour"))
    sender.action("post_theme", action_type="static_select", selected_option=choice)
    answer = slack.wait_for_response(1)[0]
    assert "Behaviour" in answer.text + str(answer.blocks) and "chosen by your school" in str(answer.blocks)
    with session_scope(engine) as session:
        assert session.get(Need, need.id).theme == "behaviour"
        assert session.get(Need, need.id).theme_chosen

    sender.action("post_pause", f"need:{need.id}")
    slack.wait_for_response(2)
    with session_scope(engine) as session:
        assert session.get(Need, need.id).status == "paused"
    sender.action("post_resume", f"need:{need.id}")
    slack.wait_for_response(3)
    with session_scope(engine) as session:
        assert session.get(Need, need.id).status == "open"
    # A made-up theme from a forged menu value changes nothing.
    sender.action("post_theme", action_type="static_select",
                  selected_option={"text": {"type": "plain_text", "text": "x"}, "value": f"need:{need.id}:astrology"})
    assert "not one of the themes" in slack.wait_for_response(4)[3].text
    with session_scope(engine) as session:
        assert session.get(Need, need.id).theme == "behaviour"


def test_saying_the_suggested_theme_is_right_makes_it_chosen(sender, slack, engine, schools):
    _, yes, offer = post_one(sender, engine, "offer our attendance officer can mentor yours", Offer, "post_theme_ok")
    assert yes["value"] == f"offer:{offer.id}:{offer.theme}" and not offer.theme_chosen
    sender.action("post_theme_ok", yes["value"])
    answer = slack.wait_for_response(1)[0]
    assert "chosen by your school" in str(answer.blocks)
    assert all(e.get("action_id") != "post_theme_ok" for b in answer.blocks for e in b.get("elements", []))
    with session_scope(engine) as session:
        assert session.get(Offer, offer.id).theme_chosen
        assert session.get(Offer, offer.id).theme == offer.theme
    # An out-of-date or forged button with no theme changes nothing.
    sender.action("post_theme_ok", f"offer:{offer.id}:")
    assert "Pick one of the themes" in slack.wait_for_response(2)[1].text


def test_a_listed_posts_theme_can_be_confirmed_or_changed_later(sender, slack, engine, schools):
    """The saved post's reply is gone after a while; /collab list keeps the same choice."""
    join(sender)
    sender.command("need help with persistent absence in Year 9")
    body = sender.command("list").json()
    with session_scope(engine) as session:
        need = session.exec(select(Need)).one()
    assert "_(suggested)_" in str(body["blocks"])
    yes = element(body["blocks"], "list_theme_ok")
    assert yes["value"] == f"need:{need.id}:0:attendance"
    sender.action("list_theme_ok", yes["value"])
    listing = slack.wait_for_response(1)[0]
    assert "_(suggested)_" not in str(listing.blocks) and "list_theme_ok" not in str(listing.blocks)
    with session_scope(engine) as session:
        assert session.get(Need, need.id).theme_chosen
    menu = element(listing.blocks, "list_theme")
    choice = next(o for o in menu["options"] if o["value"].endswith(":behaviour"))
    assert choice["value"] == f"need:{need.id}:0:behaviour"
    sender.action("list_theme", action_type="static_select", selected_option=choice)
    assert "Behaviour" in str(slack.wait_for_response(2)[1].blocks)
    with session_scope(engine) as session:
        assert session.get(Need, need.id).theme == "behaviour"
    # A value without a theme (forged or from an old message) changes nothing.
    sender.action("list_theme_ok", f"need:{need.id}:0")
    assert "Pick one of the themes" in slack.wait_for_response(3)[2].text
    with session_scope(engine) as session:
        assert session.get(Need, need.id).theme == "behaviour"

