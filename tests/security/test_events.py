"""Slack's retries and late deliveries (issue 8): an event is handled once, and an uninstall is final."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlmodel import select

from models import SeenEvent, Workspace
from models.db import session_scope
from tests.bot.commands.test_staff_commands import join


def workspace(engine) -> Workspace:
    with session_scope(engine) as session:
        return session.exec(select(Workspace)).one()


def test_a_retried_event_publishes_app_home_once(sender, slack, schools):
    for retry in (None, 1, 2):
        response = sender.app_home_opened("U0DEPUTY01", event_id="Ev0HOME0001", retry_num=retry)
        assert response.status_code == 200
    slack.wait_for("views.publish")
    time.sleep(0.5)  # give a wrongly processed retry the time to publish too
    assert len(slack.calls_to("views.publish")) == 1


def test_different_events_are_each_handled(sender, slack, schools):
    sender.app_home_opened("U0DEPUTY01", event_id="Ev0HOME0001")
    sender.app_home_opened("U0DEPUTY01", event_id="Ev0HOME0002")
    assert len(slack.wait_for("views.publish", count=2)) == 2


def test_a_late_retry_after_uninstall_does_not_reinstall(sender, slack, engine, schools):
    join(sender)
    opened_at = int(time.time()) - 60  # the event happened before the uninstall, its delivery failed
    assert sender.app_uninstalled().status_code == 200
    assert workspace(engine).uninstalled_at is not None
    slack.reset()
    response = sender.app_home_opened("U0DEPUTY01", event_id="Ev0LATE0001", retry_num=2, event_time=opened_at)
    assert response.status_code == 200
    time.sleep(0.3)
    assert workspace(engine).uninstalled_at is not None
    assert slack.calls_to("views.publish") == []


def test_the_same_uninstall_delivered_twice_changes_nothing_the_second_time(sender, engine, schools):
    join(sender)
    sender.app_uninstalled(event_id="Ev0BYE00001")
    first = workspace(engine).uninstalled_at
    sender.app_uninstalled(event_id="Ev0BYE00001", retry_num=1)
    assert workspace(engine).uninstalled_at == first


def test_an_event_newer_than_the_uninstall_is_a_reinstall(sender, slack, engine, schools):
    join(sender)
    sender.app_uninstalled()
    uninstalled = workspace(engine).uninstalled_at
    later = int((uninstalled + timedelta(seconds=2)).timestamp())
    sender.app_home_opened("U0DEPUTY01", event_time=later)
    slack.wait_for("views.publish")
    assert workspace(engine).uninstalled_at is None


def test_after_an_uninstall_and_a_late_retry_the_next_digest_messages_nobody(sender, slack, engine, settings, schools):
    from bot.services.workspaces import installed_workspaces

    join(sender)
    sender.command("need help with persistent absence in Year 9")
    sender.app_uninstalled()
    sender.app_home_opened("U0DEPUTY01", retry_num=1, event_time=int(time.time()) - 30)
    with session_scope(engine) as session:
        assert installed_workspaces(session) == []


def test_event_ids_are_remembered_with_their_workspace(sender, engine, schools):
    sender.app_home_opened("U0DEPUTY01", event_id="Ev0HOME0009")
    with session_scope(engine) as session:
        seen = session.get(SeenEvent, "Ev0HOME0009")
        assert seen is not None and seen.team_id == sender.team_id
