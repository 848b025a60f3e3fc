"""A running Collab app behind its real HTTP endpoint, a stub Slack, and a signed sender."""
from __future__ import annotations

import pytest

from bot.config import Settings
from bot.web.wsgi import create_wsgi_app
from models import School
from models.db import make_engine, session_scope
from tests.support.block_kit import ack_problems, assert_block_kit, sent_problems
from tests.support.network import SCHOOLS as NETWORK_SCHOOLS
from tests.support.slack_requests import SlackSender, serve_wsgi

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
LEAD = "U0LEAD0001"
REVIEW_CHANNEL = "C0REVIEW01"
DEPUTY = "U0DEPUTY01"


@pytest.fixture
def settings(database_url, slack) -> Settings:
    return Settings(
        slack_bot_token="xoxb-test-token-1234", slack_signing_secret=SECRET, slack_api_url=slack.api_url,
        database_url=database_url, leads=frozenset({LEAD}), review_channel=REVIEW_CHANNEL,
        slack_retry_wait=0,  # Slack's retries happen at once: no real back-off sleeps in tests
    )


@pytest.fixture
def app_url(settings):
    engine = make_engine(settings.database_url)
    with serve_wsgi(create_wsgi_app(settings, engine)) as url:
        yield url
    engine.dispose()


class CheckedSender(SlackSender):
    """A signed sender that also holds every answer the app gives to Block Kit's rules."""

    def raw(self, *args, **kwargs):
        response = super().raw(*args, **kwargs)
        if response.headers.get("content-type", "").startswith("application/json") and response.content:
            assert_block_kit(ack_problems(response.json()))
        return response


@pytest.fixture
def sender(app_url, slack) -> SlackSender:
    return CheckedSender(app_url, SECRET, response_url_base=slack.base_url, user_id=DEPUTY)


@pytest.fixture(autouse=True)
def block_kit_rules(slack):
    """Every message, view and response_url POST any test here made Slack receive obeys Block Kit's rules."""
    yield
    assert_block_kit(sent_problems(slack))


SCHOOLS = [*NETWORK_SCHOOLS,
           dict(urn="100001", name="Closed Down Academy", phase="Secondary", local_authority="Surrey", is_open=False)]


@pytest.fixture
def schools(engine):
    with session_scope(engine) as session:
        for row in SCHOOLS:
            session.add(School(**row))
    return {row["urn"]: row for row in SCHOOLS}
