"""Sub-commands for everyone: join, need, offer, list, matches, pause, resume, forget-me (help: table.py)."""
from __future__ import annotations

from bot.messages import posts as views
from bot.slack.listeners.invocation import Invocation
from bot.services import members, posts
from bot.domain.errors import InvalidInput
from bot.domain.posts import whole_number
from bot.services.matches import school_pairings
from models import School

MAX_CHOICES = 8


def join(inv: Invocation) -> None:
    with inv.unit() as (session, workspace):
        found = members.find_schools(session, inv.args, limit=MAX_CHOICES + 1)
        if not found:
            raise InvalidInput(f"No open school matches “{inv.args}”. Try the URN (it's on Get Information about Schools).")
        if len(found) > 1:
            inv.ack(**views.choose_school_reply(found[:MAX_CHOICES], more=len(found) > MAX_CHOICES))
            return
        before = members.get_member(session, workspace, inv.user_id)
        moved = bool(before and before.school_id and before.school_id != found[0].id)
        _, school = members.join(session, workspace, inv.user_id, found[0].urn)
    inv.ack(**views.joined_reply(school, moved))


def _post(kind: str):
    def handle(inv: Invocation) -> None:
        with inv.unit() as (session, workspace):
            if inv.args:
                save = posts.post_need if kind == "need" else posts.post_offer
                post = save(session, workspace, inv.user_id, inv.args)  # checks membership itself
                school = session.get(School, post.school_id)  # already loaded: no second query
            else:
                members.require_school(session, workspace, inv.user_id)
        if inv.args:
            inv.ack(**views.posted_reply(kind, post, school))
            return
        inv.ack()  # Slack wants the acknowledgement before the form opens
        inv.deps.after_ack(inv.client.views_open, trigger_id=inv.trigger_id, view=views.post_modal(kind, inv.channel_id))

    return handle


def list_(inv: Invocation) -> None:
    with inv.unit() as (session, workspace):
        inv.ack(**views.list_reply(posts.list_posts(session, workspace, inv.user_id)))


def matches(inv: Invocation) -> None:
    with inv.unit() as (session, workspace):
        inv.ack(**views.matches_reply(school_pairings(session, workspace, inv.user_id)))


def pause(inv: Invocation) -> None:
    words = inv.args.lower().split()
    if words and words[-1] in ("week", "weeks"):
        words = words[:-1]
    weeks = whole_number(words[0]) if len(words) == 1 else None
    if len(words) > 1 or (words and weeks is None):
        raise InvalidInput("Say how many weeks as a number, e.g. `/collab pause 2`, or just `/collab pause`.")
    with inv.unit() as (session, workspace):
        until = members.pause(session, workspace, inv.user_id, weeks)
    zone = inv.deps.settings.zone
    when = "until you type `/collab resume`" if weeks is None else f"until {until.astimezone(zone):%A %-d %B}"
    inv.ack(**views.reply(f":zzz: Paused: no digests or nudges to you {when}."))


def resume(inv: Invocation) -> None:
    with inv.unit() as (session, workspace):
        was_paused = members.resume(session, workspace, inv.user_id)
    text = ":wave: Welcome back: digests and nudges are on again." if was_paused else "You weren't paused: nothing to change."
    inv.ack(**views.reply(text))


def forget_me(inv: Invocation) -> None:
    inv.ack(**views.forget_me_reply())


need = _post("need")
offer = _post("offer")
