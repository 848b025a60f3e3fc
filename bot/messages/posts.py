"""Messages and modals for joining, posting needs and offers, and listing them."""
from __future__ import annotations

import json

from bot.messages.common import (
    SCHOOL, actions, button, context, divider, escape, option, plain, plural, quote, reply, section, theme_label,
)
from bot.domain.pairings import State
from bot.domain.posts import FORMATS, MAX_CAPACITY, MAX_POST_CHARS, URGENCIES
from matching.themes import THEMES

def problem_reply(problem: str, typed: str | None = None, usage: str | None = None) -> dict:
    """Say what was wrong; give back what they typed so nothing is lost."""
    blocks = [section(f":warning: {escape(problem)}")]
    text = escape(problem)  # the fallback text too: a problem can quote what was typed
    if typed:
        echo = "You typed:\n" + quote(typed)
        blocks.append(section(echo))
        # Blocks cap at 3,000 characters; the fallback text carries up to 40,000, so long posts survive there.
        text = f"{escape(problem)}\nYou typed:\n{escape(typed)}"
    if usage:
        blocks.append(section(usage))
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
        [section(f"{SCHOOL} {verb} {school_line(school)}.\nNext: `/collab need …` or `/collab offer …`.")],
    )


def theme_select(kind: str, post_id: int, current: str, action_id: str = "post_theme", page: str = "") -> dict:
    """The "Change theme" menu; each option's value is `need:12:attendance` (with the list page
    it is on, `need:12:10:attendance`, under `/collab list` and App Home)."""
    prefix = f"{kind}:{post_id}:{page + ':' if page else ''}"
    return {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain("Change theme"),
        "initial_option": option(theme_label(current), prefix + current),
        "options": [option(theme_label(t), prefix + t) for t in THEMES],
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
            *theme_blocks(kind, post),
        ],
    )


def theme_blocks(kind: str, post) -> list[dict]:
    """The post's theme, and a way to settle it. A suggestion asks "is that right?": a theme
    a person confirms is matched as given, which is what makes pairings likely to be right."""
    label = theme_label(post.theme)
    if post.theme_chosen:
        return [section(f"Theme: *{label}* (chosen by your school). Change it:", theme_select(kind, post.id, post.theme))]
    return [
        section(f"We think this is about *{label}*. Is that right? Saying so helps us find the right school."),
        actions(
            button("Yes, that's right", "post_theme_ok", f"{kind}:{post.id}:{post.theme}", style="primary"),
            theme_select(kind, post.id, post.theme),
            block_id=f"theme_{kind}_{post.id}",
        ),
    ]


def post_rows(kind: str, post, start: int = 0) -> list[dict]:
    """One post with its Pause / Resume and Close buttons (the same in `/collab list` and App Home).

    The buttons carry the page they were on (`need:12:10`), so the answer shows that page again.
    A suggested theme can be confirmed or changed here too, any time after posting.
    """
    paused = post.status == "paused"
    label = "Need" if kind == "need" else "Offer"
    extra = f" · {post.capacity_per_term} per term" if kind == "offer" else ""
    status = " · _paused_" if paused else ""
    suggested = "" if post.theme_chosen else " _(suggested)_"
    value = f"{kind}:{post.id}:{start}"
    return [
        section(f"*{label}* · {theme_label(post.theme)}{suggested}{extra}{status}\n{quote(post.text)}"),
        actions(
            button("Resume" if paused else "Pause", "post_resume" if paused else "post_pause", value),
            button("Close", "post_close", value, style="danger",
                   confirm=confirm("Close this post?", "It won't be matched any more. You can always post it again.",
                                   "Close it")),
            *([] if post.theme_chosen else [button("Theme is right", "list_theme_ok", f"{value}:{post.theme}")]),
            theme_select(kind, post.id, post.theme, "list_theme", str(start)),
            block_id=f"post_{kind}_{post.id}",
        ),
    ]


def confirm(title: str, text: str, yes: str, no: str = "Keep it") -> dict:
    return {"title": plain(title, 100), "text": plain(text, 300), "confirm": plain(yes, 30), "deny": plain(no, 30)}


