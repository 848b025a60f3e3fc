"""Messages and modals of the pairing lifecycle: review cards, introductions, follow-ups, feedback.

Every piece of text a person typed (needs, offers, reasons, school names) goes through
``escape``. How likely a pairing is to fit is shown to leads only ("likely fit: 8 in 10"), never to staff.
"""
from __future__ import annotations

import json

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.pairings import IMPACTS, State
from bot.domain.time import aware
from bot.domain.people import FORGOTTEN
from bot.messages.common import actions, button, context, escape, option, plain, plural, quote, reply, section, theme_label
from bot.messages.reasons import because

FIRST_STEP = "a 20-minute call this week: reply here with two times that suit you"


PAST_TENSE = {
    "proposed": "proposed", "approved": "approved", "rejected": "rejected", "introduced": "introduced",
    "connected": "marked as connected", "declined": "marked as not going ahead", "completed": "completed",
}


def fit(pairing) -> str:
    """What the match strength means, in words a lead reads at a glance: "likely fit: 8 in 10"."""
    from matching import likely_fit

    if pairing.probability is None:
        return f"match strength {pairing.score:.2f}"
    return likely_fit(pairing.probability)


def when(moment: datetime | None, zone: ZoneInfo | str = "Europe/London") -> str:
    """`Mon 08:12` in the network's time zone."""
    if moment is None:
        return ""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return aware(moment).astimezone(zone).strftime("%a %H:%M")


def wrong_state_text(late, zone: ZoneInfo | str = "Europe/London") -> str:
    """What a late click is told: who got there first and when (``late`` is a services.pairings.WrongState)."""
    if late.decision:
        by = "a lead" if late.by == FORGOTTEN else f"<@{late.by}>"
        return f"Already {late.decision} by {by} at {when(late.at, zone)}: nothing changed."
    done = PAST_TENSE.get(late.state, late.state)
    return f"This pairing is already {done} ({when(late.at, zone)}): nothing changed."


