"""A real `clock --run digest` process is killed (SIGKILL) or interrupted (SIGINT, as Ctrl-C) while
Slack holds the answer to a message it has already posted; the next catch-up finishes the period
without waiting out a long lease, and nobody gets a digest twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from freezegun import freeze_time

from bot.scheduling import jobs
from bot.scheduling.runs import JOB_LEASE
from bot.delivery.outbox import MESSAGE_LEASE
from models import utcnow
from tests.faults.conftest import assert_each_got_exactly_one
from tests.support.rhythm import ledger

ROOT = Path(__file__).resolve().parents[2]


def start_clock_run(settings) -> subprocess.Popen:
    """`collab clock --run digest` in its own process, pointed at this test's database and stub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLAB_", "SLACK_", "DATABASE_URL"))}
    env.update(DATABASE_URL=settings.database_url, SLACK_API_URL=settings.slack_api_url,
               SLACK_BOT_TOKEN=settings.slack_bot_token, COLLAB_DIGEST_AT=settings.digest_cron,
               COLLAB_SLACK_RETRY_WAIT="0", PYTHONPATH=str(ROOT))
    # Ctrl-C as at a terminal: a shell's background job (CI started with `&`) ignores SIGINT, and a
    # child would inherit that and run to the end, so the child gets the default back.
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "clock", "--run", "digest"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def stop_it_mid_send(settings, slack, signum) -> int:
    slack.lose_answer_next("chat.postMessage", how="hold", hold=5.0, after=2)
    process = start_clock_run(settings)
    try:
        slack.wait_for("chat.postMessage", count=3, timeout=60)  # the third is posted; its answer is held
        process.send_signal(signum)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode


def test_a_clock_run_killed_after_slack_posted_is_finished_a_minute_later_without_a_duplicate(
        settings, runtime, people, slack, engine):
    assert stop_it_mid_send(settings, slack, signal.SIGKILL) == -signal.SIGKILL
    [stuck] = [m for m in ledger(engine, "digest") if m.status == "sending"]
    assert stuck.recipient == people[2]

    # Within the lease the dead run is left alone (it might be alive) ...
    assert jobs.catch_up(runtime, ("digest",)) == []
    # ... and a minute later (not an hour) it is taken over; the held message is found, not re-sent.
    with freeze_time(utcnow() + max(JOB_LEASE.duration, MESSAGE_LEASE.duration) + JOB_LEASE.duration / 10, tick=True):
        [result] = jobs.catch_up(runtime, ("digest",))
    assert result.status == "done"
    assert_each_got_exactly_one(slack, engine, people)
    assert len(slack.calls_to("chat.postMessage")) == len(people)


def test_a_clock_run_interrupted_after_slack_posted_is_finished_at_once_without_a_duplicate(
        settings, runtime, people, slack, engine):
    assert stop_it_mid_send(settings, slack, signal.SIGINT) != 0
    [unsure] = [m for m in ledger(engine, "digest") if m.status == "unsure"]
    assert unsure.recipient == people[2]

    [result] = jobs.catch_up(runtime, ("digest",))  # the run ended 'failed': taken over at once
    assert result.status == "done"
    assert_each_got_exactly_one(slack, engine, people)
    assert len(slack.calls_to("chat.postMessage")) == len(people)
