"""The composition root builds each part once, from settings alone, and reads the environment only there."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect

from bot.bootstrap import build
from bot.config import Settings, SettingsError, load_settings
from bot.slack.messenger import SlackMessenger


def test_build_migrates_when_asked_and_builds_the_messenger_once(tmp_path):
    settings = Settings(slack_bot_token="xoxb-test", slack_api_url="http://127.0.0.1:9/api/")
    with build(settings, database_url=f"sqlite:///{tmp_path / 'c.db'}", migrate=True) as collab:
        assert "pairing" in inspect(collab.engine).get_table_names()
        first = collab.messenger
        assert isinstance(first, SlackMessenger) and collab.messenger is first
        assert first.client.base_url == "http://127.0.0.1:9/api/"


def test_a_given_messenger_is_used_as_it_is(tmp_path):
    fake = object()
    with build(Settings(), database_url=f"sqlite:///{tmp_path / 'c.db'}", messenger=fake) as collab:
        assert collab.messenger is fake
        assert inspect(collab.engine).get_table_names() == []  # not migrated unless asked


def test_server_settings_come_from_the_environment_with_clear_errors():
    settings = load_settings({"PORT": "8080", "WEB_CONCURRENCY": "4", "COLLAB_THREADS": "3",
                              "COLLAB_LOG_LEVEL": "debug"}, dotenv=False)
    assert (settings.port, settings.web_concurrency, settings.threads, settings.log_level) == (8080, 4, 3, "DEBUG")
    assert load_settings({}, dotenv=False).port == 3000
    with pytest.raises(SettingsError, match="PORT must be a whole number"):
        load_settings({"PORT": "eighty"}, dotenv=False)
    with pytest.raises(SettingsError, match="COLLAB_LOG_LEVEL"):
        load_settings({"COLLAB_LOG_LEVEL": "loud"}, dotenv=False)
