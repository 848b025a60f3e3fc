"""The database connection drops mid-run (a PostgreSQL restart, a failover): the run reconnects and
carries on; if it cannot record a message Slack has already posted, the next run finds it in Slack."""
from __future__ import annotations

import pytest
from freezegun import freeze_time

from bot.delivery.leases import DB_ATTEMPTS
from bot.delivery.outbox import MESSAGE_LEASE
from bot.scheduling import jobs
from models import utcnow
from tests.faults.conftest import assert_each_got_exactly_one
from tests.support.rhythm import ledger


@pytest.mark.parametrize("where, skip", [
    ("insert into outgoingmessage", 3),   # queuing the fourth message (the ledger's own retry)
    ("update outgoingmessage", 5),        # claiming or recording a message
    ("from need", 2),                     # composing a digest (the job body is run again)
    ("update jobrun", 0),                 # recording how the run ended
])
def test_one_dropped_connection_is_reconnected_and_the_run_carries_on(where, skip, runtime, people, slack, engine, drops):
    drops.arm(where, skip=skip)
    result = jobs.run_job(runtime, "digest")
    assert drops.dropped == drops.invalidated == 1
    assert result.status == "done"
    assert_each_got_exactly_one(slack, engine, people)


def test_a_database_that_stays_away_right_after_slack_posted_loses_and_doubles_nothing(
        runtime, people, slack, engine, drops):
    # Recording the third digest as sent fails on every try: Slack has it, the ledger says 'sending'.
    drops.arm("update outgoingmessage", param="sent", skip=2, times=DB_ATTEMPTS)
    first = jobs.run_job(runtime, "digest")
    assert drops.dropped == drops.invalidated == DB_ATTEMPTS
    assert first.status == "incomplete"
    [stuck] = [m for m in ledger(engine, "digest") if m.status == "sending"]
    assert stuck.recipient == people[2]

    with freeze_time(utcnow() + MESSAGE_LEASE.duration * 1.1, tick=True):
        [second] = jobs.catch_up(runtime, ("digest",))
    assert second.status == "done"
    assert_each_got_exactly_one(slack, engine, people)
    assert len(slack.calls_to("chat.postMessage")) == len(people)
