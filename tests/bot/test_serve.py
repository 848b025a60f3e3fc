"""`collab serve` as it runs in production: gunicorn in a subprocess, signed requests over HTTP."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from models.db import make_engine, upgrade
from tests.support.slack_requests import SlackSender
from tests.support.slack_stub import SlackStub

SECRET = "serve-test-signing-secret-0123456789"
READY_SECONDS = 60


def collab() -> list[str]:
    script = Path(sys.executable).with_name("collab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**values) -> dict:
    """The test's environment minus any Slack or database settings a developer has exported."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DATABASE_URL", "COLLAB_", "WEB_CONCURRENCY", "PORT"))}
    env.update(values)
    return env


@pytest.fixture
def server(tmp_path, request):
    database_url = f"sqlite:///{tmp_path / 'collab.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    port = free_port()
    log = tmp_path / "serve.log"
    with SlackStub() as stub, open(log, "wb") as out:
        env = clean_env(SLACK_BOT_TOKEN="xoxb-serve-test", SLACK_SIGNING_SECRET=SECRET,
                        SLACK_API_URL=stub.api_url, DATABASE_URL=database_url,
                        COLLAB_LOG_LEVEL=getattr(request, "param", "INFO"))
        # cwd is the temp folder so a developer's .env cannot supply settings.
        process = subprocess.Popen(collab() + ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                   env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + READY_SECONDS
            while True:
                assert process.poll() is None, f"collab serve exited {process.returncode}:\n{log.read_text()}"
                try:
                    if requests.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, f"/healthz not 200 within {READY_SECONDS}s:\n{log.read_text()}"
                time.sleep(0.2)
            yield url, stub, process, log
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


# Each gunicorn start costs seconds (a master and a worker importing the app and loading the theme
# model), so each started server is asked everything its log level is for: this one at INFO (what
# production logs), tests/security/test_serve.py's at DEBUG.

def test_serve_answers_health_signed_commands_refuses_bad_signatures_and_logs_nothing_personal(server):
    url, stub, process, log = server
    health = requests.get(url + "/healthz", timeout=10)
    assert health.status_code == 200 and health.json() == {"ok": True}

    sender = SlackSender(url, SECRET, response_url_base=stub.base_url)
    reply = sender.command("help")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert "/collab join" in body.get("text", "") + str(body.get("blocks", ""))

    forged = sender.command("help", secret="not-the-signing-secret")
    assert forged.status_code == 401

    send_personal_data(url, stub)
    process.terminate()
    assert process.wait(timeout=30) == 0, log.read_text()
    assert_log_holds_nothing_personal(log)


def test_serve_without_signing_secret_exits_2_naming_it(tmp_path):
    env = clean_env(SLACK_BOT_TOKEN="xoxb-serve-test", DATABASE_URL=f"sqlite:///{tmp_path / 'collab.db'}")
    done = subprocess.run(collab() + ["serve", "--port", str(free_port())], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "SLACK_SIGNING_SECRET" in lines[0], done.stderr


PERSONAL = ("xoxb-serve-test", "U0PRIVATE01", "Jo Bloggs", SECRET)


def send_personal_data(url, stub) -> None:
    """Requests whose handling could log a token, a user id or what someone typed."""
    sender = SlackSender(url, SECRET, response_url_base=stub.base_url, user_id="U0PRIVATE01")
    sender.command("join nowhere at all")  # a problem answered to the user
    sender.command("need Jo Bloggs in Year 9 keeps missing Mondays")  # not joined: refused, echoed to the user
    sender.action("no_such_button", "Jo Bloggs secret value")  # Bolt warns about an unhandled request
    stub.error_next("views.open", "invalid_auth")
    sender.command("help")


def assert_log_holds_nothing_personal(log) -> None:
    """Read once the server has stopped, so everything its worker did is in the log."""
    written = log.read_text()
    assert "Listening at" in written  # the log was captured at all
    for secret in PERSONAL:
        assert secret not in written, f"{secret!r} leaked into the log:\n{written}"
