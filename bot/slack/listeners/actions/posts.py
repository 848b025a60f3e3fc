"""Buttons and menus on our messages: each one small, each safe to click twice.

A problem (not your school's post, an out-of-date button) is raised as a CollabError and
answered by bot/slack/listeners/problems.py.
"""
from __future__ import annotations

from bot.messages import posts as views
from bot.slack.listeners.later import ack_first
from bot.services import matches, members, posts
from bot.domain.posts import whole_number
from bot.domain.errors import CollabError
from models import School


def register(app) -> None:
    # Each answers by `respond` (a call to Slack's response_url), so all of it follows the ack.
    app.action("join_pick")(ack_first(join_pick))
    app.action("post_close")(ack_first(post_status("closed")))
    app.action("post_pause")(ack_first(post_status("paused")))
    app.action("post_resume")(ack_first(post_status("open")))
    app.action("post_theme")(ack_first(post_theme))  # "Change theme" menu
    app.action("post_theme_ok")(ack_first(post_theme))  # "Yes, that's right": the same move, same theme
    for action_id in ("list_theme", "list_theme_ok"):  # the same under `/collab list` and App Home
        app.action(action_id)(ack_first(list_theme))
    app.action("forget_me_confirm")(ack_first(forget_me_confirm))
    for action_id in ("list_more", "list_first"):
        app.action(action_id)(ack_first(list_page))
    for action_id in ("matches_more", "matches_first"):
        app.action(action_id)(ack_first(matches_page))


def _value(body) -> str:
    action = body["actions"][0]
    return action.get("value") or action.get("selected_option", {}).get("value", "")


def _kind_and_id(value: str) -> tuple[str, int]:
    kind, _, rest = value.partition(":")
    post_id = whole_number(rest.split(":")[0])
    if kind not in posts.KINDS or post_id is None:
        raise CollabError("That button is out of date. Type `/collab list` for a fresh list.")
    return kind, post_id


def _page_start(value: str) -> int:
    """The page a button was on: the last part of `need:12:10`, or the whole value of a "Show more"."""
    last = whole_number(value.rsplit(":", 1)[-1])
    return last if last is not None and (":" not in value or value.count(":") == 2) else 0


def _from_home(body) -> bool:
    return body.get("view", {}).get("type") == "home"


def join_pick(body, context, client, respond) -> None:
    with context["deps"].unit(body["team"]["id"]) as (session, workspace):
        before = members.get_member(session, workspace, body["user"]["id"])
        member, school = members.join(session, workspace, body["user"]["id"], _value(body))
        moved = bool(before and before.school_id and before.school_id != school.id)
    respond(replace_original=True, **views.joined_reply(school, moved))


def post_status(status: str):
    def handle(body, context, client, respond) -> None:
        user_id = body["user"]["id"]
        value = _value(body)
        kind, post_id = _kind_and_id(value)
        with context["deps"].unit(body["team"]["id"]) as (session, workspace):
            posts.set_status(session, workspace, user_id, kind, post_id, status)
            listing = posts.list_posts(session, workspace, user_id, start=_page_start(value))
        _show_again(body, context, client, respond, listing)

    handle.__name__ = f"post_{status}"
    return handle


def list_theme(body, context, client, respond) -> None:
    """A theme confirmed or changed on a listed post (`need:12:10:attendance`): that page again."""
    user_id = body["user"]["id"]
    value = _value(body)
    kind, post_id = _kind_and_id(value)
    parts = value.split(":")
    page, theme = (parts[2], parts[3]) if len(parts) == 4 else ("0", "")  # no theme: set_theme says so
    with context["deps"].unit(body["team"]["id"]) as (session, workspace):
        posts.set_theme(session, workspace, user_id, kind, post_id, theme)
        listing = posts.list_posts(session, workspace, user_id, start=whole_number(page) or 0)
    _show_again(body, context, client, respond, listing)


def _show_again(body, context, client, respond, listing) -> None:
    """After a change to a listed post: App Home published again, or the list's page replaced."""
    if _from_home(body):
        from bot.slack.listeners.home import publish_home

        publish_home(context, client, body["user"]["id"])
    else:
        respond(replace_original=True, **views.list_reply(listing))


def list_page(body, context, client, respond) -> None:
    """"Show more" / "Back to the start" under `/collab list`: the same message, another page."""
    start = _page_start(_value(body))
    with context["deps"].unit(body["team"]["id"]) as (session, workspace):
        listing = posts.list_posts(session, workspace, body["user"]["id"], start=start)
    respond(replace_original=True, **views.list_reply(listing))


def matches_page(body, context, client, respond) -> None:
    start = _page_start(_value(body))
    with context["deps"].unit(body["team"]["id"]) as (session, workspace):
        page = matches.school_pairings(session, workspace, body["user"]["id"], start=start)
    respond(replace_original=True, **views.matches_reply(page))


def post_theme(body, context, client, respond) -> None:
    value = _value(body)
    kind, post_id = _kind_and_id(value)
    theme = value.split(":")[-1]
    with context["deps"].unit(body["team"]["id"]) as (session, workspace):
        post = posts.set_theme(session, workspace, body["user"]["id"], kind, post_id, theme)
        school = session.get(School, post.school_id)  # loaded by the ownership check
    respond(replace_original=True, **views.posted_reply(kind, post, school))


def forget_me_confirm(body, context, client, respond) -> None:
    with context["deps"].unit(body["team"]["id"]) as (session, workspace):
        members.forget_me(session, workspace, body["user"]["id"])
    respond(replace_original=True, text="Done: Collab no longer holds anything about you. "
            "Type `/collab join` any time to come back.")
