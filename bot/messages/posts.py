"""Messages and modals for joining, posting needs and offers, and listing them."""
from __future__ import annotations

import json

from bot.messages.common import (
    actions, button, context, divider, escape, option, plain, quote, reply, section,
)
from bot.domain.posts import FORMATS, MAX_CAPACITY, MAX_POST_CHARS, URGENCIES
from matching.themes import THEME_LABELS, THEMES

USAGE = """*How to use Collab*
• `/collab join <URN or part of your school's name>`: link yourself to your school
• `/collab need <what your school needs help with>`: or just `/collab need` for a form
• `/collab offer <what your school could share>`: or just `/collab offer` for a form
• `/collab list`: your school's needs and offers, to close or pause them
• `/collab matches`: your school's pairings and where they have got to
• `/collab pause [weeks]` and `/collab resume`: stop or restart digests and nudges to you
• `/collab forget-me`: delete what Collab holds about you
• `/collab help`: this message"""

LEAD_USAGE = """*For network leads*
• `/collab round`: run a matching round now
• `/collab review`: pairings waiting for a decision
• `/collab report`: the network's report, with a chart, by direct message
• `/collab export`: every pairing as a spreadsheet (CSV), by direct message
• `/collab lead add @someone` and `/collab lead remove @someone`"""


def help_reply(is_lead: bool = False) -> dict:
    blocks = [section(USAGE)]
    if is_lead:
        blocks.append(section(LEAD_USAGE))
    return reply("How to use Collab", blocks)


def problem_reply(problem: str, typed: str | None = None, show_usage: bool = False) -> dict:
    """Say what was wrong; give back what they typed so nothing is lost."""
    blocks = [section(f":warning: {escape(problem)}")]
    text = problem
    if typed:
        echo = "You typed:\n" + quote(typed)
        blocks.append(section(echo))
        # Blocks cap at 3,000 characters; the fallback text carries up to 40,000, so long posts survive there.
        text = f"{problem}\nYou typed:\n{escape(typed)}"
    if show_usage:
        blocks.append(section(USAGE))
    return {"text": text[:39000], "blocks": blocks, "response_type": "ephemeral"}


def school_line(school) -> str:
    bits = [b for b in (school.phase, school.local_authority) if b]
    return f"*{escape(school.name)}* (URN {school.urn}{', ' + escape(', '.join(bits)) if bits else ''})"


def choose_school_reply(schools, more: bool) -> dict:
    blocks = [section("Which is your school?")]
    for school in schools:
        blocks.append(section(school_line(school), button("This one", "join_pick", school.urn)))
    if more:
        blocks.append(context("More schools match: type more of the name, or the URN, to narrow it down."))
    return reply("Which is your school?", blocks)


def joined_reply(school, moved: bool) -> dict:
    verb = "You've moved to" if moved else "Welcome! You've joined"
    return reply(
        f"{verb} {school.name}.",
        [section(f":school: {verb} {school_line(school)}.\nNext: `/collab need …` or `/collab offer …`.")],
    )


def theme_select(kind: str, post_id: int, current: str) -> dict:
    return {
        "type": "static_select",
        "action_id": "post_theme",
        "placeholder": plain("Change theme"),
        "initial_option": option(THEME_LABELS[current], f"{kind}:{post_id}:{current}"),
        "options": [option(THEME_LABELS[t], f"{kind}:{post_id}:{t}") for t in THEMES],
    }


def posted_reply(kind: str, post, school) -> dict:
    if kind == "need":
        headline = f":raised_hand: Thanks, {escape(school.name)}'s need is saved. We'll look for a school that can help."
    else:
        headline = f":gift: Thank you, {escape(school.name)}'s offer is saved. We'll look for a school it can help."
    return reply(
        "Saved.",
        [
            section(headline),
            section(quote(post.text)),
            section(f"Theme: *{THEME_LABELS[post.theme]}*. Not right? Pick another:", theme_select(kind, post.id, post.theme)),
        ],
    )


