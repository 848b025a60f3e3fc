"""App Home: published when someone opens the Home tab, and again after they press a button on it."""
from __future__ import annotations

from bot.messages.home import home_view
from bot.services import matches, members, pairings, posts, reports
from bot.services.workspaces import is_lead
from bot.slack.listeners.commands.table import TABLE
from models import School, utcnow

HOME_POSTS = 10
HOME_PAIRINGS = 8
HOME_REVIEWS = 5


def register(app) -> None:
    # The view goes to Slack (views_publish) after the event is acknowledged.
    app.event("app_home_opened")(lambda event, context, client: context["deps"].after_ack(
        app_home_opened, event, context, client))


def app_home_opened(event, context, client) -> None:
    if event.get("tab", "home") != "home":
        return
    publish_home(context, client, event["user"])


def publish_home(context, client, user_id: str) -> None:
    """Read what this person's Home shows (a page of each, never everything) and publish it."""
    deps = context["deps"]
    with deps.unit(context["team_id"]) as (session, workspace):
        member = members.get_member(session, workspace, user_id)
        school = page = current = None
        if member and member.school_id:
            school = session.get(School, member.school_id)
            page = posts.list_posts(session, workspace, user_id, limit=HOME_POSTS)
            current = matches.current_pairings(session, workspace, school, limit=HOME_PAIRINGS)
        lead = None
        leads = is_lead(session, workspace, user_id, deps.settings.leads)
        if leads:
            lead = (pairings.pending(session, workspace, limit=HOME_REVIEWS), pairings.count_pending(session, workspace),
                    reports.network_report(session, workspace, utcnow()))
        view = home_view(school, page, current, lead, is_lead=leads, commands=TABLE)
    client.views_publish(user_id=user_id, view=view)
