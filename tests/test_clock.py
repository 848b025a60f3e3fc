"""The clock: schedules in London time across the clock changes, holidays, one run per period however
many clocks, crash and rerun, 429 storms, and a job store that survives a restart. Both backends."""
from __future__ import annotations

import dataclasses
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlmodel import select

from bot.scheduling import clock, jobs, schedules, tasks
from bot.scheduling import runs as claims
from bot.scheduling import registry
from bot.scheduling.registry import Runtime, run_key, schedule_of
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
    """What the entry point builds and passes to every run: this test's database and stub."""
    return Runtime(settings, engine, messenger_for(settings))


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
    schedule = schedules.parse_schedule(value, "COLLAB_DIGEST_AT")
    assert (schedule.day_of_week, schedule.hour, schedule.minute) == expected
    assert schedules.parse_schedule("off", "COLLAB_DIGEST_AT") is None


@pytest.mark.parametrize("value", ["mon", "8am monday", "mon 24:00", "mon 07:5", "funday 07:00", "mon 07:30 tue", ""])
def test_a_bad_schedule_names_its_setting(value):
    with pytest.raises(SettingsError, match="COLLAB_DIGEST_AT must look like"):
        schedules.parse_schedule(value, "COLLAB_DIGEST_AT")


def next_fires(settings, engine, at: datetime) -> dict[str, datetime]:
    """Install the jobs on a real (paused) scheduler at `at` and read when APScheduler will fire each."""
    from apscheduler.schedulers.background import BackgroundScheduler

    with freeze_time(at):
        scheduler = clock.make_scheduler(settings, BackgroundScheduler)
        clock.install_jobs(scheduler, Runtime(settings, engine, None))
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
    trigger = schedule_of("digest", settings).trigger(settings.zone)
    fire, seen = None, []
    now = utc(2026, 3, 16).astimezone(settings.zone)
    for _ in range(3):
        fire = trigger.get_next_fire_time(fire, now)
        now = fire
        seen.append(fire.astimezone(timezone.utc))
    assert seen == [utc(2026, 3, 16, 8), utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)]


def test_run_keys_are_the_london_week_or_day(settings):
    assert run_key("digest", MONDAY, settings) == "digest:2026-W48"
    assert run_key("followups", utc(2026, 11, 23, 9), settings) == "followups:2026-11-23"
    # 23:30 UTC on a summer Sunday is already Monday in London.
    assert run_key("followups", utc(2026, 6, 28, 23, 30), settings) == "followups:2026-06-29"
    assert run_key("digest", utc(2026, 6, 28, 23, 30), settings) == "digest:2026-W27"


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
    monkeypatch.setattr(tasks, "propose_round",
                        lambda session, ws, settings, started_by: proposed.append(ws.id) or _FakeRound())
    monkeypatch.setattr(tasks, "post_review_cards", lambda engine, messenger, ws, settings: {"posted": 0})
    christmas_monday = utc(2026, 12, 28, 8)

    with freeze_time(christmas_monday):
        assert jobs.run_job(runtime, "digest").status == "skipped"
        assert jobs.run_job(runtime, "reciprocity").status == "skipped"
        assert jobs.run_job(runtime, "expiry").status == "skipped"
        assert jobs.run_job(runtime, "round").status == "done"
    assert slack.calls_to("chat.postMessage") == []
    assert len(proposed) == 1
    assert runs(engine)["digest:2026-W53"] == "skipped"

    with freeze_time(christmas_monday + timedelta(weeks=1)):  # back at school
        assert jobs.run_job(runtime, "digest").status == "done"
    assert sorted(posted_to(slack)) == sorted(staff)


class _FakeRound:
    proposals = 0


# --------------------------------------------------------------------------- two clocks

def test_two_clocks_firing_the_same_job_at_once_run_it_once(engine, runtime, staff, slack):
    start = threading.Barrier(2)
    results = []

    def clock_process():
        start.wait()
        results.append(jobs.run_job(runtime, "digest", MONDAY))

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
            if claims.claim_run(engine, key, f"holder-{n}"):
                winners[key].append(n)

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(len(w) == 1 for w in winners.values()), winners


