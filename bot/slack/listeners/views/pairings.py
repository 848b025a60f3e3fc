"""Modal submissions of the pairing lifecycle: a lead's reason for rejecting, and a school's feedback."""
from __future__ import annotations

import json
import logging

from bot.messages import pairings as views
from bot.slack.listeners.views.posts import field
from bot.delivery import pairings as pairing_delivery
from bot.services import pairings
from bot.domain.posts import whole_number
from bot.domain.errors import CollabError
from models import utcnow

log = logging.getLogger(__name__)


def register(app) -> None:
    app.view("reject_modal")(reject_modal)
    app.view("feedback_modal")(feedback_modal)


def _pairing_id(view) -> int | None:
    try:
        return int(json.loads(view.get("private_metadata") or "{}").get("pairing_id"))
    except (TypeError, ValueError):
        return None


def reject_modal(ack, body, view, context, client) -> None:
    deps = context["deps"]
    pairing_id = _pairing_id(view)
    if pairing_id is None:
        ack(response_action="errors", errors={"reason": "This form is out of date: close it and press Reject again."})
        return
    try:
        with deps.unit(body["team"]["id"]) as (session, workspace):
            pairings.reject(session, workspace, pairing_id, body["user"]["id"], utcnow(), field(view, "reason"),
                            leads=deps.settings.leads)
    except pairings.WrongState as late:
        ack(response_action="errors", errors={"reason": views.wrong_state_text(late, deps.settings.zone)[:150]})
        return
    except CollabError as problem:
        ack(response_action="errors", errors={"reason": str(problem)[:150]})
        return
    ack()
    deps.after_ack(pairing_delivery.update_review_card, deps.engine, deps.messenger(client), workspace, pairing_id, deps.settings)


def feedback_modal(ack, body, view, context) -> None:
    deps = context["deps"]
    pairing_id = _pairing_id(view)
    raw = field(view, "impact") or ""
    if pairing_id is None:
        ack(response_action="errors", errors={"impact": "This form is out of date: close it and press the button again."})
        return
    impact = whole_number(raw)
    if impact is None:
        ack(response_action="errors", errors={"impact": "Please choose how much difference it made."})
        return
    try:
        with deps.unit(body["team"]["id"]) as (session, workspace):
            pairings.record_feedback(session, workspace, pairing_id, body["user"]["id"], impact,
                                     field(view, "what_changed") or "", field(view, "comment") or "", utcnow())
    except pairings.WrongState as late:
        ack(response_action="errors", errors={"impact": views.feedback_late_text(late.state)[:150]})
        return
    except CollabError as problem:
        ack(response_action="errors", errors={"impact": str(problem)[:150]})
        return
    ack(response_action="update", view=views.feedback_thanks_view())
