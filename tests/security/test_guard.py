"""The guard in front of every listener, attacked through the real HTTP endpoint (issue 8).

Each test names the attack; each would fail if the guard let it through or answered 5xx.
"""
from __future__ import annotations

import io
import json
import socket
import time
from urllib.parse import urlencode, urlparse

import pytest
import requests
from sqlmodel import select

from bot.web import guard
from bot.web.guard import MAX_BODY_BYTES, SORRY, SlackGuard
from models import Need, SeenRequest, Workspace
from models.db import make_engine, session_scope
from tests.bot.commands.test_staff_commands import join, reply_text
from tests.support.slack_requests import SlackSender, plain, select as pick, serve_wsgi, sign
from tests.security.conftest import SECRET


def needs(engine) -> list[Need]:
    with session_scope(engine) as session:
        return list(session.exec(select(Need)).all())


def nothing_reached_a_listener(engine) -> bool:
    with session_scope(engine) as session:
        return session.exec(select(Workspace)).all() == []


def resend(sender: SlackSender) -> requests.Response:
    """The exact bytes and headers of the last request, again: what a replaying attacker sends."""
    return sender.session.post(sender.url, data=sender.last_body, headers=sender.last_headers, timeout=10)


# ------------------------------------------------------------------ headers, before any reading
@pytest.mark.parametrize("timestamp", ["abc", "", "1796238852.5", "9" * 400, "²³", "1700000000x", "-1", "1e9"])
def test_a_malformed_timestamp_is_a_clear_401(sender, engine, timestamp):
    response = sender.command("help", headers={"X-Slack-Request-Timestamp": timestamp})
    assert response.status_code == 401
    assert "X-Slack-Request-Timestamp" in response.json()["error"]
    assert nothing_reached_a_listener(engine)


@pytest.mark.parametrize("signature", ["", "v0=", "v1=" + "0" * 64, "v0=" + "A" * 64, "v0=" + "0" * 63,
                                       "v0=" + "0" * 65, "v0=" + "g" * 64])
def test_a_malformed_signature_is_a_clear_401(sender, engine, signature):
    response = sender.command("help", headers={"X-Slack-Signature": signature})
    assert response.status_code == 401
    assert "X-Slack-Signature" in response.json()["error"]
    assert nothing_reached_a_listener(engine)


def test_missing_headers_wrong_secret_and_stale_or_future_timestamps_are_401(sender, engine):
    assert sender.command("help", sign=False).status_code == 401
    wrong = sender.command("join 126013", secret="not-the-secret")
    assert wrong.status_code == 401 and "does not match" in wrong.json()["error"]
    assert sender.command("help", timestamp=int(time.time()) - 301).status_code == 401
    assert sender.command("help", timestamp=int(time.time()) + 301).status_code == 401
    assert nothing_reached_a_listener(engine)


def test_only_posts_reach_slack_listeners(app_url):
    response = requests.get(app_url + "/slack/events", timeout=10)
    assert response.status_code == 405 and response.json()["ok"] is False


# ------------------------------------------------------------------ size
def test_a_signed_body_over_the_limit_is_413(sender, engine):
    fields = sender.command_fields("need " + "x" * MAX_BODY_BYTES)
    response = sender.send_form(fields)
    assert response.status_code == 413
    assert nothing_reached_a_listener(engine)


def test_a_huge_declared_body_is_refused_without_reading_it(app_url):
    """100 MB announced, nothing sent: an answer that waited to read the body would never come."""
    url = urlparse(app_url)
    ts = str(int(time.time()))
    head = (f"POST /slack/events HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n"
            f"X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: v0={'0' * 64}\r\n\r\n")
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(head.encode())
        answer = connection.recv(4096).decode()
    assert answer.startswith("HTTP/1.0 413") or answer.startswith("HTTP/1.1 413"), answer


def call_guard(app_guard: SlackGuard, body: bytes, **environ) -> tuple[str, bytes]:
    """Call the guard as a WSGI server would, for framings the test server cannot send."""
    ts = str(int(time.time()))
    env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "wsgi.input": io.BytesIO(body),
           "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
           "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts, "HTTP_X_SLACK_SIGNATURE": sign(SECRET, ts, body)}
    env.update(environ)
    seen = {}
    payload = b"".join(app_guard(env, lambda status, headers: seen.setdefault("status", status)))
    return seen["status"], payload