def test_a_finished_period_is_not_run_again(engine, runtime, staff, slack):
    with freeze_time(MONDAY):
        assert jobs.run_job(runtime, "digest").status == "done"
    with freeze_time(MONDAY + timedelta(hours=2)):
        assert jobs.run_job(runtime, "digest").status == "busy"
        assert jobs.catch_up(runtime, ("digest",)) == []
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
        jobs.run_job(runtime, "digest")
    assert posted_to(slack) == staff[:2]
    assert runs(engine) == {"digest:2026-W48": "failed"}

    with freeze_time(MONDAY + timedelta(minutes=15)):
        [result] = jobs.catch_up(runtime, ("digest",))
    assert result.status == "done"
    assert posted_to(slack) == staff  # the remaining four, nobody twice
    assert runs(engine)["digest:2026-W48"] == "done"


def test_a_run_left_running_by_a_dead_process_is_taken_over_a_minute_later(engine, runtime, staff, slack):
    assert claims.claim_run(engine, "digest:2026-W48", "dead-host:123:abc", now=MONDAY)  # then the process died

    with freeze_time(MONDAY + timedelta(seconds=30)):
        assert jobs.run_job(runtime, "digest", MONDAY).status == "busy"   # it may still be going: leave it
        assert jobs.catch_up(runtime, ("digest",)) == []
    assert slack.calls_to("chat.postMessage") == []

    with freeze_time(MONDAY + claims.JOB_LEASE.duration + timedelta(seconds=1)):
        [result] = jobs.catch_up(runtime, ("digest",))
    assert result.status == "done"
    assert sorted(posted_to(slack)) == sorted(staff)


def test_a_long_run_keeps_its_claim_by_renewing_it(engine, runtime, staff, slack, monkeypatch):
    """A run longer than the lease is not taken over while its process lives: the stamp moves on."""
    monkeypatch.setattr(claims, "JOB_LEASE", dataclasses.replace(claims.JOB_LEASE, duration=timedelta(seconds=0.3)))
    monkeypatch.setattr(jobs, "JOB_LEASE", claims.JOB_LEASE)
    seen = {}

    def slow(rt, now, key, holder):
        time.sleep(0.8)  # longer than the lease: only renewals keep the claim
        seen["second clock"] = jobs.run_job(rt, "digest").status
        return False, "slow"

    monkeypatch.setitem(registry.JOBS, "digest", dataclasses.replace(registry.JOBS["digest"], body=slow))
    assert jobs.run_job(runtime, "digest").status == "done"
    assert seen == {"second clock": "busy"}
def test_a_missed_run_is_made_up_within_the_grace_and_not_after(engine, runtime, staff, slack):
    with freeze_time(MONDAY + jobs.CATCH_UP_GRACE + timedelta(minutes=1)):
        assert jobs.catch_up(runtime, ("digest",)) == []
    assert slack.calls_to("chat.postMessage") == []  # Monday's digest is too old to send now

    with freeze_time(MONDAY + timedelta(hours=3)):   # the clock was down at 08:00 and back by 11:00
        results = {r.job: r.status for r in jobs.catch_up(runtime, ("digest",))}
    assert results["digest"] == "done"
    assert sorted(posted_to(slack)) == sorted(staff)


def test_a_storm_of_429s_delivers_everything_exactly_once_without_an_exception(engine, runtime, staff, slack):
    # Seven 429s in a row: more than the five retries one message gets, so one waits for the catch-up.
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=7)
    with freeze_time(MONDAY):
        first = jobs.run_job(runtime, "digest")
    assert first.status == "incomplete"

    with freeze_time(MONDAY + timedelta(minutes=15)):
        [second] = jobs.catch_up(runtime, ("digest",))
    assert second.status == "done"
    assert sorted(posted_to(slack)) == sorted(staff)
    assert len(slack.calls_to("chat.postMessage", ok=False)) == 7
    assert all(m.status == "sent" for m in ledger(engine, "digest"))


def test_a_permanent_error_is_recorded_and_the_period_is_done(engine, runtime, staff, slack):
    slack.error_next("chat.postMessage", "account_inactive")
    with freeze_time(MONDAY):
        assert jobs.run_job(runtime, "digest").status == "done"
    with freeze_time(MONDAY + timedelta(minutes=15)):
        assert jobs.catch_up(runtime, ("digest",)) == []
    failed = [m for m in ledger(engine, "digest") if m.status == "failed"]
    assert [(m.recipient, m.error) for m in failed] == [(staff[0], "account_inactive")]
    assert len(slack.calls_to("chat.postMessage")) == len(staff)


