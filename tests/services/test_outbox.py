"""The ledger: each message exactly once, permanent errors recorded, temporary ones left for a rerun."""
from __future__ import annotations

import json
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
    # No real back-off sleeps: the waits are scaled to nothing (COLLAB_SLACK_RETRY_WAIT=0).
    return SlackMessenger(make_client(Settings(slack_bot_token="xoxb-test", slack_api_url=slack.api_url,
                                               slack_retry_wait=0)))


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
    # A 5xx may come after Slack posted the message: each retry first looks in the conversation.
    assert slack.methods() == ["chat.postMessage"] + ["conversations.open", "conversations.history",
                                                      "chat.postMessage"] * 3
    assert rows(engine)[0].status == "unsure"
    slack.reset()
    assert send_once(engine, messenger, key="k3", kind="digest", recipient="U0AAAA0001", text="hi").status == "sent"
    assert slack.methods() == ["conversations.open", "conversations.history", "chat.postMessage"]
    assert rows(engine)[0].attempts == 2


def test_rate_limited_to_the_end_is_left_pending_and_needs_no_look_up(engine, slack, messenger):
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=6)
    assert send_once(engine, messenger, key="k6", kind="digest", recipient="U0AAAA0001", text="hi").status == "retry_later"
    assert rows(engine)[0].status == "pending"  # a 429 means Slack did not post it
    slack.reset()
    assert send_once(engine, messenger, key="k6", kind="digest", recipient="U0AAAA0001", text="hi").status == "sent"
    assert slack.methods() == ["chat.postMessage"]


class Interrupted:
    """Ctrl-C arrives while the post is on its way: after Slack took it if `inner` posts it first."""

    def __init__(self, inner=None):
        self.inner = inner

    def post(self, *args, **kwargs):
        if self.inner is not None:
            self.inner.post(*args, **kwargs)
        raise KeyboardInterrupt

    def open_conversation(self, users):
        raise AssertionError


def test_an_interrupted_send_that_never_reached_slack_is_sent_by_the_rerun(engine, slack, messenger):
    with pytest.raises(KeyboardInterrupt):
        send_once(engine, Interrupted(), key="k4", kind="digest", recipient="U0AAAA0001", text="hi")
    assert rows(engine)[0].status == "unsure"
    assert send_once(engine, messenger, key="k4", kind="digest", recipient="U0AAAA0001", text="hi").status == "sent"
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_an_interrupted_send_that_reached_slack_is_recorded_not_repeated(engine, slack, messenger):
    with pytest.raises(KeyboardInterrupt):
        send_once(engine, Interrupted(messenger), key="k7", kind="digest", recipient="U0AAAA0001", text="hi")
    again = send_once(engine, messenger, key="k7", kind="digest", recipient="U0AAAA0001", text="hi")
    assert again.status == "already_sent"
    [post] = slack.calls_to("chat.postMessage")
    assert again.ts == post.response["ts"]
    assert rows(engine)[0].status == "sent" and rows(engine)[0].ts == again.ts


def test_each_message_carries_its_key_as_a_hash_in_slack_metadata(engine, slack, messenger):
    send_once(engine, messenger, key="digest:2026-W48:U0AAAA0001", kind="digest", recipient="U0AAAA0001", text="hi")
    [post] = slack.calls_to("chat.postMessage")
    metadata = post.json("metadata")
    assert metadata["event_type"] == "collab_outbox"
    assert "U0AAAA0001" not in json.dumps(metadata) and len(metadata["event_payload"]["key"]) == 32


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


def test_an_unsure_message_slack_wont_let_us_look_up_is_neither_resent_nor_given_up(engine, slack, messenger):
    slack.fail_next("chat.postMessage", status=503, times=4)
    send_once(engine, messenger, key="k8", kind="digest", recipient="U0AAAA0001", text="hi")
    slack.reset()
    slack.error_next("conversations.history", "missing_scope")  # the history scopes not yet approved

    again = send_once(engine, messenger, key="k8", kind="digest", recipient="U0AAAA0001", text="hi")
    assert again.status == "retry_later" and again.error == "cannot look up: missing_scope"
    assert slack.calls_to("chat.postMessage") == []
    assert rows(engine)[0].status == "unsure"
