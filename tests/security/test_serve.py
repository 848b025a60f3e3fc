"""The guard as production runs it: `collab serve` (gunicorn) in a subprocess, attacked over HTTP."""
from __future__ import annotations

import socket
import time
from urllib.parse import urlparse

import pytest

from bot.web.guard import SORRY
from tests.bot.test_serve import (SECRET, assert_log_holds_nothing_personal, send_personal_data,
                                  server)  # noqa: F401  (the fixture)
from tests.support.slack_requests import SlackSender


def raw_exchange(url: str, head: str, body: bytes = b"") -> str:
    parts = urlparse(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(head.encode() + body)
        return connection.recv(4096).decode("latin-1")


@pytest.mark.parametrize("server", ["DEBUG"], indirect=True)
def test_gunicorn_behind_the_guard_holds_and_its_debug_log_keeps_nothing_personal(server):
    """One gunicorn start at DEBUG (the most a log can say): the guard's answers over real sockets,
    then tests/bot/test_serve.py's requests that could log personal data, then the whole log read."""
    url, stub, process, log = server
    sender = SlackSender(url, SECRET, response_url_base=stub.base_url, user_id="U0PRIVATE01")
    for timestamp in ("abc", "1796238852.5", "9" * 400):
        assert sender.command("help", headers={"X-Slack-Request-Timestamp": timestamp}).status_code == 401
    ts = str(int(time.time()))
    signed_head = (f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   f"X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: v0={'0' * 64}\r\n")
    assert " 413 " in raw_exchange(url, signed_head + "Content-Length: 100000000\r\n\r\n").split("\r\n")[0]
    chunk = b"x" * (300 * 1024)
    chunked = b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n"
    assert " 413 " in raw_exchange(url, signed_head + "Transfer-Encoding: chunked\r\n\r\n", chunked).split("\r\n")[0]

    assert sender.command("help").status_code == 200
    replay = sender.session.post(sender.url, data=sender.last_body, headers=sender.last_headers, timeout=10)
    assert replay.status_code == 401
    sender.command("join 126013")
    # Something nobody foresaw: the table a command needs disappears under the running server.
    import sqlite3

    with sqlite3.connect(str(log.parent / "collab.db")) as db:
        db.execute("ALTER TABLE member RENAME TO member_gone")
    failed = sender.command("pause 2")
    assert failed.status_code == 200 and failed.json()["text"] == SORRY
    with sqlite3.connect(str(log.parent / "collab.db")) as db:
        db.execute("ALTER TABLE member_gone RENAME TO member")
    sender.command("need Jo Bloggs in Year 9 keeps missing Mondays")
    send_personal_data(url, stub)
    process.terminate()
    assert process.wait(timeout=30) == 0, log.read_text()
    assert "a Slack request (command) failed" in log.read_text()
    assert_log_holds_nothing_personal(log)