def _pager(shown_from: int, shown: int, total: int, next_start: int | None, next_id: str, first_id: str,
           noun: str) -> list[dict]:
    """"Showing 11–20 of 30 needs and offers" and the buttons to go on, when there is more than a page."""
    if total <= shown and shown_from == 0:
        return []
    blocks = [context(f"Showing {shown_from + 1}–{shown_from + shown} of {total} {noun}.")]
    buttons = []
    if next_start is not None:
        left = total - next_start
        buttons.append(button(f"Show more ({left} more)", next_id, str(next_start), style="primary"))
    if shown_from > 0:
        buttons.append(button("Back to the start", first_id, "0"))
    if buttons:
        blocks.append(actions(*buttons, block_id=f"{next_id}_{shown_from}"))
    return blocks


def listing_blocks(posts) -> list[dict]:
    """A page of the school's needs then offers, each with its buttons (shared by `list` and App Home)."""
    blocks = []
    if not posts.total:
        blocks.append(section("Nothing yet. Try `/collab need …` or `/collab offer …`."))
    for need in posts.needs:
        blocks += post_rows("need", need, posts.start)
    if posts.needs and posts.offers:
        blocks.append(divider())
    for offer in posts.offers:
        blocks += post_rows("offer", offer, posts.start)
    return blocks


def list_reply(posts) -> dict:
    counts = f"{plural(posts.needs_total, 'need')} and {plural(posts.offers_total, 'offer')} open or paused"
    blocks = [section(f"*{escape(posts.school.name)}*: what your school has asked for and offered ({counts})")]
    blocks += listing_blocks(posts)
    blocks += _pager(posts.start, len(posts.needs) + len(posts.offers), posts.total, posts.next_start,
                     "list_more", "list_first", "needs and offers")
    return reply(f"{posts.school.name}: {counts}", blocks)


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


THEME_OPTIONS = {t: theme_label(t) for t in THEMES}


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


# What a school reads of one pairing, from its side: (receiving, giving) lead-in, then where it has got to.
PAIRING_WORDS = {
    State.APPROVED: ("*{partner}* will help with", "You'll be helping *{partner}* with",
                     "approved: the introduction is on its way"),
    State.INTRODUCED: ("*{partner}* is helping with", "You're helping *{partner}* with",
                       "introduced: have you been in touch yet?"),
    State.CONNECTED: ("*{partner}* is helping with", "You're helping *{partner}* with", "connected"),
    State.DECLINED: ("*{partner}* was paired with your need", "You were paired to help *{partner}* with",
                     "didn't go ahead, and that's fine: it can be paired again"),
    State.COMPLETED: ("*{partner}* helped with", "You helped *{partner}* with", "completed: thank you"),
}


def pairing_buttons(pairing) -> list[dict]:
    """What a school can do next about a pairing: the follow-up's answers, or the feedback form."""
    pid = pairing.id
    if pairing.state == State.INTRODUCED:
        return [actions(
            button("We've connected", "followup_yes", f"{pid}:0:yes", style="primary"),
            button("It didn't happen", "followup_no", f"{pid}:0:no",
                   confirm=confirm("It didn't happen?", "The need can be paired again and the offer's place is "
                                   "freed for another school.", "Yes, it didn't happen", "Cancel")),
            block_id=f"pairing_{pid}",
        )]
    if pairing.state == State.CONNECTED:
        return [actions(button("Give feedback", "feedback_open", str(pid), style="primary"),
                        block_id=f"pairing_{pid}")]
    return []


def pairing_rows(item) -> list[dict]:
    """One of the school's pairings, from its side, with its buttons (shared by `matches` and App Home)."""
    receiving, giving, where = PAIRING_WORDS.get(item.pairing.state, ("*{partner}*", "*{partner}*", item.pairing.state))
    lead_in = (receiving if item.role == "receiving" else giving).format(partner=escape(item.partner.name))
    return [section(f":handshake: {lead_in}:\n{quote(item.need.text)}\n_{where}_"), *pairing_buttons(item.pairing)]


def pairings_blocks(page) -> list[dict]:
    if not page.total:
        return [section("No pairings yet. Leads review new pairings every week; "
                        "`/collab list` shows what your school has posted.")]
    return [block for item in page.items for block in pairing_rows(item)]


def matches_reply(page) -> dict:
    blocks = [section(f"*{escape(page.school.name)}*: your {plural(page.total, 'pairing')}"
                      if page.total else f"*{escape(page.school.name)}*: your pairings")]
    blocks += pairings_blocks(page)
    blocks += _pager(page.start, len(page.items), page.total, page.next_start, "matches_more", "matches_first",
                     "pairings")
    return reply(f"{page.school.name}: {plural(page.total, 'pairing')}", blocks)