def test_chunked_bodies_are_limited_and_bad_lengths_are_400(engine):
    reached = []
    app_guard = SlackGuard(lambda env, start: reached.append(env) or [], SECRET, engine)
    status, _ = call_guard(app_guard, b"x" * (MAX_BODY_BYTES + 1), CONTENT_LENGTH="",
                           HTTP_TRANSFER_ENCODING="chunked")
    assert status.startswith("413")
    status, _ = call_guard(app_guard, b"command=/collab", CONTENT_LENGTH="12abc")
    assert status.startswith("400")
    status, _ = call_guard(app_guard, b"command=/collab", CONTENT_LENGTH="500")  # the body stops short
    assert status.startswith("400")
    assert reached == []


# ------------------------------------------------------------------ replay
def test_a_replayed_need_is_stored_once(sender, engine, schools):
    join(sender)
    assert "saved" in reply_text(sender.command("need help with persistent absence in Year 9")).lower()
    for _ in range(2):
        again = resend(sender)
        assert again.status_code == 401 and "replay" in again.json()["error"]
    assert len(needs(engine)) == 1


def test_a_replay_is_refused_by_another_worker_after_a_restart(sender, engine, settings, schools):
    from bot.web.wsgi import create_wsgi_app

    join(sender)
    sender.command("need help with persistent absence in Year 9")
    other_engine = make_engine(settings.database_url)
    with serve_wsgi(create_wsgi_app(settings, other_engine)) as other_url:
        again = sender.session.post(other_url + "/slack/events", data=sender.last_body,
                                    headers=sender.last_headers, timeout=10)
    other_engine.dispose()
    assert again.status_code == 401
    assert len(needs(engine)) == 1


def test_a_replayed_event_is_acknowledged_and_changes_nothing(sender, slack, schools):
    sender.app_home_opened("U0DEPUTY01")
    slack.wait_for("views.publish")
    again = resend(sender)
    assert again.status_code == 200 and again.text == ""
    time.sleep(0.3)
    assert len(slack.calls_to("views.publish")) == 1


def test_slacks_url_verification_and_ssl_check_pass_the_guard(sender):
    response = sender.url_verification("the-challenge")
    assert response.status_code == 200 and "the-challenge" in response.text
    assert sender.send_form({"ssl_check": "1", "token": "x"}).status_code == 200


def test_old_signatures_are_forgotten(engine, monkeypatch):
    from datetime import datetime, timedelta, timezone

    with session_scope(engine) as session:
        session.add(SeenRequest(signature="v0=old", seen_at=datetime.now(timezone.utc) - timedelta(hours=1)))
    app_guard = SlackGuard(lambda env, start: start("200 OK", []) or [b""], SECRET, engine)
    form = urlencode({"command": "/collab", "team_id": "T0COLLAB1", "user_id": "U0DEPUTY01"}).encode()
    assert call_guard(app_guard, form)[0].startswith("200")
    with session_scope(engine) as session:
        assert [s.signature for s in session.exec(select(SeenRequest)).all()] != ["v0=old"]
        assert session.get(SeenRequest, "v0=old") is None


# ------------------------------------------------------------------ malformed but signed
FORM = "application/x-www-form-urlencoded"


def payload_form(text: str) -> str:
    return urlencode({"payload": text})


def action_with(sender, **changes) -> str:
    payload = sender.action_payload("post_pause", "need:1")
    payload.update(changes)
    return payload_form(json.dumps(payload))


