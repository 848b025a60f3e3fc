"""Events from Slack: App Home opened (listeners/home.py), a DM to the bot (listeners/direct_messages.py),
and the app being uninstalled.

Slack retries an event it thinks we missed (X-Slack-Retry-Num, same event_id), sometimes minutes
later: each event_id is handled once, and an event from before an uninstall never undoes it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from slack_bolt import BoltResponse
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.services.workspaces import mark_uninstalled
from bot.slack.listeners import direct_messages, home
from models import SeenEvent, Workspace
from models.db import session_scope

log = logging.getLogger(__name__)
# Slack retries a failed delivery three times within about an hour; an event_id is kept a day.
EVENT_MEMORY = timedelta(days=1)
# The events that end an installation: they are what an older event must never undo.
ENDINGS = ("app_uninstalled", "tokens_revoked")


def register(app) -> None:
    app.middleware(once_per_event)
    home.register(app)
    direct_messages.register(app)
    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)


def once_per_event(body, context, next):
    """Acknowledge, and do nothing else for, an event already handled or older than an uninstall."""
    if body.get("type") != "event_callback":
        return next()
    event_time = datetime.fromtimestamp(body["event_time"], timezone.utc)  # the guard checked its shape
    with session_scope(context["deps"].engine) as session:
        if not _first_delivery(session, body["event_id"], context["team_id"]):
            log.info("an event already handled came again (a retry); acknowledged, nothing done")
            return BoltResponse(status=200, body="")
        workspace = session.exec(select(Workspace).where(Workspace.team_id == context["team_id"])).first()
        uninstalled_at = workspace.uninstalled_at if workspace else None
    if uninstalled_at is not None and body["event"].get("type") not in ENDINGS and \
            event_time <= uninstalled_at.replace(tzinfo=uninstalled_at.tzinfo or timezone.utc):
        log.info("an event from before the app was uninstalled arrived late; ignored")
        return BoltResponse(status=200, body="")
    return next()


def _first_delivery(session, event_id: str, team_id: str) -> bool:
    now = datetime.now(timezone.utc)
    try:
        with session.begin_nested():
            session.add(SeenEvent(event_id=event_id, team_id=team_id, seen_at=now))
    except IntegrityError:
        return False
    session.exec(delete(SeenEvent).where(SeenEvent.seen_at < now - EVENT_MEMORY))
    return True


def app_uninstalled(context) -> None:
    with context["deps"].unit(context["team_id"]) as (session, _):
        mark_uninstalled(session, context["team_id"])
    context["deps"].forget_workspace(context["team_id"])
    log.info("workspace uninstalled the app; messages to it stop")


def tokens_revoked(event, context) -> None:
    if event.get("tokens", {}).get("bot"):
        app_uninstalled(context)
