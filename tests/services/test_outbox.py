"""The ledger: each message exactly once, permanent errors recorded, temporary ones left for a rerun."""
from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from bot.slack.app import make_client
from bot.config import Settings
from bot.slack.messenger import SlackMessenger
from bot.delivery.outbox import send_once
from models import OutgoingMessage


@pytest.fixture
def messenger(slack):
    return SlackMessenger(make_client(Settings(slack_bot_token="xoxb-test", slack_api_url=slack.api_url)))


def rows(engine):
    with Session(engine) as session:
        return session.exec(select(OutgoingMessage).order_by(OutgoingMessage.id)).all()


def test_a_key_is_sent_once_however_often_it_is_asked(engine, slack, messenger):
    first = send_once(engine, messenger, key="digest:2026-W48:U0AAAA0001", kind="digest", recipient="U0AAAA0001", text="hi")
    second = send_once(engine, messenger, key="digest:2026-W48:U0AAAA0001", kind="digest", recipient="U0AAAA0001", text="hi")
    assert first.status == "sent" and second.status == "already_sent"
    assert second.ts == first.ts
    assert len(slack.calls_to("chat.postMessage")) == 1
    [row] = rows(engine)
    assert row.status == "sent" and row.attempts == 1 and row.ts == first.ts


def test_group_messages_open_the_conversation_first(engine, slack, messenger):
    outcome = send_once(engine, messenger, key="intro:1", kind="intro", recipient="group",
                        text="Meet each other", group=["U0AAAA0001", "U0BBBB0002", "U0LEAD0001"])
    assert outcome.status == "sent"
    [opened] = slack.calls_to("conversations.open")
    assert sorted(opened.params["users"].split(",")) == ["U0AAAA0001", "U0BBBB0002", "U0LEAD0001"]
    assert slack.calls_to("chat.postMessage")[0].params["channel"] == outcome.channel


def test_permanent_error_is_recorded_and_never_retried(engine, slack, messenger):
    slack.error_next("chat.postMessage", "account_inactive")
    outcome = send_once(engine, messenger, key="k1", kind="digest", recipient="U0GONE0001", text="hi")
    assert outcome.status == "failed" and outcome.error == "account_inactive"
    again = send_once(engine, messenger, key="k1", kind="digest", recipient="U0GONE0001", text="hi")
    assert again.status == "failed"
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert rows(engine)[0].error == "account_inactive"


def test_rate_limits_are_waited_out(engine, slack, messenger):
    slack.fail_next("chat.postMessage", status=429, retry_after=1, times=2)
    outcome = send_once(engine, messenger, key="k2", kind="digest", recipient="U0AAAA0001", text="hi")
    assert outcome.status == "sent"
    assert [c.outcome for c in slack.calls_to("chat.postMessage")][:2] == ["http:429", "http:429"]


def test_slack_down_leaves_the_message_for_the_next_run(engine, slack, messenger):
    slack.fail_next("chat.postMessage", status=503, times=10)
    outcome = send_once(engine, messenger, key="k3", kind="digest", recipient="U0AAAA0001", text="hi")
    assert outcome.status == "retry_later"
    assert rows(engine)[0].status == "pending"
    slack.reset()
    assert send_once(engine, messenger, key="k3", kind="digest", recipient="U0AAAA0001", text="hi").status == "sent"
    assert rows(engine)[0].attempts == 2


def test_a_crash_mid_send_is_retried_by_the_rerun(engine, slack, messenger):
    class Crashing:
        def post(self, *args, **kwargs):
            raise KeyboardInterrupt  # the process is told to stop halfway

        def open_conversation(self, users):
            raise AssertionError

    with pytest.raises(KeyboardInterrupt):
        send_once(engine, Crashing(), key="k4", kind="digest", recipient="U0AAAA0001", text="hi")
    assert send_once(engine, messenger, key="k4", kind="digest", recipient="U0AAAA0001", text="hi").status == "sent"
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_two_senders_at_once_send_one_message(engine, slack, messenger):
    outcomes = []
    barrier = threading.Barrier(4)

    def go():
        barrier.wait()
        outcomes.append(send_once(engine, messenger, key="k5", kind="intro", recipient="U0AAAA0001", text="hi").status)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("sent") == 1
    assert len(slack.calls_to("chat.postMessage")) == 1
