"""Events from Slack: App Home opened, and the app being uninstalled."""
from __future__ import annotations

import logging

from bot.messages.home import home_view
from bot.services import members, posts
from bot.services.workspaces import is_lead, mark_uninstalled

log = logging.getLogger(__name__)
# Sections a lead sees on App Home; the lifecycle registers the pending-review list here.
LEAD_HOME_SECTIONS: list = []


def register(app) -> None:
    # The view goes to Slack (views_publish) after the event is acknowledged.
    app.event("app_home_opened")(lambda event, context, client: context["deps"].after_ack(
        app_home_opened, event, context, client))
    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)


def app_home_opened(event, context, client) -> None:
    if event.get("tab", "home") != "home":
        return
    user_id = event["user"]
    with context["deps"].unit(context["team_id"]) as (session, workspace):
        member = members.get_member(session, workspace, user_id)
        school = posts_of_school = None
        if member and member.school_id:
            posts_of_school = posts.list_posts(session, workspace, user_id)
            school = posts_of_school.school
        lead_blocks = []
        if is_lead(session, workspace, user_id, context["deps"].settings.leads):
            for build in LEAD_HOME_SECTIONS:
                lead_blocks += build(session, workspace)
    client.views_publish(user_id=user_id, view=home_view(school, posts_of_school, lead_blocks))


def app_uninstalled(context) -> None:
    with context["deps"].unit(context["team_id"]) as (session, _):
        mark_uninstalled(session, context["team_id"])
    context["deps"].forget_workspace(context["team_id"])
    log.info("workspace uninstalled the app; messages to it stop")


def tokens_revoked(event, context) -> None:
    if event.get("tokens", {}).get("bot"):
        app_uninstalled(context)
