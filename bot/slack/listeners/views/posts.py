"""Modal submissions. A bad field keeps the modal open with the problem beside it: nothing typed is lost."""
from __future__ import annotations

import json
import re

from bot.messages import posts as views
from bot.services import posts
from bot.domain.posts import whole_number
from bot.domain.errors import CollabError, InvalidInput
from models import School

# A Slack conversation id: C (channel), G (private channel or group), D (direct message), then 8 to 31 more.
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{8,31}")


def register(app) -> None:
    app.view("need_modal")(submit_post("need"))
    app.view("offer_modal")(submit_post("offer"))


def field(view, block_id: str) -> str | None:
    """The value of one input, whatever its element type."""
    element = view["state"]["values"].get(block_id, {}).get("value", {})
    if element.get("selected_option"):
        return element["selected_option"]["value"]
    return element.get("value")


def _field_for(problem: str, kind: str) -> str:
    lowered = problem.lower()
    if "capacity" in lowered:
        return "capacity"
    if "theme" in lowered:
        return "theme"
    if "urgency" in lowered or "format" in lowered:
        return "urgency" if kind == "need" else "format"
    return "text"


def reply_channel(view) -> str | None:
    """Where the form was opened from (its private_metadata), read before anything is saved: a form
    whose metadata is not what Collab wrote gets its answer by DM instead of failing after the save."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    channel = metadata.get("channel") if isinstance(metadata, dict) else None
    return channel if isinstance(channel, str) and CHANNEL_ID.fullmatch(channel) else None


def submit_post(kind: str):
    def handle(ack, body, view, context, client) -> None:
        user_id, team_id = body["user"]["id"], body["team"]["id"]
        channel = reply_channel(view)  # everything is checked before the one transaction that saves
        text = field(view, "text") or ""
        theme = field(view, "theme")
        try:
            with context["deps"].unit(team_id) as (session, workspace):
                if kind == "need":
                    post = posts.post_need(session, workspace, user_id, text, theme, field(view, "urgency") or "normal")
                else:
                    raw = field(view, "capacity") or "1"
                    capacity = whole_number(raw)
                    if capacity is None:
                        raise InvalidInput("Capacity per term must be a whole number.")
                    post = posts.post_offer(session, workspace, user_id, text, theme, capacity, field(view, "format") or "any")
                school = session.get(School, post.school_id)  # loaded by the membership check
        except CollabError as problem:
            ack(response_action="errors", errors={_field_for(str(problem), kind): str(problem)[:150]})
            return
        ack()
        message = views.posted_reply(kind, post, school)
        message.pop("response_type")
        if channel:
            context["deps"].after_ack(client.chat_postEphemeral, channel=channel, user=user_id, **message)
        else:
            context["deps"].after_ack(client.chat_postMessage, channel=user_id, **message)

    handle.__name__ = f"submit_{kind}"
    return handle
