"""Events: App Home shows the person's school; uninstalling stops everything for that workspace."""
from __future__ import annotations

import time

from sqlmodel import select

from models import Workspace
from models.db import session_scope
from tests.bot.commands.test_staff_commands import join


def test_app_home_for_a_newcomer_says_how_to_join(sender, slack, schools):
    assert sender.app_home_opened("U0NEWBIE01").status_code == 200
    view = slack.wait_for("views.publish")[0].json("view")
    assert slack.calls_to("views.publish")[0].params["user_id"] == "U0NEWBIE01"
    assert "/collab join" in str(view)


def test_app_home_shows_the_school_and_its_posts(sender, slack, schools):
    join(sender)
    sender.command("offer we can share our phonics scheme and train your TAs")
    sender.app_home_opened("U0DEPUTY01")
    view = slack.wait_for("views.publish")[0].json("view")
    assert "Colgate Primary School" in str(view)


def test_uninstall_marks_the_workspace(sender, engine, schools):
    join(sender)
    assert sender.app_uninstalled().status_code == 200
    deadline = time.time() + 5
    while time.time() < deadline:
        with session_scope(engine) as session:
            if session.exec(select(Workspace)).one().uninstalled_at is not None:
                break
        time.sleep(0.05)
    with session_scope(engine) as session:
        assert session.exec(select(Workspace)).one().uninstalled_at is not None


def test_badly_signed_and_stale_requests_are_refused(sender, engine, schools):
    assert sender.command("help", secret="not-the-secret").status_code == 401
    assert sender.command("help", timestamp=int(time.time()) - 600).status_code == 401
    assert sender.command("help", sign=False).status_code == 401
    assert sender.command("join 126013", secret="wrong").status_code == 401
    with session_scope(engine) as session:
        assert session.exec(select(Workspace)).all() == []  # nothing reached a listener


def test_healthz(app_url):
    import requests

    response = requests.get(app_url + "/healthz", timeout=5)
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_a_request_after_reinstalling_is_noticed_even_if_the_worker_remembered_the_workspace(sender, engine, schools):
    join(sender)  # the worker now remembers the workspace as installed
    sender.app_uninstalled()
    with session_scope(engine) as session:
        assert session.exec(select(Workspace)).one().uninstalled_at is not None
    sender.command("help")  # the app was installed again and someone used it
    with session_scope(engine) as session:
        assert session.exec(select(Workspace)).one().uninstalled_at is None