def one_line(text: str | None, limit: int = 600) -> str:
    """User text flattened onto one line (so *bold* survives), escaped, and shortened only if huge."""
    flat = " ".join((text or "").split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return escape(flat)


def _why(view, for_leads: bool = True) -> str:
    """"Why: …" in the words of the people who posted; the free-school-meals part is for leads only."""
    said = because(view.pairing.reason, view.need.text, view.offer.text, for_leads=for_leads)
    return f"Why: {said}." if said else ""


def summary_line(view) -> str:
    """`Colgate Primary School needs: *…* → Hinchley Wood School offers: *…*. Why: …`"""
    return (
        f"*{escape(view.need_school.name)}* needs: *{one_line(view.need.text)}*\n"
        f"→ *{escape(view.offer_school.name)}* offers: *{one_line(view.offer.text)}*"
    )


def decision_buttons(pairing_id: int) -> dict:
    value = str(pairing_id)
    return actions(
        button("Approve", "pairing_approve", value, style="primary"),
        button("Reject", "pairing_reject", value, style="danger"),
        block_id=f"review_{pairing_id}",
    )


def review_card(view) -> tuple[str, list[dict]]:
    """The card leads see in the review channel."""
    p = view.pairing
    text = f"New pairing to review: {view.need_school.name} needs help; {view.offer_school.name} can offer it."
    blocks = [
        section(summary_line(view) + (f"\n{_why(view)}" if p.reason else "")),
        context(f"{fit(p)} · for leads only · pairing {p.id}"),
        decision_buttons(p.id),
    ]
    return text, blocks


def decided_card(view, zone) -> tuple[str, list[dict]]:
    """The same card after a decision: no buttons, who decided and when."""
    p = view.pairing
    by = f"<@{p.decided_by}>" if p.decided_by and p.decided_by != FORGOTTEN else "a lead"
    if p.state == State.REJECTED:
        outcome = f":x: Rejected by {by}, {when(p.decided_at, zone)}"
        if p.reject_reason:
            outcome += f": {one_line(p.reject_reason, 500)}"
    else:
        outcome = f":white_check_mark: Approved by {by}, {when(p.decided_at, zone)}"
    blocks = [
        section(summary_line(view) + (f"\n{_why(view)}" if p.reason else "")),
        context(f"{fit(p)} · for leads only · pairing {p.id}"),
        section(outcome),
    ]
    return outcome.split(" ", 1)[1], blocks


def pending_blocks(views, total: int | None = None) -> list[dict]:
    """Pending proposals with their buttons, for `/collab review` and App Home."""
    if not views:
        return [section("*Pairings to review*\nNothing waiting. `/collab round` runs a matching round now.")]
    blocks = [section(f"*Pairings to review* ({total if total is not None else len(views)})")]
    for view in views:
        blocks.append(section(summary_line(view) + (f"\n{_why(view)}" if view.pairing.reason else "")))
        blocks.append(context(f"{fit(view.pairing)} · pairing {view.pairing.id}"))
        blocks.append(decision_buttons(view.pairing.id))
    if total is not None and total > len(views):
        blocks.append(context(f"…and {total - len(views)} more in the review channel."))
    return blocks[:50]


def review_reply(views, total: int) -> dict:
    return reply(f"{plural(total, 'pairing')} to review", pending_blocks(views, total))


# Why a round left a need, as a lead reads it after "N needs left:" (matching.unmatched.REASONS).
LEFT_BECAUSE = {
    "no_offer_on_theme": "no school offers help on their theme yet",
    "too_unlikely": "the closest offers are unlikely fits",
    "offers_taken": "the offers likely to fit went to other needs this round",
}


def left_line(left: dict[str, int] | None, themes=()) -> str:
    """`4 needs left: 2 because no school offers help on their theme yet (SEND and inclusion), …`."""
    left = {reason: n for reason, n in (left or {}).items() if n}
    if not left:
        return ""
    parts = []
    for reason, n in sorted(left.items(), key=lambda item: -item[1]):
        part = f"{n} because {LEFT_BECAUSE.get(reason, reason)}"
        if reason == "no_offer_on_theme" and themes:
            part += f" ({', '.join(theme_label(t) for t in themes[:3])}{', …' if len(themes) > 3 else ''})"
        parts.append(part)
    return f"{plural(sum(left.values()), 'need')} left: " + "; ".join(parts) + "."


def round_summary(match_round, posted: int, failed: int = 0, channel: str | None = None,
                  left: dict[str, int] | None = None, themes=()) -> str:
    considered = (f"{plural(match_round.needs_considered, 'open need')} and "
                  f"{plural(match_round.offers_considered, 'offer')} with room")
    why = left_line(left, themes)
    if not match_round.proposals:
        return f"Matching round done: {considered}, but no new pairings this time." + (f" {why}" if why else "")
    where = f" in <#{channel}>" if channel else ""
    text = (f"Matching round done: {plural(match_round.proposals, 'new pairing')} from {considered}. "
            f"{plural(posted, 'review card')} posted{where}.")
    if failed:
        text += (f" {plural(failed, 'card')} could not be posted: check the bot is in the review channel.")
    return text + (f" {why}" if why else "")


def reject_modal(view, channel: str = "", ts: str = "") -> dict:
    return {
        "type": "modal",
        "callback_id": "reject_modal",
        "title": plain("Reject pairing"),
        "submit": plain("Reject"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"pairing_id": view.pairing.id, "channel": channel, "ts": ts}),
        "blocks": [
            section(summary_line(view)),
            {
                "type": "input", "block_id": "reason", "optional": True,
                "label": plain("Why not? (optional, only leads see this)"),
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 500,
                            "placeholder": plain("e.g. these two schools are already working together")},
            },
        ],
    }


def _names(user_ids) -> str:
    people = [f"<@{u}>" for u in user_ids]
    if len(people) <= 1:
        return "".join(people)
    return ", ".join(people[:-1]) + " and " + people[-1]


def introduction(view, taker_ids, giver_ids, lead_id: str | None) -> tuple[str, list[dict]]:
    """The group DM that puts two schools in touch."""
    p = view.pairing
    text = f"Introducing {view.need_school.name} and {view.offer_school.name}"
    blocks = [
        section(f":wave: Hello! Meet each other: *{escape(view.need_school.name)}* and "
                f"*{escape(view.offer_school.name)}*."),
        section(f"{_names(taker_ids)} from *{escape(view.need_school.name)}* asked for help with:\n"
                f"{quote(view.need.text)}"),
        section(f"{_names(giver_ids)} from *{escape(view.offer_school.name)}* offered:\n{quote(view.offer.text)}"),
    ]
    said = because(p.reason, view.need.text, view.offer.text, for_leads=False)  # both schools read this
    if said:
        blocks.append(section(f"*Why we thought of you both:* {said}."))
    blocks.append(section(f"*A first step:* {FIRST_STEP}."))
    if lead_id:
        blocks.append(context(f"<@{lead_id}> approved this pairing and is here if you need anything. "
                              "I'll check in next week to see how it's going."))
    return text, blocks


def no_contact_text(view, missing_schools) -> str:
    names = " and ".join(escape(s.name) for s in missing_schools)
    return (f"I couldn't introduce *{escape(view.need_school.name)}* and *{escape(view.offer_school.name)}*: "
            f"nobody from {names} is on Collab any more. Could you put them in touch another way?")


def intro_failed_text(view, error: str | None) -> str:
    return (f"The introduction of *{escape(view.need_school.name)}* and *{escape(view.offer_school.name)}* "
            f"couldn't be sent ({escape(error or 'Slack said no')}). I'll keep the pairing approved; "
            "press Approve again to retry.")


