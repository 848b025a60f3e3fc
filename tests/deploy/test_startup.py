"""`collab serve` and `collab clock` refuse to start on a database that is not ready (one line, exit 2),
and /healthz is 503 until the schema is current, through the real commands and the real WSGI app."""
from __future__ import annotations

import os
import subprocess
from wsgiref.util import setup_testing_defaults

import pytest

from bot.cli import main
from bot.web.wsgi import create_wsgi_app
from models.db import make_engine, upgrade
from tests.bot.test_serve import SECRET, clean_env, collab
from tests.support.rhythm import settings_for


def run_collab(argv, database_url, cwd, timeout=60):
    env = clean_env(SLACK_BOT_TOKEN="xoxb-startup-test", SLACK_SIGNING_SECRET=SECRET,
                    SLACK_API_URL="http://127.0.0.1:9/api/", COLLAB_REVIEW_CHANNEL="C0REVIEW01",
                    DATABASE_URL=database_url)
    return subprocess.run(collab() + argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def one_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# Subprocesses are slow (a second or more each just to import, three for `clock`): one real run per
# command, each showing the one line a deploy sees on stderr; the other cases in-process through
# main(), the same code after the console script (check_database, shared by both commands).

def test_serve_on_a_missing_database_file_stops_with_one_line_and_creates_nothing(tmp_path):
    path = tmp_path / "collab.db"
    done = run_collab(["serve", "--port", "0", "--workers", "1"], f"sqlite:///{path}", tmp_path)
    assert done.returncode == 2
    assert one_line(done) == f"collab: the database sqlite:///{path} does not exist yet: run `collab db upgrade` first"
    assert not path.exists()


def assert_unreachable(line: str) -> None:
    assert line.startswith("collab: cannot reach the database postgresql+psycopg://collab:***@127.0.0.1:")
    assert line.endswith("check DATABASE_URL and that the server is up")


def test_clock_on_an_unreachable_server_stops_with_one_line_without_the_password(unreachable_postgres_url, tmp_path):
    done = run_collab(["clock"], unreachable_postgres_url, tmp_path)
    assert done.returncode == 2
    assert_unreachable(one_line(done))
    assert "hunter2" not in done.stderr + done.stdout


@pytest.fixture
def env(monkeypatch, tmp_path):
    """In-process runs: the settings a deploy has, no developer's .env, the database set per test."""
    monkeypatch.chdir(tmp_path)
    for name in set(os.environ) - set(clean_env()):
        monkeypatch.delenv(name)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-startup-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("COLLAB_REVIEW_CHANNEL", "C0REVIEW01")
    return monkeypatch


LONG_RUNNING = [["serve", "--port", "0", "--workers", "1"], ["serve", "--socket-mode"], ["clock"],
                ["clock", "--run", "digest"]]
LONG_RUNNING_IDS = ["serve", "socket-mode", "clock", "clock-run"]


@pytest.mark.parametrize("argv", LONG_RUNNING, ids=LONG_RUNNING_IDS)
def test_each_long_running_command_stops_on_a_database_without_the_schema(argv, env, empty_database_url, capsys):
    env.setenv("SLACK_APP_TOKEN", "xapp-startup-test")
    env.setenv("DATABASE_URL", empty_database_url)
    assert main(argv) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("collab: the database ") and line.endswith("has no Collab schema yet: run `collab db upgrade` first")


@pytest.mark.parametrize("argv", LONG_RUNNING, ids=LONG_RUNNING_IDS)
def test_each_long_running_command_stops_on_an_unreachable_server_without_the_password(
        argv, env, unreachable_postgres_url, capsys):
    env.setenv("SLACK_APP_TOKEN", "xapp-startup-test")
    env.setenv("DATABASE_URL", unreachable_postgres_url)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert_unreachable(line)
    assert "hunter2" not in out + err


def test_a_missing_setting_is_still_named_before_the_database_is_tried(env, unreachable_postgres_url, capsys):
    env.delenv("SLACK_BOT_TOKEN")
    env.setenv("DATABASE_URL", unreachable_postgres_url)
    assert main(["clock"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == ["collab: SLACK_BOT_TOKEN is not set (see .env.example)"]


def test_clock_show_needs_no_database(env, tmp_path, capsys):
    env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    assert main(["clock", "--show"]) == 0
    assert "round" in capsys.readouterr().out
    assert not (tmp_path / "absent.db").exists()


def get_healthz(app) -> tuple[str, bytes]:
    environ = {"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    assert answer["headers"]["Content-Length"] == str(len(body))
    return answer["status"], body


def test_healthz_is_503_until_the_schema_is_current_then_200(empty_database_url):
    engine = make_engine(empty_database_url)
    app = create_wsgi_app(settings_for(empty_database_url), engine)
    status, body = get_healthz(app)
    assert status.startswith("503")
    assert body == b'{"ok": false, "error": "database schema is not current: run collab db upgrade"}'
    upgrade(engine)
    assert get_healthz(app) == ("200 OK", b'{"ok": true}')
    engine.dispose()


def test_healthz_is_503_when_the_database_is_unreachable(unreachable_postgres_url):
    engine = make_engine(unreachable_postgres_url)
    status, body = get_healthz(create_wsgi_app(settings_for(unreachable_postgres_url), engine))
    assert status.startswith("503") and body == b'{"ok": false, "error": "database unreachable"}'
    engine.dispose()


def test_healthz_on_a_missing_sqlite_file_is_503_and_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'collab.db'}"
    engine = make_engine(url)
    status, body = get_healthz(create_wsgi_app(settings_for(url), engine))
    assert status.startswith("503") and b"database unreachable" in body
    assert not (tmp_path / "collab.db").exists()
    engine.dispose()