def _post_row(kind: str, post) -> list[dict]:
    paused = post.status == "paused"
    label = "Need" if kind == "need" else "Offer"
    extra = f" · {post.capacity_per_term} per term" if kind == "offer" else ""
    status = " · _paused_" if paused else ""
    value = f"{kind}:{post.id}"
    return [
        section(f"*{label}* · {THEME_LABELS[post.theme]}{extra}{status}\n{quote(post.text)}"),
        actions(
            button("Resume" if paused else "Pause", "post_resume" if paused else "post_pause", value),
            button("Close", "post_close", value, style="danger"),
            block_id=f"post_{kind}_{post.id}",
        ),
    ]


def list_reply(posts) -> dict:
    blocks = [section(f"*{escape(posts.school.name)}*: what your school has asked for and offered")]
    if not posts.needs and not posts.offers:
        blocks.append(section("Nothing yet. Try `/collab need …` or `/collab offer …`."))
    for need in posts.needs:
        blocks += _post_row("need", need)
    if posts.needs and posts.offers:
        blocks.append(divider())
    for offer in posts.offers:
        blocks += _post_row("offer", offer)
    return reply(f"{posts.school.name}: needs and offers", blocks[:50])


def _select(action_id: str, options: dict, initial: str | None = None, placeholder: str = "Choose") -> dict:
    element = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(placeholder),
        "options": [option(label, value) for value, label in options.items()],
    }
    if initial:
        element["initial_option"] = option(options[initial], initial)
    return element


def _input(block_id: str, label: str, element: dict, optional: bool = False, hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "label": plain(label), "element": element, "optional": optional}
    if hint:
        block["hint"] = plain(hint, 150)
    return block


THEME_OPTIONS = {t: THEME_LABELS[t] for t in THEMES}


def post_modal(kind: str, channel_id: str = "", initial_text: str = "") -> dict:
    """The need or offer form. `private_metadata` remembers where to confirm."""
    text_element = {
        "type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": MAX_POST_CHARS,
        "placeholder": plain("e.g. help with persistent absence in Year 9" if kind == "need"
                             else "e.g. our first-day calling and family liaison work"),
    }
    if initial_text:
        text_element["initial_value"] = initial_text[:MAX_POST_CHARS]
    blocks = [
        _input("text", "What does your school need help with?" if kind == "need" else "What could your school share?",
               text_element),
        _input("theme", "Theme", _select("value", THEME_OPTIONS, placeholder="Leave empty and we'll suggest one"),
               optional=True),
    ]
    if kind == "need":
        blocks.append(_input("urgency", "How soon?", _select("value", URGENCIES, initial="normal")))
    else:
        blocks.append(_input("capacity", "How many schools could you help this term?", {
            "type": "number_input", "action_id": "value", "is_decimal_allowed": False,
            "min_value": "1", "max_value": str(MAX_CAPACITY), "initial_value": "1",
        }))
        blocks.append(_input("format", "How?", _select("value", FORMATS, initial="any")))
    return {
        "type": "modal",
        "callback_id": f"{kind}_modal",
        "title": plain("Post a need" if kind == "need" else "Offer something"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"channel": channel_id}),
        "blocks": blocks,
    }


def forget_me_reply() -> dict:
    return reply(
        "Forget me?",
        [
            section("This removes your Slack ID from Collab: your membership, your name on posts, pairings and "
                    "feedback. Your school's posts stay (without your name) so colleagues can carry on."),
            actions(button("Yes, forget me", "forget_me_confirm", "yes", style="danger")),
        ],
    )


STATE_WORDS = {
    "approved": "approved, introduction on its way",
    "introduced": "introduced",
    "connected": "connected",
    "declined": "didn't go ahead",
    "completed": "completed, thank you",
}


def matches_reply(school, pairings) -> dict:
    blocks = [section(f"*{escape(school.name)}*: your pairings")]
    if not pairings:
        blocks.append(section("No pairings yet. Leads review new pairings every week; "
                              "`/collab list` shows what your school has posted."))
    for item in pairings[:20]:
        if item.role == "receiving":
            line = f":handshake: *{escape(item.partner.name)}* is helping with:\n{quote(item.need.text)}"
        else:
            line = f":handshake: You're helping *{escape(item.partner.name)}* with:\n{quote(item.need.text)}"
        blocks.append(section(f"{line}\n_{STATE_WORDS.get(item.pairing.state, item.pairing.state)}_"))
    return reply(f"{school.name}: pairings", blocks)
