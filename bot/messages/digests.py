"""The words of the weekly digest, the reciprocity invitation and the "still needed?" prompt.

Warm, short, plain British English for busy school staff. No scores, no grades, no league
tables: a school only ever reads about itself, and the network only as a whole. All user text
(school names come from GIAS, needs and offers from people) is escaped.
"""
from __future__ import annotations

from bot.messages.common import (
    SCHOOL, actions, button, context, divider, escape, gap_line, header, plural, quote, section, theme_label, theme_words,
)

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten"}
MAX_LISTED = 8
SNIPPET = 160


def words(n: int) -> str:
    return NUMBER_WORDS.get(n, str(n))


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{words(n)} times")


def snippet(text: str, limit: int = SNIPPET) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ----------------------------------------------------------------------------- digest

def _event_line(event) -> str:
    partner = f"*{escape(event.partner.name)}*"
    about = f"_{escape(snippet(event.need.text, 120))}_"
    if event.what == "approved":
        return f":white_check_mark: A pairing with {partner} was approved: your introduction is on its way. ({about})"
    if event.what == "introduced":
        if event.role == "receiving":
            return f":handshake: You've been introduced to {partner}, who can help with {about}."
        return f":handshake: You've been introduced to {partner}, to help them with {about}."
    if event.what == "connected":
        return f":tada: You've connected with {partner} about {about}."
    return f":sparkles: Your work with {partner} on {about} is complete: thank you for the feedback."


WAITING_WORDS = {
    "review": "a possible match is being looked at by your network lead",
    "no_offer": "no close offer yet: no school has offered help with {theme} so far",
    "full": "no close offer yet: the offers on {theme} are fully taken for now",
    "no_close_offer": "no close offer yet: we'll look again in the next round",
}


def _waiting_line(waiting) -> str:
    need = waiting.need
    reason = WAITING_WORDS[waiting.reason].format(theme=theme_words(need.theme))
    line = f"• _{escape(snippet(need.text))}_\n    {reason}"
    if not need.theme_chosen and waiting.reason != "review":
        # A guessed theme can be why nothing fits; a confirmed one is matched as given.
        line += f"\n    we filed it under {theme_label(need.theme)}: right? `/collab list` to confirm or change it"
    return line


def give_receive_line(given: int, received: int) -> str:
    if not given and not received:
        return "Your school hasn't given or received help through Collab yet this year: every need and offer helps."
    return f"This year your school has given {given} and received {received}. Thank you for taking part."


def network_line(schools: int) -> str:
    if schools == 0:
        return "No introductions across the network yet this half-term: the next round will look again."
    if schools == 1:
        return "Across the network, a school has been helped this half-term."
    return f"Across the network, {schools} schools helped each other this half-term."


def _network_blocks(network) -> list[dict]:
    blocks = [
        section("*The network* (for leads)\n"
                f"{plural(network.needs_waiting, 'need')} waiting · {network.in_progress} paired · "
                f"{network.connected} connected this year · {plural(network.offers_open, 'offer')} open"),
    ]
    if network.by_theme:
        lines = [
            f"• {theme_label(theme)}: {c.waiting} waiting, {c.in_progress} paired, {c.connected} connected"
            for theme, c in network.by_theme.items()
        ]
        blocks.append(section("\n".join(lines)))
    if network.gaps:
        blocks.append(section("*Where the network needs offers* (a school that could offer one of these would help most)\n"
                              + "\n".join(f"• {escape(gap_line(g))}" for g in network.gaps)))
    return blocks


def digest_message(facts, settings) -> tuple[str, list[dict]]:
    """(fallback text, blocks) for one person's weekly digest."""
    day = facts.week_of.astimezone(settings.zone)
    title = f"Your Collab week: {day.day} {day:%B}"
    blocks: list[dict] = [header(title)]
    summary = []
    if facts.school is not None:
        blocks.append(context(f"{SCHOOL} {escape(facts.school.name)}"))
        if facts.events:
            listed = facts.events[:MAX_LISTED]
            more = len(facts.events) - len(listed)
            text = "*New this week*\n" + "\n".join(_event_line(e) for e in listed)
            if more:
                text += f"\n…and {more} more: `/collab matches` shows them all."
            blocks.append(section(text))
            summary.append(f"{len(facts.events)} new this week")
        else:
            blocks.append(section("*New this week*\nNo new pairings for your school this week."))
        if facts.waiting:
            listed = facts.waiting[:MAX_LISTED]
            text = "*Still waiting*\n" + "\n".join(_waiting_line(w) for w in listed)
            if len(facts.waiting) > len(listed):
                text += f"\n…and {len(facts.waiting) - len(listed)} more: `/collab list` shows them all."
            blocks.append(section(text))
            summary.append(f"{len(facts.waiting)} {'need' if len(facts.waiting) == 1 else 'needs'} still waiting")
        line = give_receive_line(facts.given, facts.received)
        blocks.append(section(line))
        summary.append(line)
    blocks.append(section(network_line(facts.schools_helping)))
    if facts.network is not None:
        blocks.append(divider())
        blocks += _network_blocks(facts.network)
    blocks.append(context("`/collab pause` stops digests for a while; `/collab need` or `/collab offer` to post."))
    text = title + (": " + "; ".join(summary[:2]) if summary else "")
    return text, blocks


# ----------------------------------------------------------------------------- reciprocity

def reciprocity_message(received: int) -> tuple[str, list[dict]]:
    """The invitation to give: thanks first, never a mention of another school."""
    text = (f"Your school has had help {times(received)} this year — thank you for taking part. "
            "Is there something your school does well that another school could learn from?")
    blocks = [
        section(f":seedling: {text}"),
        actions(button("Offer something", "offer_something", "reciprocity", style="primary")),
        context("It can be small: a resource, a short call, a visit. `/collab pause` stops these nudges."),
    ]
    return text, blocks


# ----------------------------------------------------------------------------- expiry

def expiry_prompt(kind: str, post, weeks: int) -> tuple[str, list[dict]]:
    label = "need" if kind == "need" else "offer"
    question = "Is this still needed?" if kind == "need" else "Can your school still offer this?"
    text = f"{question} Your school's {label} has been up for {plural(weeks, 'week')}."
    value = f"{kind}:{post.id}"
    blocks = [
        section(f":hourglass: {question} Your school posted this {label} {plural(weeks, 'week')} ago:\n{quote(post.text)}"),
        actions(
            button("Yes, keep it", "renew_keep", value, style="primary"),
            button("Close it", "renew_close", value),
            block_id=f"renew_{kind}_{post.id}",
        ),
        context("If we don't hear back in two weeks we'll close it for you; you can always post it again."),
    ]
    return text, blocks


def _answered(kind: str, post, short: str, long: str) -> dict:
    label = "need" if kind == "need" else "offer"
    return {
        "text": short.format(label=label),
        "blocks": [section(f":white_check_mark: {long.format(label=label)}\n{quote(post.text)}")],
    }


def renewed_reply(kind: str, post) -> dict:
    return _answered(kind, post, "Kept: your {label} stays open.",
                     "Kept: your school's {label} stays open, and we'll ask again in a few months.")


def closed_reply(kind: str, post) -> dict:
    return _answered(kind, post, "Closed: your {label} won't be matched any more.",
                     "Closed: your school's {label} won't be matched any more. Thank you for keeping Collab up to date.")
