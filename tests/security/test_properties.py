"""Property tests (issue 8): random and targeted texts through every sub-command, modal and button,
over signed HTTP, on each database backend.

Whatever is sent: never a 5xx, never an HTML page, always an answer (the sender waits at most its
timeout; how fast is for bench/, not for asserts), and nothing typed ever reaches a later message
as live markup (a ping, a mention or a link someone else would see).
"""
from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.bot.commands.test_staff_commands import join
from tests.security.conftest import LEAD
from tests.support.slack_requests import number, plain, radio, select as pick

SUBCOMMANDS = ["", "help", "join", "need", "offer", "list", "matches", "pause", "resume", "forget-me",
               "lead add", "lead remove", "lead", "round", "review", "report", "export", "nonsense"]
BUTTONS = ["join_pick", "post_close", "post_pause", "post_resume", "post_theme", "post_theme_ok", "list_theme", "list_theme_ok",
           "forget_me_confirm",
           "pairing_approve", "pairing_reject", "followup_answer", "feedback_open", "offer_something",
           "renew_keep", "renew_close"]
MODALS = ["need_modal", "offer_modal", "reject_modal", "feedback_modal"]

# Live markup: if any of these comes back unescaped in something Collab sends, a person was injected.
INJECTIONS = ["<!channel>", "<!here>", "<!everyone>", "<@U0VICTIM1>", "<#C0SECRET1>",
              "<https://evil.example|click here>"]
PIECES = INJECTIONS + [
    "²", "①", "¹", "١٢", "٣", "\x00", "\x07", "\x1b", "\u200b", "\ufeff", "\u2060", "\u202e",
    "&lt;", "&amp;", "&gt;", "*bold*", "_it_", "`code`", "```", ">", "%", "_", "%%%", "'", '"', "\\",
    "; DROP TABLE need;--", "\n", "\t", "9" * 25, "-1", "0", "1", "126013", "need:1", "offer:1", "1:2",
    "help with persistent absence in Year 9", ":books:", "\U0001F468\u200d\U0001F469\u200d\U0001F467",
]
TEXTS = st.one_of(
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=8).map("".join),
    st.text(max_size=60),
    st.sampled_from(PIECES).map(lambda piece: piece * 600),  # huge, over any post limit
)


def surfaces(sender, pairing_id: int):
    """Every way a person can hand Collab some text, as a strategy of (label, send)."""
    commands = st.tuples(st.sampled_from(SUBCOMMANDS), TEXTS).map(
        lambda c: (f"/collab {c[0]}", lambda: sender.command(f"{c[0]} {c[1]}".strip(), user_id=_who(c[0]))))
    buttons = st.tuples(st.sampled_from(BUTTONS), TEXTS, st.sampled_from(["", "need:", "offer:", "1:"])).map(
        lambda b: (f"button {b[0]}", lambda: sender.action(b[0], b[2] + b[1], user_id=_who(b[0]))))
    modals = st.tuples(st.sampled_from(MODALS), TEXTS, TEXTS).map(
        lambda m: (f"modal {m[0]}", lambda: sender.view_submission(
            m[0], _values(m[0], m[1], m[2]), json.dumps({"pairing_id": pairing_id, "channel": "C0GENERAL1"}),
            user_id=_who(m[0]))))
    return st.one_of(commands, buttons, modals)


def _who(surface: str) -> str:
    return LEAD if (surface.split() or [""])[0] in ("lead", "round", "review", "report", "export", "pairing_approve",
                                          "pairing_reject", "reject_modal") else "U0DEPUTY01"


def _values(modal: str, first: str, second: str) -> dict:
    if modal == "need_modal":
        return {"text": {"value": plain(first)}, "theme": {"value": pick(second or "reading")},
                "urgency": {"value": pick("normal")}}
    if modal == "offer_modal":
        return {"text": {"value": plain(second)}, "theme": {"value": pick("reading")},
                "capacity": {"value": number(first)}, "format": {"value": pick("any")}}
    if modal == "reject_modal":
        return {"reason": {"value": plain(first)}}
    return {"impact": {"value": radio(first)}, "what_changed": {"value": plain(second)},
            "comment": {"value": plain(first)}}


def everything_sent(slack) -> list[str]:
    """Every message Collab sent: Web API calls and response_url posts."""
    with slack._cond:
        calls = [json.dumps(c.params) if not isinstance(c.params, str) else c.params for c in slack.calls]
        responses = [r.raw.decode("utf-8", "replace") for r in slack.responses]
    return calls + responses


def injected(text: str) -> list[str]:
    decoded = json.loads(json.dumps(text))
    return [piece for piece in INJECTIONS if piece in decoded]


def live_markup_in(sent: str) -> list[str]:
    """Injected pieces in a JSON text, decoded (a JSON string escapes nothing Slack cares about)."""
    try:
        value = json.loads(sent)
    except ValueError:
        value = sent
    return [piece for piece in INJECTIONS if piece in json.dumps(value, ensure_ascii=False)]


@pytest.fixture
def network(sender, engine, schools):
    """Two schools with a need and an offer, a round run, so buttons and modals have real ids too."""
    join(sender)
    join(sender, urn="125964", user="U0OTHER001")
    sender.command("need help with persistent absence in Year 9", user_id="U0DEPUTY01")
    sender.command("offer first-day calling that halved persistent absence", user_id="U0OTHER001")
    sender.command("round", user_id=LEAD)
    return 1


def test_no_text_through_any_surface_gets_a_5xx_or_injects_markup(network, sender, slack):
    seen = {"examples": 0}

    @settings(max_examples=300, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(surface=surfaces(sender, network))
    def attack(surface):
        label, send = surface
        response = send()
        seen["examples"] += 1
        assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
        assert "<html" not in response.text.lower(), label
        if response.text:
            body = response.json()  # JSON or nothing: never a page
            # The reply's fallback `text` is checked by test_a_problem_reply_escapes_its_fallback_text,
            # which records the one known gap (bot/messages); everything else must hold here.
            shown = {k: v for k, v in body.items() if k != "text"} if "blocks" in body else body
            assert not live_markup_in(json.dumps(shown)), f"{label} answered with live markup: {body}"

    attack()
    assert seen["examples"] >= 250
    time.sleep(1.0)  # what follows the acknowledgements (respond, chat.postEphemeral) arrives
    leaks = [(sent[:300], live_markup_in(sent)) for sent in everything_sent(slack)
             if live_markup_in(sent)]
    assert leaks == []


def test_a_problem_reply_escapes_its_fallback_text(sender, schools):
    """Found by the property test above: the blocks escape what was typed, the fallback `text` (what
    notifications and screen readers show) does not, because the problem names the typed word."""
    body = sender.command("<!channel> please").json()
    assert "<!channel>" not in json.dumps(body)


def test_a_forged_join_pick_value_is_escaped(sender, slack, schools):
    """Found by the property test: the join button's value comes back unescaped in the problem."""
    sender.action("join_pick", "<!everyone>")
    reply = slack.wait_for_response()[-1]
    assert "<!everyone>" not in json.dumps(reply.body)
