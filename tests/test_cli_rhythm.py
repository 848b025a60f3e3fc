"""`collab digest` and `collab clock` from the command line (bot/cli_rhythm.py), on both backends."""
from __future__ import annotations

import argparse
import io

import pytest

from bot.cli.rhythm import add_rhythm_commands
from bot.config import SettingsError
from tests.support.rhythm import LEAD, Network, ledger, posted_to
from tests.support.slack_stub import SlackStub


@pytest.fixture
def slack():
    with SlackStub() as stub:
        yield stub


@pytest.fixture
def env(monkeypatch, tmp_path, database_url, slack):
    """A clean environment (no .env picked up) pointing at the test database and the stub."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "COLLAB_TERM_DATES", "COLLAB_DIGEST_AT", "COLLAB_LEADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("COLLAB_LEADS", LEAD)
    monkeypatch.setenv("COLLAB_SLACK_RETRY_WAIT", "0")  # no real back-off sleeps in tests
    return monkeypatch


def run(*argv) -> str:
    parser = argparse.ArgumentParser(prog="collab")
    add_rhythm_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    out = io.StringIO()
    assert args.func(args, out=out) == 0
    return out.getvalue()


def test_digest_dry_run_prints_and_sends_nothing(env, engine, slack):
    net = Network(engine)
    net.member("U0COLGATE1", "colgate")
    net.need("colgate", "help with persistent absence in Year 9")

    out = run("digest", "--dry-run")

    assert "--- U0COLGATE1 (T0COLLAB1) ---" in out and f"--- {LEAD} (T0COLLAB1) ---" in out
    assert "help with persistent absence in Year 9" in out
    assert slack.calls_to("chat.postMessage") == [] and ledger(engine) == []


def test_digest_sends_now_once_a_week(env, engine, slack):
    env.setenv("SLACK_BOT_TOKEN", "xoxb-test-token-1234")
    net = Network(engine)
    net.member("U0COLGATE1", "colgate")

    assert "sent 2" in run("digest")
    assert "already_sent 2" in run("digest")
    assert sorted(posted_to(slack)) == sorted(["U0COLGATE1", LEAD])


def test_digest_without_a_token_names_the_setting(env, engine):
    Network(engine)
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN is not set"):
        run("digest")


def test_clock_show_prints_the_schedule(env, engine, tmp_path):
    (tmp_path / "terms.txt").write_text("2026-12-21,2027-01-01,Christmas\n")
    env.setenv("COLLAB_TERM_DATES", str(tmp_path / "terms.txt"))

    out = run("clock", "--show")

    lines = out.splitlines()
    assert lines[0].split()[:3] == ["round", "mon", "07:30"]
    assert any(line.split()[:3] == ["digest", "mon", "08:00"] for line in lines) and "daily 09:00" in out
    starts = {line.index(" mon ") if " mon " in line else line.index(" daily ") for line in lines[:7]}
    assert len(starts) == 1  # the schedules line up in one column whatever the job names
    assert "1 school holidays from" in out


def test_clock_refuses_a_bad_term_dates_file_naming_the_line(env, tmp_path):
    (tmp_path / "terms.txt").write_text("2026-10-26,2026-10-30\n2026-12-21 to 2027-01-01\n")
    env.setenv("COLLAB_TERM_DATES", str(tmp_path / "terms.txt"))
    with pytest.raises(SettingsError, match="terms.txt line 2"):
        run("clock", "--show")


def test_clock_refuses_a_bad_schedule(env):
    env.setenv("COLLAB_DIGEST_AT", "monday morning")
    with pytest.raises(SettingsError, match="COLLAB_DIGEST_AT must look like"):
        run("clock", "--show")


def test_clock_run_runs_one_job_for_this_period(env, engine, slack):
    env.setenv("SLACK_BOT_TOKEN", "xoxb-test-token-1234")
    Network(engine).member("U0COLGATE1", "colgate")

    first = run("clock", "--run", "digest")
    second = run("clock", "--run", "digest")

    assert first.startswith("digest:") and ": done" in first
    assert ": busy" in second
    assert sorted(posted_to(slack)) == sorted(["U0COLGATE1", LEAD])


def test_clock_run_of_an_unknown_job_says_which_there_are(env):
    env.setenv("SLACK_BOT_TOKEN", "xoxb-test-token-1234")
    with pytest.raises(SettingsError, match="no job called 'digests'.*round, digest"):
        run("clock", "--run", "digests")


def test_clock_run_catch_up_returns_in_the_repeated_hour(env, engine, slack):
    """The issue's case: a daily job at 01:30 and the clock run at 06:00 UTC on 25 October 2026."""
    import threading

    from freezegun import freeze_time

    env.setenv("SLACK_BOT_TOKEN", "xoxb-test-token-1234")
    env.setenv("COLLAB_FOLLOWUPS_AT", "daily 01:30")
    env.setenv("COLLAB_ROUND_AT", "off")
    env.setenv("COLLAB_DIGEST_AT", "off")
    out = {}
    with freeze_time("2026-10-25 06:00:00", tick=True):
        thread = threading.Thread(target=lambda: out.setdefault("text", run("clock", "--run", "catch_up")), daemon=True)
        thread.start()
        thread.join(60)
    assert not thread.is_alive(), "collab clock --run catch_up did not return"
    lines = out["text"].splitlines()
    assert sorted(line.split(":")[0] for line in lines) == sorted(
        ["expiry", "feedback", "followups", "introductions", "reciprocity", "review_reminders"])
    assert all(line.split(": ")[1].startswith("done") and ":2026-10-25" in line for line in lines)