def followup(pairing_id: int, round_no: int, other_school) -> tuple[str, list[dict]]:
    question = f"Have you connected with {other_school.name}?"
    value = f"{pairing_id}:{round_no}"
    blocks = [
        section(f":wave: Have you connected with *{escape(other_school.name)}*?"),
        actions(
            # Slack refuses a block whose buttons share an action_id (invalid_blocks): one each.
            button("Yes", "followup_yes", f"{value}:yes", style="primary"),
            button("Not yet", "followup_not_yet", f"{value}:not_yet"),
            button("It didn't happen", "followup_no", f"{value}:no"),
            block_id=f"followup_{pairing_id}",
        ),
    ]
    return question, blocks


FOLLOWUP_THANKS = {
    "connected": ":tada: Wonderful, thank you. In a few weeks I'll ask what difference it made.",
    "introduced": "No problem: I'll check in again next week.",
    "declined": "Thanks for letting us know. That's fine: it frees the offer to help another school, "
                "and your need can be paired again.",
}


def followup_thanks(state: str) -> str:
    return FOLLOWUP_THANKS.get(state, "Thank you.")


# A second answer, usually from the other school after the first has answered: thanks, never "nothing changed".
FOLLOWUP_LATE = {
    ("connected", "yes"): ":tada: Thank you! We'd already heard you've connected, so you're all set. "
                          "In a few weeks I'll ask what difference it made.",
    ("connected", "no"): "Thank you. We'd already heard that you'd connected; if it didn't happen after all, "
                         "please let your network lead know.",
    ("connected", "not_yet"): "Thank you. We'd already heard that you'd connected, so I won't ask again.",
    ("declined", "no"): "Thanks for letting us know: we'd already heard. The need can be paired again and the "
                        "offer's place is free for another school.",
    ("declined", "yes"): "Thank you. We'd heard it didn't happen; if you have connected after all, wonderful: "
                         "please let your network lead know so they can record it.",
    ("declined", "not_yet"): "Thank you. We'd heard it didn't happen, so the need can be paired again.",
    ("completed", ""): ":pray: Thank you: this pairing is already complete, with feedback from both schools.",
}


def followup_late_text(state: str, answer: str) -> str:
    return FOLLOWUP_LATE.get((state, answer)) or FOLLOWUP_LATE.get((state, "")) or \
        "Thank you: we already have an answer for this pairing, so there's nothing more to do."


def feedback_late_text(state: str) -> str:
    """Feedback asked for on a pairing that is not (or no longer) waiting for it."""
    if state == "completed":
        return FOLLOWUP_LATE[("completed", "")]
    return "Thank you. Feedback opens once the two schools have connected: I'll ask you then."


def feedback_request(pairing_id: int, other_school) -> tuple[str, list[dict]]:
    text = f"How did working with {other_school.name} go?"
    blocks = [
        section(f":seedling: How did working with *{escape(other_school.name)}* go? "
                "Two minutes of feedback helps the network see what works."),
        actions(button("Give feedback", "feedback_open", str(pairing_id), style="primary"),
                block_id=f"feedback_{pairing_id}"),
    ]
    return text, blocks


def feedback_modal(pairing_id: int, other_school, channel: str = "", ts: str = "") -> dict:
    return {
        "type": "modal",
        "callback_id": "feedback_modal",
        "title": plain("How did it go?"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"pairing_id": pairing_id, "channel": channel, "ts": ts}),
        "blocks": [
            section(f"Working with *{escape(other_school.name)}*"),
            {
                "type": "input", "block_id": "impact", "label": plain("What difference did it make?"),
                "element": {"type": "radio_buttons", "action_id": "value",
                            "options": [option(label, str(n)) for n, label in IMPACTS.items()]},
            },
            {
                "type": "input", "block_id": "what_changed", "optional": True,
                "label": plain("What changed?"),
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 2000,
                            "placeholder": plain("e.g. our Year 9 attendance is up three points")},
            },
            {
                "type": "input", "block_id": "comment", "optional": True,
                "label": plain("Anything else? (optional)"),
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 2000},
            },
        ],
    }


def feedback_thanks_view() -> dict:
    return {
        "type": "modal",
        "title": plain("Thank you"),
        "close": plain("Close"),
        "blocks": [section(":pray: Thank you. Your feedback helps the network see where help makes a difference.")],
    }


def declined_notice(view) -> tuple[str, list[dict]]:
    """To the lead who approved it: a pairing didn't go ahead (no blame, just what happens next)."""
    text = f"{view.need_school.name} and {view.offer_school.name} say their pairing didn't happen."
    return text, [section(
        f":information_source: *{escape(view.need_school.name)}* and *{escape(view.offer_school.name)}* "
        "say their pairing didn't happen. The need is open again and the offer's place is free for the next round."
    )]