def test_uninstalled_workspaces_get_nothing(engine, runtime, staff, slack):
    gone = Network(engine, team="T0GONE0001")
    gone.member("U0GONE0001", "colgate")
    with session_scope(engine) as session:
        session.exec(select(Workspace).where(Workspace.team_id == "T0GONE0001")).one().uninstalled_at = MONDAY
    with freeze_time(MONDAY):
        jobs.run_job(runtime, "digest")
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

    monkeypatch.setattr(tasks, "propose_round", propose)
    monkeypatch.setattr(tasks, "post_review_cards", cards)
    with freeze_time(MONDAY), pytest.raises(RuntimeError):
        jobs.run_job(runtime, "round")
    with freeze_time(MONDAY + timedelta(minutes=15)):
        assert jobs.run_job(runtime, "round").status == "done"
    with freeze_time(MONDAY + timedelta(minutes=30)):
        assert jobs.run_job(runtime, "round").status == "busy"

    assert sorted(proposed) == sorted(set(proposed)) and len(proposed) == 2  # each workspace once
    assert len(carded) == 3  # cards are re-posted on the rerun (the outbox makes that a no-op)
    keys = runs(engine)
    assert keys["round:2026-W48"] == "done"
    assert sum(k.startswith("round:2026-W48:ws") for k in keys) == 2


# --------------------------------------------------------------------------- the job store

def test_every_start_installs_the_jobs_from_the_settings_with_the_runtime_as_argument(engine, settings):
    from apscheduler.schedulers.background import BackgroundScheduler

    rt = Runtime(settings, engine, None)
    with freeze_time(utc(2026, 11, 20, 12)):
        first = clock.make_scheduler(settings, BackgroundScheduler)
        clock.install_jobs(first, rt)
        first.start(paused=True)
        before = {job.id: job for job in first.get_jobs()}
        first.shutdown(wait=False)
    assert set(before) == {"round", "digest", "followups", "feedback", "reciprocity", "expiry",
                           "review_reminders", "introductions", "catch_up"}
    assert before["digest"].func is jobs.run_job and before["digest"].args == (rt, "digest")
    assert before["catch_up"].args == (rt,)
    # The first catch-up comes once a run killed just before this start has lost its lease.
    first_catch_up = before["catch_up"].next_run_time.astimezone(timezone.utc) - utc(2026, 11, 20, 12)
    assert claims.JOB_LEASE.duration < first_catch_up <= timedelta(minutes=2)

    changed = settings_for(settings.database_url, settings.slack_api_url, digest_cron="tue 16:00",
                           round_cron="off")
    with freeze_time(utc(2026, 11, 20, 12)):
        second = clock.make_scheduler(changed, BackgroundScheduler)
        clock.install_jobs(second, Runtime(changed, engine, None))
        second.start(paused=True)
        jobs_now = {job.id: job for job in second.get_jobs()}
        second.shutdown(wait=False)
    assert "round" not in jobs_now
    assert jobs_now["digest"].next_run_time.astimezone(timezone.utc) == utc(2026, 11, 24, 16, 0)
    assert len(jobs_now) == 8


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
        results = {name: jobs.run_job(runtime, name).status for name in ("followups", "feedback", "reciprocity", "expiry")}
    with freeze_time(day + timedelta(hours=1)):
        again = {name: jobs.run_job(runtime, name).status for name in ("followups", "feedback", "reciprocity", "expiry")}

    assert results == {"followups": "done", "feedback": "done", "reciprocity": "done", "expiry": "done"}
    assert set(again.values()) == {"busy"}
    kinds = sorted((m.kind, m.recipient) for m in ledger(engine))
    assert ("followup", "U0COLGATE1") in kinds and ("followup", "U0HINCHLY1") in kinds
    assert ("reciprocity", "U0COLGATE1") in kinds          # received three, gave none, no open offer
    assert ("expiry", "U0HINCHLY1") in kinds
    assert len(slack.calls_to("chat.postMessage")) == len(kinds)
    assert {k.split(":")[1] for k in runs(engine)} == {"2026-11-24"}


# --------------------------------------------------------------------------- the clock changes, for every job