MALFORMED = {
    "payload {": lambda s: (payload_form("{"), FORM),
    "payload null": lambda s: (payload_form("null"), FORM),
    "payload []": lambda s: (payload_form("[]"), FORM),
    "payload 5": lambda s: (payload_form("5"), FORM),
    "deep nesting": lambda s: (payload_form("[" * 30000 + "]" * 30000), FORM),
    "actions []": lambda s: (action_with(s, actions=[]), FORM),
    "action without action_id": lambda s: (action_with(s, actions=[{"value": "need:1"}]), FORM),
    "action value not text": lambda s: (action_with(s, actions=[{"action_id": "post_pause", "value": 5}]), FORM),
    "team null (org-wide Enterprise Grid)": lambda s: (action_with(s, team=None), FORM),
    "no user": lambda s: (action_with(s, user=None), FORM),
    "40-character user id": lambda s: (action_with(s, user={"id": "U" + "1" * 39}), FORM),
    "event body not JSON": lambda s: ("{not json", "application/json"),
    "event null": lambda s: (json.dumps(s.event_envelope({"type": "x"}) | {"event": None}), "application/json"),
    "event without team_id": lambda s: (json.dumps({k: v for k, v in s.event_envelope(
        {"type": "app_home_opened", "user": "U0DEPUTY01"}).items() if k != "team_id"}), "application/json"),
    "event_time not a number": lambda s: (json.dumps(s.event_envelope({"type": "app_uninstalled"}) | {
        "event_time": "soon"}), "application/json"),
    "command without user_id": lambda s: (urlencode({k: v for k, v in s.command_fields("help").items()
                                                     if k != "user_id"}), FORM),
    "command without team_id": lambda s: (urlencode({k: v for k, v in s.command_fields("help").items()
                                                     if k != "team_id"}), FORM),
    "command from a 40-character user": lambda s: (urlencode(s.command_fields("help", user_id="U" + "A" * 39)), FORM),
    "neither command nor payload": lambda s: (urlencode({"hello": "world"}), FORM),
    "a form body Bolt would read as JSON": lambda s: (json.dumps({"x": "&" + urlencode(s.command_fields("help"))}), FORM),
    "not UTF-8": lambda s: (b"command=/collab&text=\xff\xfe", FORM),
    "a raw NUL byte in the body": lambda s: (urlencode(s.command_fields("help")).encode() + b"\x00", FORM),
    "NUL in a button's value": lambda s: (action_with(s, actions=[{"action_id": "post_pause", "value": "need:\x001"}]), FORM),
    "NUL in an event": lambda s: (json.dumps(s.event_envelope({"type": "app_home_opened", "user": "U0DEPUTY01",
                                                               "tab": "ho\x00me"})), "application/json"),
}


@pytest.mark.parametrize("attack", list(MALFORMED))
def test_a_malformed_signed_body_is_a_clear_400_and_reaches_no_listener(sender, engine, attack):
    body, content_type = MALFORMED[attack](sender)
    response = sender.raw(body, content_type)
    assert response.status_code == 400, response.text
    assert response.json()["ok"] is False and response.json()["error"]
    assert nothing_reached_a_listener(engine)


def test_a_need_modal_with_forged_metadata_saves_nothing(sender, engine, schools):
    join(sender)
    values = {"text": {"value": plain("help with persistent absence in Year 9")},
              "theme": {"value": pick("attendance")}, "urgency": {"value": pick("normal")}}
    for metadata in ("not json", "[1, 2]", "null"):
        response = sender.view_submission("need_modal", values, private_metadata=metadata)
        assert response.status_code == 400
    assert needs(engine) == []


def test_a_nul_typed_in_a_command_is_explained_and_what_was_typed_comes_back(sender, engine, schools):
    join(sender)
    response = sender.command("need help with <!channel> attendance\x00 in Year 9")
    assert response.status_code == 200
    text = response.json()["text"]
    assert "NUL" in text and "need help with &lt;!channel&gt; attendance in Year 9" in text
    assert needs(engine) == []


def test_a_nul_typed_in_a_modal_keeps_it_open_with_the_problem_beside_the_field(sender, engine, schools):
    join(sender)
    values = {"theme": {"value": pick("attendance")},
              "text": {"value": plain("help with persistent\x00 absence in Year 9")}}
    response = sender.view_submission("need_modal", values, private_metadata=json.dumps({"channel": "C0GENERAL1"}))
    assert response.status_code == 200
    assert response.json()["response_action"] == "errors" and list(response.json()["errors"]) == ["text"]
    assert needs(engine) == []


