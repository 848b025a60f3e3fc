"""The clock: schedules in London time across the clock changes, holidays, one run per period however
many clocks, crash and rerun, 429 storms, and a job store that survives a restart. Both backends."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlmodel import select

from bot.scheduling import clock, jobs
from bot.config import SettingsError
from bot.services.calendar import parse_term_dates
from models import JobRun, Workspace
from models.db import session_scope
from tests.support.rhythm import Network, ledger, messenger_for, posted_to, settings_for, utc

MONDAY = utc(2026, 11, 23, 8, 0)  # Monday 08:00 in London, week 48


@pytest.fixture
def settings(database_url, slack):
    return settings_for(database_url, slack.api_url, leads=frozenset())


@pytest.fixture
def runtime(engine, settings):
    """The jobs' runtime pointed at this test's database and stub; forgotten afterwards."""
    rt = jobs.configure(settings, engine, messenger_for(settings))
    yield rt
    jobs._runtime = None


@pytest.fixture
def staff(engine):
    net = Network(engine)
    users = [f"U0STAFF00{i}" for i in range(1, 7)]
    for user, school in zip(users, ["colgate", "colgate", "hinchley", "stmary", "stmaryrc", "hinchley"]):
        net.member(user, school)
    return users


def runs(engine) -> dict[str, str]:
    with session_scope(engine) as session:
        return {r.run_key: r.status for r in session.exec(select(JobRun)).all()}


# --------------------------------------------------------------------------- schedules

@pytest.mark.parametrize("value, expected", [
    ("mon 07:30", ("mon", 7, 30)),
    ("Monday 8:00", ("mon", 8, 0)),
    ("daily 09:00", ("*", 9, 0)),
    ("weekdays 16:45", ("mon-fri", 16, 45)),
    ("thu,mon 07:30", ("mon,thu", 7, 30)),
])
def test_schedules_are_read_from_plain_words(value, expected):
    schedule = jobs.parse_schedule(value, "COLLAB_DIGEST_AT")
    assert (schedule.day_of_week, schedule.hour, schedule.minute) == expected
    assert jobs.parse_schedule("off", "COLLAB_DIGEST_AT") is None


@pytest.mark.parametrize("value", ["mon", "8am monday", "mon 24:00", "mon 07:5", "funday 07:00", "mon 07:30 tue", ""])
def test_a_bad_schedule_names_its_setting(value):
    with pytest.raises(SettingsError, match="COLLAB_DIGEST_AT must look like"):
        jobs.parse_schedule(value, "COLLAB_DIGEST_AT")


def next_fires(settings, engine, at: datetime) -> dict[str, datetime]:
    """Install the jobs on a real (paused) scheduler at `at` and read when APScheduler will fire each."""
    from apscheduler.schedulers.background import BackgroundScheduler

    with freeze_time(at):
        scheduler = clock.make_scheduler(settings, engine, BackgroundScheduler)
        clock.install_jobs(scheduler, settings)
        scheduler.start(paused=True)
        try:
            return {job.id: job.next_run_time.astimezone(timezone.utc) for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)


def test_monday_digest_is_0800_london_either_side_of_british_summer_time_starting(settings, engine):
    # BST starts at 01:00 UTC on Sunday 29 March 2026.
    assert next_fires(settings, engine, utc(2026, 3, 21, 12))["digest"] == utc(2026, 3, 23, 8, 0)  # GMT: 08:00Z
    fires = next_fires(settings, engine, utc(2026, 3, 28, 12))
    assert fires["digest"] == utc(2026, 3, 30, 7, 0)       # BST: 07:00Z
    assert fires["round"] == utc(2026, 3, 30, 6, 30)
    assert fires["followups"] == utc(2026, 3, 29, 8, 0)    # Sunday 09:00 BST, the day the clocks go forward


def test_monday_digest_is_0800_london_either_side_of_british_summer_time_ending(settings, engine):
    # BST ends at 01:00 UTC on Sunday 25 October 2026.
    assert next_fires(settings, engine, utc(2026, 10, 17, 12))["digest"] == utc(2026, 10, 19, 7, 0)  # BST
    fires = next_fires(settings, engine, utc(2026, 10, 24, 12))
    assert fires["digest"] == utc(2026, 10, 26, 8, 0)      # GMT
    assert fires["followups"] == utc(2026, 10, 25, 9, 0)   # Sunday 09:00 GMT, the day the clocks go back


def test_the_trigger_steps_over_the_change_week_by_week(settings):
    trigger = jobs.schedule_of("digest", settings).trigger(settings.zone)
    fire, seen = None, []
    now = utc(2026, 3, 16).astimezone(settings.zone)
    for _ in range(3):
        fire = trigger.get_next_fire_time(fire, now)
        now = fire
        seen.append(fire.astimezone(timezone.utc))
    assert seen == [utc(2026, 3, 16, 8), utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)]


def test_run_keys_are_the_london_week_or_day(settings):
    assert jobs.run_key("digest", MONDAY, settings) == "digest:2026-W48"
    assert jobs.run_key("followups", utc(2026, 11, 23, 9), settings) == "followups:2026-11-23"
    # 23:30 UTC on a summer Sunday is already Monday in London.
    assert jobs.run_key("followups", utc(2026, 6, 28, 23, 30), settings) == "followups:2026-06-29"
    assert jobs.run_key("digest", utc(2026, 6, 28, 23, 30), settings) == "digest:2026-W27"


# --------------------------------------------------------------------------- holidays

def test_term_dates_file_format_and_errors():
    holidays = parse_term_dates("# autumn\n\n2026-10-26,2026-10-30,October half-term\n2026-12-21, 2027-01-01\n")
    assert [(h.start.isoformat(), h.end.isoformat(), h.name) for h in holidays] == [
        ("2026-10-26", "2026-10-30", "October half-term"), ("2026-12-21", "2027-01-01", "")]
    with pytest.raises(SettingsError, match=r"terms.txt line 3 .*YYYY-MM-DD"):
        parse_term_dates("2026-10-26,2026-10-30\n\n26/10/2026,30/10/2026\n", "terms.txt")
    with pytest.raises(SettingsError, match="line 1 .*ends before it starts"):
        parse_term_dates("2026-10-30,2026-10-26")
    with pytest.raises(SettingsError, match="line 2 .*START,END"):
        parse_term_dates("2026-10-26,2026-10-30\n2026-12-21\n")


def test_digests_and_nudges_skip_school_holidays_but_rounds_run(engine, runtime, staff, slack, tmp_path, monkeypatch):
    terms = tmp_path / "terms.txt"
    terms.write_text("2026-12-21,2027-01-01,Christmas\n")
    runtime.settings = settings_for(runtime.settings.database_url, runtime.settings.slack_api_url,
                                    leads=frozenset(), term_dates_file=str(terms))
    proposed = []
    monkeypatch.setattr(jobs, "_round_services", lambda: (
        lambda session, ws, settings, started_by: proposed.append(ws.id) or _FakeRound(),
        lambda engine, messenger, ws, settings: {"posted": 0}))
    christmas_monday = utc(2026, 12, 28, 8)

    with freeze_time(christmas_monday):
        assert jobs.run_job("digest").status == "skipped"
        assert jobs.run_job("reciprocity").status == "skipped"
        assert jobs.run_job("expiry").status == "skipped"
        assert jobs.run_job("round").status == "done"
    assert slack.calls_to("chat.postMessage") == []
    assert len(proposed) == 1
    assert runs(engine)["digest:2026-W53"] == "skipped"

    with freeze_time(christmas_monday + timedelta(weeks=1)):  # back at school
        assert jobs.run_job("digest").status == "done"
    assert sorted(posted_to(slack)) == sorted(staff)


class _FakeRound:
    proposals = 0


# --------------------------------------------------------------------------- two clocks

def test_two_clocks_firing_the_same_job_at_once_run_it_once(engine, runtime, staff, slack):
    start = threading.Barrier(2)
    results = []

    def clock_process():
        start.wait()
        results.append(jobs.run_job("digest", MONDAY))

    with freeze_time(MONDAY):
        threads = [threading.Thread(target=clock_process) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert sorted(r.status for r in results) == ["busy", "done"]
    assert sorted(posted_to(slack)) == sorted(staff)
    assert runs(engine) == {"digest:2026-W48": "done"}


def test_claims_are_exclusive_under_contention(engine):
    """Eight would-be holders race for each of five periods: exactly one wins each."""
    winners: dict[str, list[str]] = {f"digest:2026-W{w}": [] for w in range(40, 45)}
    barrier = threading.Barrier(8)

    def contender(n):
        barrier.wait()
        for key in winners:
            if jobs.claim_run(engine, key, f"holder-{n}"):
                winners[key].append(n)

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(len(w) == 1 for w in winners.values()), winners


def test_a_finished_period_is_not_run_again(engine, runtime, staff, slack):
    with freeze_time(MONDAY):
        assert jobs.run_job("digest").status == "done"
    with freeze_time(MONDAY + timedelta(hours=2)):
        assert jobs.run_job("digest").status == "busy"
        assert jobs.catch_up(("digest",)) == []
    assert len(slack.calls_to("chat.postMessage")) == len(staff)


# --------------------------------------------------------------------------- crash and rerun

class CrashOnThird:
    def __init__(self, inner):
        self.inner, self.posts = inner, 0

    def post(self, channel, text, blocks=None, key=None):
        self.posts += 1
        if self.posts == 3:
            raise RuntimeError("killed halfway")
        return self.inner.post(channel, text, blocks, key=key)

    def find_sent(self, *args):
        return self.inner.find_sent(*args)

    def update(self, *args, **kwargs):
        return self.inner.update(*args, **kwargs)

    def open_conversation(self, user_ids):
        return self.inner.open_conversation(user_ids)


def test_a_run_that_crashes_is_finished_by_the_catch_up_each_message_once(engine, runtime, staff, slack):
    runtime.messenger = CrashOnThird(runtime.messenger)
    with freeze_time(MONDAY), pytest.raises(RuntimeError):
        jobs.run_job("digest")
    assert posted_to(slack) == staff[:2]
    assert runs(engine) == {"digest:2026-W48": "failed"}

    with freeze_time(MONDAY + timedelta(minutes=15)):
        [result] = jobs.catch_up(("digest",))
    assert result.status == "done"
    assert posted_to(slack) == staff  # the remaining four, nobody twice
    assert runs(engine)["digest:2026-W48"] == "done"


def test_a_run_left_running_by_a_dead_process_is_taken_over_after_the_lease(engine, runtime, staff, slack):
    assert jobs.claim_run(engine, "digest:2026-W48", "dead-host:123:abc", now=MONDAY)  # then the process died

    with freeze_time(MONDAY + timedelta(minutes=30)):
        assert jobs.run_job("digest", MONDAY).status == "busy"   # it may still be going: leave it
        assert jobs.catch_up(("digest",)) == []
    assert slack.calls_to("chat.postMessage") == []

    with freeze_time(MONDAY + jobs.JOB_LEASE + timedelta(minutes=1)):
        [result] = jobs.catch_up(("digest",))
    assert result.status == "done"
    assert sorted(posted_to(slack)) == sorted(staff)


def test_a_missed_run_is_made_up_within_the_grace_and_not_after(engine, runtime, staff, slack):
    with freeze_time(MONDAY + jobs.CATCH_UP_GRACE + timedelta(minutes=1)):
        assert jobs.catch_up(("digest",)) == []
    assert slack.calls_to("chat.postMessage") == []  # Monday's digest is too old to send now

    with freeze_time(MONDAY + timedelta(hours=3)):   # the clock was down at 08:00 and back by 11:00
        results = {r.job: r.status for r in jobs.catch_up(("digest",))}
    assert results["digest"] == "done"
    assert sorted(posted_to(slack)) == sorted(staff)


def test_a_storm_of_429s_delivers_everything_exactly_once_without_an_exception(engine, runtime, staff, slack):
    # Seven 429s in a row: more than the five retries one message gets, so one waits for the catch-up.
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=7)
    with freeze_time(MONDAY):
        first = jobs.run_job("digest")
    assert first.status == "incomplete"

    with freeze_time(MONDAY + timedelta(minutes=15)):
        [second] = jobs.catch_up(("digest",))
    assert second.status == "done"
    assert sorted(posted_to(slack)) == sorted(staff)
    assert len(slack.calls_to("chat.postMessage", ok=False)) == 7
    assert all(m.status == "sent" for m in ledger(engine, "digest"))


def test_a_permanent_error_is_recorded_and_the_period_is_done(engine, runtime, staff, slack):
    slack.error_next("chat.postMessage", "account_inactive")
    with freeze_time(MONDAY):
        assert jobs.run_job("digest").status == "done"
    with freeze_time(MONDAY + timedelta(minutes=15)):
        assert jobs.catch_up(("digest",)) == []
    failed = [m for m in ledger(engine, "digest") if m.status == "failed"]
    assert [(m.recipient, m.error) for m in failed] == [(staff[0], "account_inactive")]
    assert len(slack.calls_to("chat.postMessage")) == len(staff)


def test_uninstalled_workspaces_get_nothing(engine, runtime, staff, slack):
    gone = Network(engine, team="T0GONE0001")
    gone.member("U0GONE0001", "colgate")
    with session_scope(engine) as session:
        session.exec(select(Workspace).where(Workspace.team_id == "T0GONE0001")).one().uninstalled_at = MONDAY
    with freeze_time(MONDAY):
        jobs.run_job("digest")
    assert "U0GONE0001" not in posted_to(slack)
    assert sorted(posted_to(slack)) == sorted(staff)


def test_a_round_is_proposed_once_per_week_however_often_the_job_reruns(engine, runtime, monkeypatch):
    Network(engine), Network(engine, team="T0SECOND01")  # two installed workspaces
    proposed, carded = [], []
    crash = {"after_cards": True}

    def propose(session, workspace, settings, started_by):
        proposed.append(workspace.id)
        return _FakeRound()

    def cards(engine, messenger, workspace, settings):
        carded.append(workspace.id)
        if crash.pop("after_cards", False):
            raise RuntimeError("died after the first workspace's cards")
        return {"posted": 1, "failed": 0, "waiting": 0}

    monkeypatch.setattr(jobs, "_round_services", lambda: (propose, cards))
    with freeze_time(MONDAY), pytest.raises(RuntimeError):
        jobs.run_job("round")
    with freeze_time(MONDAY + timedelta(minutes=15)):
        assert jobs.run_job("round").status == "done"
    with freeze_time(MONDAY + timedelta(minutes=30)):
        assert jobs.run_job("round").status == "busy"

    assert sorted(proposed) == sorted(set(proposed)) and len(proposed) == 2  # each workspace once
    assert len(carded) == 3  # cards are re-posted on the rerun (the outbox makes that a no-op)
    keys = runs(engine)
    assert keys["round:2026-W48"] == "done"
    assert sum(k.startswith("round:2026-W48:ws") for k in keys) == 2


# --------------------------------------------------------------------------- the persistent job store

def test_jobs_survive_a_restart_and_settings_changes_replace_them(engine, settings):
    from apscheduler.schedulers.background import BackgroundScheduler

    with freeze_time(utc(2026, 11, 20, 12)):
        first = clock.make_scheduler(settings, engine, BackgroundScheduler)
        clock.install_jobs(first, settings)
        first.start(paused=True)
        before = {job.id: (job.func_ref, job.next_run_time) for job in first.get_jobs()}
        first.shutdown(wait=False)

        # A new process: a new scheduler on the same database, before it installs anything.
        second = clock.make_scheduler(settings, engine, BackgroundScheduler)
        second.start(paused=True)
        after = {job.id: (job.func_ref, job.next_run_time) for job in second.get_jobs()}
        second.shutdown(wait=False)

    assert set(before) == {"round", "digest", "followups", "feedback", "reciprocity", "expiry",
                           "review_reminders", "catch_up"}
    assert after == before
    assert after["digest"][0] == "bot.scheduling.jobs:weekly_digest"

    changed = settings_for(settings.database_url, settings.slack_api_url, digest_cron="tue 16:00",
                           round_cron="off")
    with freeze_time(utc(2026, 11, 20, 12)):
        third = clock.make_scheduler(changed, engine, BackgroundScheduler)
        clock.install_jobs(third, changed)
        third.start(paused=True)
        jobs_now = {job.id: job for job in third.get_jobs()}
        third.shutdown(wait=False)
    assert "round" not in jobs_now
    assert jobs_now["digest"].next_run_time.astimezone(timezone.utc) == utc(2026, 11, 24, 16, 0)
    assert len(jobs_now) == 7  # replaced, not duplicated


def test_describe_says_when_each_job_next_runs(settings):
    lines = clock.describe(settings, utc(2026, 3, 28, 12).astimezone(settings.zone))
    digest = next(line for line in lines if line.startswith("digest"))
    assert "mon 08:00" in digest and "Mon 30 Mar 2026 08:00 BST" in digest and "(07:00 UTC)" in digest
    assert "skips holidays" in digest
    assert "runs in holidays" in next(line for line in lines if line.startswith("round"))


def test_the_daily_jobs_run_the_real_services_once_a_day(engine, runtime, slack):
    net = Network(engine)
    net.member("U0COLGATE1", "colgate")
    net.member("U0HINCHLY1", "hinchley")
    day = utc(2026, 11, 24, 9, 0)
    need_id = net.need("colgate", by="U0COLGATE1", created=day - timedelta(days=10))
    offer_id = net.offer("hinchley", by="U0HINCHLY1", created=day - timedelta(days=10))
    net.pairing("colgate", "hinchley", "introduced", at=day - timedelta(days=8), need_id=need_id, offer_id=offer_id)
    net.pairing("colgate", "stmary", "completed", at=day - timedelta(days=60))
    net.pairing("colgate", "stmaryrc", "completed", at=day - timedelta(days=50))
    net.need("hinchley", "an old need nobody has touched", by="U0HINCHLY1", created=day - timedelta(weeks=13))

    with freeze_time(day):
        results = {name: jobs.run_job(name).status for name in ("followups", "feedback", "reciprocity", "expiry")}
    with freeze_time(day + timedelta(hours=1)):
        again = {name: jobs.run_job(name).status for name in ("followups", "feedback", "reciprocity", "expiry")}

    assert results == {"followups": "done", "feedback": "done", "reciprocity": "done", "expiry": "done"}
    assert set(again.values()) == {"busy"}
    kinds = sorted((m.kind, m.recipient) for m in ledger(engine))
    assert ("followup", "U0COLGATE1") in kinds and ("followup", "U0HINCHLY1") in kinds
    assert ("reciprocity", "U0COLGATE1") in kinds          # received three, gave none, no open offer
    assert ("expiry", "U0HINCHLY1") in kinds
    assert len(slack.calls_to("chat.postMessage")) == len(kinds)
    assert {k.split(":")[1] for k in runs(engine)} == {"2026-11-24"}
