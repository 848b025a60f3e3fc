"""Slack misbehaves mid-run: answers lost after posting, 429 storms, 5xx with any body, permanent
errors, enforced rate limits. Each run is finished by the next one; every member gets one digest."""
from __future__ import annotations

import dataclasses
import pytest

from bot.scheduling import jobs
from bot.scheduling.registry import Runtime
from tests.faults.conftest import assert_each_got_exactly_one
from tests.support.rhythm import ledger, messenger_for


def finish(runtime, most: int = 6):
    """Run the digest, then catch up as the clock would, until the period is done. The statuses seen."""
    seen = [jobs.run_job(runtime, "digest").status]
    while seen[-1] not in ("done", "busy") and len(seen) < most:
        results = jobs.catch_up(runtime, ("digest",))
        seen.append(results[0].status if results else "nothing to do")
    return seen


@pytest.mark.parametrize("how", ["hold", "drop"])
def test_an_answer_lost_after_slack_posted_is_found_not_sent_again(how, runtime, people, slack, engine):
    # The third digest is posted, then its answer is held past the client's 1 s timeout, or dropped.
    slack.lose_answer_next("chat.postMessage", how=how, hold=2.5, after=2)

    first = jobs.run_job(runtime, "digest")
    assert first.status == "incomplete"
    lost = [m for m in ledger(engine, "digest") if m.status == "unsure"]
    assert [m.recipient for m in lost] == [people[2]]

    [second] = jobs.catch_up(runtime, ("digest",))
    assert second.status == "done"
    assert_each_got_exactly_one(slack, engine, people)
    assert len(slack.calls_to("chat.postMessage")) == len(people)  # nobody's post was repeated
    assert len(slack.calls_to("conversations.history")) == 1        # the one look-up that found it


def test_a_post_whose_answer_is_lost_before_slack_has_it_is_sent_after_looking(runtime, people, slack, engine):
    """The other half of an unsure send: Slack has nothing, so the next run sends it."""
    slack.fail_next("chat.postMessage", status=504, times=4, body=b"<html>504 Gateway Time-out</html>")
    assert finish(runtime) == ["incomplete", "done"]
    assert_each_got_exactly_one(slack, engine, people)


@pytest.mark.parametrize("status, body", [
    (500, None), (502, [1, 2]), (503, {}), (504, b"<html>Gateway Time-out</html>"), (502, "null"),
])
def test_every_server_error_and_body_shape_is_retried_and_nothing_is_doubled(status, body, runtime, people, slack, engine):
    slack.fail_next("chat.postMessage", status=status, times=2, body=body)
    assert finish(runtime) == ["done"]  # looked up, then retried within the run
    assert_each_got_exactly_one(slack, engine, people)
    assert len(slack.calls_to("chat.postMessage", ok=False)) == 2


@pytest.mark.parametrize("status", [502, 504])
def test_502_and_504_are_retried_for_calls_safe_to_repeat(status, runtime, slack):
    slack.fail_next("conversations.open", status=status, times=2)
    channel = runtime.messenger.open_conversation(["U0FAULT001", "U0FAULT002"])
    assert channel.startswith("G")
    assert [c.outcome for c in slack.calls_to("conversations.open")] == [f"http:{status}"] * 2 + ["ok"]


def test_an_ok_answer_whose_body_is_not_an_object_does_not_crash_the_run(runtime, people, slack, engine):
    slack.on("chat.postMessage", lambda call: [])  # HTTP 200, body "[]": slack_sdk cannot read it
    first = jobs.run_job(runtime, "digest")
    assert first.status == "incomplete"
    assert all(m.status == "unsure" for m in ledger(engine, "digest"))
    slack.on("chat.postMessage", None)
    [second] = jobs.catch_up(runtime, ("digest",))
    assert second.status == "done"
    assert_each_got_exactly_one(slack, engine, people)


def test_a_storm_of_429s_loses_nothing(runtime, people, slack, engine):
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=13)  # more than two messages' retries
    assert finish(runtime)[-1] == "done"
    assert_each_got_exactly_one(slack, engine, people)
    assert not slack.calls_to("conversations.history")  # a 429 is never ambiguous


def test_permanent_errors_are_recorded_once_and_the_rest_delivered(runtime, people, slack, engine):
    slack.error_next("chat.postMessage", "account_inactive")
    slack.error_next("chat.postMessage", "user_not_found")
    assert finish(runtime) == ["done"]
    assert jobs.run_job(runtime, "digest").status == "busy"
    rows = {m.recipient: (m.status, m.error) for m in ledger(engine, "digest")}
    assert rows[people[0]] == ("failed", "account_inactive") and rows[people[1]] == ("failed", "user_not_found")
    assert sum(status == "sent" for status, _ in rows.values()) == len(people) - 2
    assert len(slack.calls_to("chat.postMessage")) == len(people)  # the failed two were tried once each


def test_an_enforced_rate_limit_is_waited_out_exactly_once_each(runtime, people, slack, engine):
    slack.rate_limit("chat.postMessage", calls=3, per=1.0)
    # Retry-After is honoured here (at a quarter of its length, to keep the suite quick).
    patient = dataclasses.replace(runtime.settings, slack_retry_wait=0.25)
    runtime = Runtime(patient, runtime.engine, messenger_for(patient))
    assert finish(runtime, most=10)[-1] == "done"
    assert_each_got_exactly_one(slack, engine, people)
    assert slack.calls_to("chat.postMessage", ok=False)  # the limit was really hit


def test_a_ctrl_c_after_slack_posted_is_found_not_sent_again(runtime, people, slack, engine):
    class CtrlC:
        """Ctrl-C arrives just after Slack took the third digest, before the answer is read."""

        def __init__(self, inner):
            self.inner, self.posts = inner, 0

        def post(self, *args, **kwargs):
            self.posts += 1
            result = self.inner.post(*args, **kwargs)
            if self.posts == 3:
                raise KeyboardInterrupt
            return result

        def __getattr__(self, name):
            return getattr(self.inner, name)

    with pytest.raises(KeyboardInterrupt):
        jobs.run_job(Runtime(runtime.settings, engine, CtrlC(runtime.messenger)), "digest")
    [result] = jobs.catch_up(runtime, ("digest",))  # a failed run is taken over at once
    assert result.status == "done"
    assert_each_got_exactly_one(slack, engine, people)