def test_a_command_mentioning_payload_reaches_its_listener(sender, engine, schools):
    """Bolt reads any form containing the letters "payload" as an interaction: it found no listener."""
    join(sender)
    reply = reply_text(sender.command("need a payload of books for our library please"))
    assert "saved" in reply.lower()
    assert [n.text for n in needs(engine)] == ["a payload of books for our library please"]


# ------------------------------------------------------------------ the last resort
def broken_pause(monkeypatch):
    """A listener failing in a way nobody foresaw: the use case raises what int("²") raises."""
    from bot.services import members

    def fails(*args, **kwargs):
        int("²")

    monkeypatch.setattr(members, "pause", fails)


def test_a_command_whose_listener_fails_gets_a_polite_ephemeral(sender, schools, monkeypatch):
    join(sender)
    broken_pause(monkeypatch)
    for text in ("pause", "pause 2"):
        response = sender.command(text)
        assert response.status_code == 200
        assert response.json() == {"response_type": "ephemeral", "text": SORRY}


def test_a_button_whose_listener_fails_is_answered_on_its_response_url(sender, slack, schools, monkeypatch):
    from bot.slack.deps import Deps

    def broken(self, fn, *args, **kwargs):
        raise RuntimeError("the worker's pool is gone")

    join(sender)
    slack.reset()
    monkeypatch.setattr(Deps, "after_ack", broken)
    response = sender.action("post_pause", "need:1")
    assert response.status_code == 200 and response.text == ""
    reply = slack.wait_for_response()[-1]
    assert reply.text == SORRY and reply.json("response_type") == "ephemeral"
    assert reply.json("replace_original") is False


def test_a_button_in_app_home_whose_listener_fails_is_answered_by_message(sender, slack, schools, monkeypatch):
    from bot.slack.deps import Deps

    monkeypatch.setattr(Deps, "after_ack", lambda self, fn, *a, **k: 1 / 0)
    response = sender.action("post_pause", "need:1", view={"type": "home", "blocks": []})
    assert response.status_code == 200
    message = slack.wait_for("chat.postMessage")[-1]
    assert message.params["channel"] == "U0DEPUTY01" and message.params["text"] == SORRY


def test_a_modal_whose_listener_fails_stays_open_with_what_was_typed(sender, schools, monkeypatch):
    from bot.services import posts

    join(sender)
    monkeypatch.setattr(posts, "post_need", lambda *a, **k: 1 / 0)
    values = {"text": {"value": plain("help with persistent absence in Year 9")},
              "theme": {"value": pick("attendance")}}
    response = sender.view_submission("need_modal", values, private_metadata=json.dumps({"channel": "C0GENERAL1"}))
    assert response.status_code == 200
    assert response.json() == {"response_action": "errors", "errors": {"text": SORRY[:150]}}


def test_an_event_whose_listener_fails_is_acknowledged(sender, slack, monkeypatch):

    monkeypatch.setattr("bot.slack.listeners.events.mark_uninstalled", lambda *a: 1 / 0)
    response = sender.app_uninstalled()
    assert response.status_code == 200 and response.text == ""


def test_the_guard_itself_failing_is_still_no_500(sender, engine, monkeypatch):
    """The replay store unreachable (say the database is down) after the signature was checked."""
    def down(self, signature):
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(SlackGuard, "_remember", down)
    response = sender.command("help")
    assert response.status_code == 200 and response.json()["text"] == SORRY
    event = sender.app_home_opened()
    assert event.status_code == 200


def test_the_failure_is_logged_without_its_message(sender, schools, caplog, monkeypatch):
    join(sender)
    broken_pause(monkeypatch)
    with caplog.at_level("ERROR"):
        sender.command("pause")
    logged = [r.getMessage() for r in caplog.records if r.name in (guard.__name__, "bot.web.wsgi")]
    assert len(logged) == 2 and "²" not in " ".join(logged) and "U0DEPUTY01" not in " ".join(logged)
    assert "ValueError at " in logged[0] and ".py:" in logged[0] and "(command)" in logged[1]
