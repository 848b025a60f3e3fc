"""Buttons of the pairing lifecycle: Approve / Reject on review cards, follow-up answers, feedback.

Each acknowledges first; the service calls and Slack calls run after the acknowledgement has gone
(bot/slack/listeners/later.py), and a CollabError is answered by bot/slack/listeners/problems.py.
A click that arrives too late (already decided, already answered) changes nothing: a lead is
told who got there first, a school is thanked.
"""
from __future__ import annotations

import logging

from bot.messages import pairings as views
from bot.messages.common import escape
from bot.slack.listeners import problems
from bot.slack.listeners.later import ack_first
from bot.delivery import followups as followup_delivery
from bot.delivery import pairings as pairing_delivery
from bot.services import pairings
from bot.domain.posts import whole_number
from bot.domain.errors import CollabError, NotALead
from bot.services.workspaces import is_lead
from models import utcnow

log = logging.getLogger(__name__)
FOLLOWUP_ACTIONS = ("followup_yes", "followup_not_yet", "followup_no", "followup_answer")


def register(app) -> None:
    app.action("pairing_approve")(ack_first(pairing_approve))
    app.action("pairing_reject")(ack_first(pairing_reject))
    # One action_id per answer (Slack wants them unique in a block); `followup_answer` is what
    # follow-ups sent before that change carry, and they still sit in people's DMs.
    for action_id in FOLLOWUP_ACTIONS:
        app.action(action_id)(ack_first(followup_answer))
    app.action("feedback_open")(ack_first(feedback_open))


def _value(body) -> str:
    return body["actions"][0].get("value") or ""


def _pairing_id(value: str) -> int:
    head = whole_number(value.split(":")[0])
    if head is None:
        raise CollabError("That button is out of date. `/collab review` shows what is waiting.")
    return head


def tell(body, client, respond, text: str) -> None:
    """A private note to whoever clicked: on the message they clicked, or by DM from App Home or a modal."""
    problems.tell(body, respond, client, {"text": text, "response_type": "ephemeral"})


def _refresh_home(body, context, client) -> None:
    if body.get("view", {}).get("type") == "home":
        from bot.slack.listeners.home import publish_home

        try:
            publish_home(context, client, body["user"]["id"])
        except Exception:
            log.warning("could not refresh App Home")


def pairing_approve(body, context, client, respond) -> None:
    deps = context["deps"]
    user_id, team_id = body["user"]["id"], body["team"]["id"]
    messenger = deps.messenger(client)
    try:
        pairing_id = _pairing_id(_value(body))
        with deps.unit(team_id) as (session, workspace):
            pairings.approve(session, workspace, pairing_id, user_id, utcnow(), leads=deps.settings.leads)
    except pairings.WrongState as late:
        tell(body, client, respond, views.wrong_state_text(late, deps.settings.zone))
        if late.state != "approved":
            return
        # Approved but perhaps not introduced (a crash, or the other click is still sending): finish the job.
        # The failed unit of work rolled back and expired its objects, so read the workspace afresh.
        with deps.unit(team_id) as (_, workspace):
            pass
        _introduce(deps, messenger, workspace, pairing_id, body, client, respond, quiet=True)
        return
    pairing_delivery.update_review_card(deps.engine, messenger, workspace, pairing_id, deps.settings)
    _introduce(deps, messenger, workspace, pairing_id, body, client, respond)
    _refresh_home(body, context, client)


def _introduce(deps, messenger, workspace, pairing_id, body, client, respond, quiet: bool = False) -> None:
    try:
        result = pairing_delivery.introduce(deps.engine, messenger, workspace, pairing_id, deps.settings)
    except CollabError as problem:
        if not quiet:
            tell(body, client, respond, str(problem))
        return
    if result.status == "sent" and not quiet:
        if body.get("container", {}).get("is_ephemeral"):
            tell(body, client, respond, ":white_check_mark: Approved: the introduction is on its way.")
        return
    if result.status == "no_contact":
        tell(body, client, respond, ":warning: Approved, but I couldn't introduce them: nobody from "
             + " and ".join(escape(name) for name in result.missing) + " is on Collab any more. I've sent you the details.")
    elif result.status in ("failed", "retry_later"):
        with deps.unit(body["team"]["id"]) as (session, ws):
            view = pairings.load_view(session, ws, pairing_id)
            text = views.intro_failed_text(view, result.error)
        tell(body, client, respond, ":warning: " + text)


def pairing_reject(body, context, client, respond) -> None:
    deps = context["deps"]
    user_id, team_id = body["user"]["id"], body["team"]["id"]
    try:
        pairing_id = _pairing_id(_value(body))
        with deps.unit(team_id) as (session, workspace):
            if not is_lead(session, workspace, user_id, deps.settings.leads):
                raise NotALead()
            view = pairings.load_view(session, workspace, pairing_id)
            if view.pairing.state != "proposed":
                raise pairings.WrongState(view.pairing, "rejected")
            modal = views.reject_modal(view, body.get("channel", {}).get("id", ""),
                                       body.get("container", {}).get("message_ts", ""))
    except pairings.WrongState as late:
        tell(body, client, respond, views.wrong_state_text(late, deps.settings.zone))
        return
    client.views_open(trigger_id=body["trigger_id"], view=modal)


def followup_answer(body, context, client, respond) -> None:
    deps = context["deps"]
    value = _value(body)
    answer = value.rsplit(":", 1)[-1]
    try:
        pairing_id = _pairing_id(value)
        with deps.unit(body["team"]["id"]) as (session, workspace):
            pairing = pairings.record_followup_answer(session, workspace, pairing_id, body["user"]["id"], answer, utcnow())
    except pairings.WrongState as late:
        # Usually the other school answered first: thank them, and say what we already know.
        tell(body, client, respond, views.followup_late_text(late.state, answer))
        _refresh_home(body, context, client)
        return
    thanks = views.followup_thanks(pairing.state)
    try:
        if body.get("response_url"):
            # On the follow-up itself the buttons give way to the thanks; under `/collab matches` the list stays.
            in_a_listing = body["actions"][0].get("block_id", "").startswith("pairing_")
            respond(text=thanks, replace_original=not in_a_listing, response_type="ephemeral")
        else:
            client.chat_postMessage(channel=body["user"]["id"], text=thanks)
    except Exception:
        log.warning("could not thank them for their answer")
    _refresh_home(body, context, client)
    if pairing.state == "declined":
        followup_delivery.tell_lead_it_did_not_happen(deps.engine, deps.messenger(client), workspace, pairing_id)


def feedback_open(body, context, client, respond) -> None:
    deps = context["deps"]
    try:
        pairing_id = _pairing_id(_value(body))
        with deps.unit(body["team"]["id"]) as (session, workspace):
            view = pairings.load_view(session, workspace, pairing_id)
            side = pairings.side_of(session, workspace, view, body["user"]["id"])
            if view.pairing.state not in ("connected", "completed"):
                raise pairings.WrongState(view.pairing, "completed")
            modal = views.feedback_modal(pairing_id, view.other_school(side), body.get("channel", {}).get("id", ""),
                                         body.get("container", {}).get("message_ts", ""))
    except pairings.WrongState as late:
        tell(body, client, respond, views.feedback_late_text(late.state))
        return
    client.views_open(trigger_id=body["trigger_id"], view=modal)