# 2026's changes in London: 01:00-02:00 local is skipped on 29 March and repeated on 25 October.
CHANGES = {
    "spring (01:30 skipped)": (utc(2026, 3, 29, 6), [utc(2026, 3, 29, 1, 30)]),        # fires at 02:30 BST
    "autumn (01:30 repeated)": (utc(2026, 10, 25, 6), [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)]),
}


def _in_time(function, seconds: float = 10.0):
    """Call `function` in a thread; fail (instead of hanging the suite) if it does not return."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function} did not return within {seconds}s"
    return result["value"]


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("name", sorted(registry.JOBS))
def test_every_job_set_in_the_changing_hour_fires_and_catches_up_once(name, change, engine, settings, slack):
    end, firings = CHANGES[change]
    spec = registry.JOBS[name]
    value = "sun 01:30" if getattr(settings, spec.setting).split()[0] in schedules.DAYS else "daily 01:30"
    changed = dataclasses.replace(settings, **{spec.setting: value})
    schedule = schedule_of(name, changed)

    # Every firing from the evening before, stepped in UTC: the repeated hour fires twice, the skipped once.
    seen, moment = [], end - timedelta(hours=18)
    while (moment := schedules.next_due(schedule, changed.zone, moment)) <= end:
        seen.append(moment)
    assert seen == firings
    for hours in range(0, 7):  # last_due returns (the bug looped for ever) at each hour of that night
        now = end - timedelta(hours=6 - hours)
        expected = max((f for f in firings if f <= now), default=None)
        assert _in_time(lambda: schedules.last_due(schedule, changed.zone, now, jobs.CATCH_UP_GRACE)) == expected

    rt = Runtime(changed, engine, messenger_for(changed))
    with freeze_time(end):
        [result] = _in_time(lambda: jobs.catch_up(rt, (name,)))
        assert result.status in ("done", "skipped") and result.run_key == run_key(name, firings[-1], changed)
        assert _in_time(lambda: jobs.catch_up(rt, (name,))) == []  # both 01:30s are one period: run once


# --------------------------------------------------------------------------- introductions left undone

def test_approved_pairings_never_introduced_are_introduced_once_by_their_job(engine, runtime, slack):
    from bot.domain.pairings import State
    from models import OutgoingMessage, Pairing
    from tests.support.slack_stub import mpim_channel_id

    net = Network(engine)
    net.member("U0COLGATE1", "colgate")
    net.member("U0HINCHLY1", "hinchley")
    net.member("U0STMARY01", "stmary")
    day = utc(2026, 11, 24, 9, 0)
    # A lead approved both, and the process died before either introduction went.
    crashed = net.pairing("colgate", "hinchley", "approved", at=day - timedelta(hours=3),
                          need_id=net.need("colgate", by="U0COLGATE1"), offer_id=net.offer("hinchley", by="U0HINCHLY1"))
    # This one's introduction reached Slack, but the pairing was never marked introduced.
    half_done = net.pairing("stmary", "hinchley", "approved", at=day - timedelta(hours=2),
                            need_id=net.need("stmary", by="U0STMARY01"), offer_id=net.offer("hinchley", by="U0HINCHLY1"))
    with session_scope(engine) as session:
        session.add(OutgoingMessage(idempotency_key=f"intro:{half_done}", kind="introduction",
                                    recipient=f"pairing:{half_done}", status="sent", channel="G0SENT0001", ts="1.0"))
    untouched = net.pairing("colgate", "stmary", "introduced", at=day - timedelta(days=3))

    with freeze_time(day):
        result = jobs.run_job(runtime, "introductions")
    with freeze_time(day + timedelta(hours=1)):
        assert jobs.run_job(runtime, "introductions").status == "busy"
    with freeze_time(day + timedelta(days=1)):
        assert jobs.run_job(runtime, "introductions").detail == "nothing to introduce"

    assert result.status == "done" and result.detail == "already_sent 1, sent 1"
    [intro] = slack.calls_to("chat.postMessage", ok=True)  # one message in all
    assert intro.params["channel"] == mpim_channel_id(["U0COLGATE1", "U0HINCHLY1", "U0LEAD0001"])
    with session_scope(engine) as session:
        states = {p.id: (p.state, p.conversation_id) for p in session.exec(select(Pairing)).all()}
    assert states[crashed] == (State.INTRODUCED, intro.params["channel"])
    assert states[half_done] == (State.INTRODUCED, "G0SENT0001")
    assert states[untouched][0] == State.INTRODUCED
