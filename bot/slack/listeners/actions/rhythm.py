"""Buttons on the scheduled messages: "Offer something" on the reciprocity invitation, and
"Yes, keep it" / "Close it" on the "still needed?" prompt. Each is safe to click twice; a problem is
raised and answered by bot/slack/listeners/problems.py."""
from __future__ import annotations

from bot.messages import digests as words
from bot.messages import posts as views
from bot.slack.listeners.later import ack_first
from bot.services import expiry, posts
from bot.domain.posts import whole_number
from bot.domain.errors import CollabError


def register(app) -> None:
    app.action("offer_something")(ack_first(offer_something))
    app.action("renew_keep")(ack_first(renew_keep))
    app.action("renew_close")(ack_first(renew_close))


def offer_something(body, context, client, respond) -> None:
    """Open the ordinary offer form: the invitation leads to the same place as `/collab offer`."""
    client.views_open(trigger_id=body["trigger_id"], view=views.post_modal("offer"))


def _kind_and_id(body) -> tuple[str, int]:
    value = body["actions"][0].get("value") or ""
    kind, _, raw = value.partition(":")
    post_id = whole_number(raw)
    if kind not in posts.KINDS or post_id is None:
        raise CollabError("That button is out of date. Type `/collab list` to see your school's posts.")
    return kind, post_id


def renew_keep(body, context, client, respond) -> None:
    kind, post_id = _kind_and_id(body)
    with context["deps"].unit(body["team"]["id"]) as (session, workspace):
        post = expiry.renew(session, workspace, body["user"]["id"], kind, post_id)
    respond(replace_original=True, **words.renewed_reply(kind, post))


def renew_close(body, context, client, respond) -> None:
    kind, post_id = _kind_and_id(body)
    with context["deps"].unit(body["team"]["id"]) as (session, workspace):
        post = expiry.close(session, workspace, body["user"]["id"], kind, post_id)
    respond(replace_original=True, **words.closed_reply(kind, post))
