"""Tests of the Slack test harness itself (tests/support): the stub Web API and the
signed-request sender, checked against real slack_sdk / slack_bolt code and
Slack's recorded payload shapes. No part of the bot is imported here."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator


class _NoWait(RetryIntervalCalculator):
    """The retries still happen (that is what these tests check); the back-off sleep does not."""

    def calculate_sleep_duration(self, current_attempt: int) -> float:
        return 0.0


NO_WAIT = _NoWait()
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.support.slack_requests import (
    SlackSender,
    load_fixture,
    multi_select,
    plain,
    select,
    serve_wsgi,
    sign,
)
from tests.support.slack_stub import SlackStub, dm_channel_id, mpim_channel_id

SECRET = "test-signing-secret-0123456789abcdef"
TOKEN = "xoxb-test-token"


@pytest.fixture
def stub():
    with SlackStub() as s:
        yield s


@pytest.fixture
def client(stub):
    return WebClient(token=TOKEN, base_url=stub.api_url)


def shape_keys(relpath: str, *inner: str) -> set:
    data = load_fixture(relpath)
    for key in inner:
        data = data[key][0] if isinstance(data[key], list) else data[key]
    return set(data)


# --------------------------------------------------------------------------- signing
def test_sign_matches_slack_documented_vector():
    v = load_fixture("python-slack-sdk/signature_test_vector.json")
    assert sign(v["signing_secret"], v["timestamp"], v["body"].encode()) == v["x_slack_signature"]
    assert sign(v["signing_secret"], int(v["timestamp"]), v["body"]) == v["x_slack_signature"]
    assert sign("other", v["timestamp"], v["body"]) != v["x_slack_signature"]


# --------------------------------------------------------------------------- stub: answers
def test_stub_answers_auth_test_with_slack_keys(stub, client):
    resp = client.auth_test()
    assert resp["ok"] is True
    assert resp["team_id"].startswith("T") and resp["user_id"].startswith("U") and resp["bot_id"].startswith("B")
    assert set(resp.data) - {"ok"} <= shape_keys("java-slack-sdk-shapes/api_auth.test.json")
    [call] = stub.calls_to("auth.test")
    assert call.token == TOKEN and call.ok


def test_stub_users_info_default_configured_and_unknown(stub, client):
    user = client.users_info(user="U0DEPUTY1")["user"]
    assert user["id"] == "U0DEPUTY1" and user["tz"] == "Europe/London" and user["deleted"] is False
    assert user["profile"]["display_name"] and user["profile"]["real_name"]
    assert set(user) <= shape_keys("java-slack-sdk-shapes/api_users.info.json", "user")
    assert set(user["profile"]) <= shape_keys("java-slack-sdk-shapes/api_users.info.json", "user", "profile")

    stub.users["U0LEAD1"] = {"real_name": "Priya Shah", "profile": {"display_name": "Priya"}}
    lead = client.users_info(user="U0LEAD1")["user"]
    assert lead["real_name"] == "Priya Shah" and lead["profile"]["display_name"] == "Priya"

    stub.users["U0GONE1"] = None
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U0GONE1")
    assert err.value.response["error"] == "user_not_found"

    stub.auto_users = False
    with pytest.raises(SlackApiError):
        client.users_info(user="U0DEPUTY1")
    assert client.users_info(user="U0LEAD1")["ok"]


def test_stub_conversations_open_is_stable(stub, client):
    one = client.conversations_open(users="U0A1")["channel"]["id"]
    assert one.startswith("D") and one == dm_channel_id("U0A1")
    group = client.conversations_open(users="U0A1,U0B2,U0C3")["channel"]["id"]
    again = client.conversations_open(users=["U0C3", "U0A1", "U0B2"])
    assert group.startswith("G") and again["channel"]["id"] == group == mpim_channel_id(["U0A1", "U0B2", "U0C3"])
    assert again["already_open"] is True
    assert client.conversations_open(users="U0A1,U0B2")["channel"]["id"] != group
    assert stub.calls_to("conversations.open")[1].params["users"] == "U0A1,U0B2,U0C3"


def test_stub_chat_methods(stub, client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
    first = client.chat_postMessage(channel="C0REVIEW1", text="hello", blocks=blocks)
    second = client.chat_postMessage(channel="U0DEPUTY1", text="dm")
    assert first["channel"] == "C0REVIEW1" and first["message"]["blocks"] == blocks
    assert second["channel"] == dm_channel_id("U0DEPUTY1")
    assert float(second["ts"]) > float(first["ts"]) and len(first["ts"].split(".")[1]) == 6
    call = stub.wait_for("chat.postMessage", 2)[0]
    assert call.json("blocks") == blocks and call.params["text"] == "hello"

    eph = client.chat_postEphemeral(channel="C0REVIEW1", user="U0DEPUTY1", text="only you")
    assert set(eph.data) <= shape_keys("java-slack-sdk-shapes/api_chat.postEphemeral.json")
    assert eph["message_ts"]

    upd = client.chat_update(channel="C0REVIEW1", ts=first["ts"], text="Approved")
    assert (upd["ok"], upd["channel"], upd["ts"], upd["text"]) == (True, "C0REVIEW1", first["ts"], "Approved")
    assert stub.messages[("C0REVIEW1", first["ts"])]["text"] == "Approved"

    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="", text="x")


def test_stub_form_encoded_blocks_are_left_as_sent_but_parseable(stub, client):
    client.api_call("chat.postMessage", data={"channel": "C1", "text": "t", "blocks": '[{"type":"divider"}]'})
    [call] = stub.calls_to("chat.postMessage")
    assert call.params["blocks"] == '[{"type":"divider"}]'
    assert call.json("blocks") == [{"type": "divider"}]


def test_stub_views(stub, client):
    modal = {"type": "modal", "callback_id": "need_modal", "title": {"type": "plain_text", "text": "Need"},
             "submit": {"type": "plain_text", "text": "Post"}, "private_metadata": "x",
             "blocks": [{"type": "input", "block_id": "text", "label": {"type": "plain_text", "text": "What?"},
                         "element": {"type": "plain_text_input", "action_id": "text"}}]}
    opened = client.views_open(trigger_id="1.2.abc", view=modal)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "need_modal"
    assert opened["blocks"] == modal["blocks"] and opened["private_metadata"] == "x"
    assert set(opened) <= shape_keys("java-slack-sdk-shapes/app-backend_views_ViewSubmissionPayload.json",
                                     "view") | {"blocks"}
    pushed = client.views_push(trigger_id="1.2.abd", view=modal)["view"]
    assert pushed["id"] != opened["id"]
    updated = client.views_update(view_id=opened["id"], view={**modal, "private_metadata": "y"})["view"]
    assert updated["id"] == opened["id"] and updated["private_metadata"] == "y"

    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}
    h1 = client.views_publish(user_id="U0DEPUTY1", view=home)["view"]
    h2 = client.views_publish(user_id="U0DEPUTY1", view=home)["view"]
    assert h1["type"] == "home" and h1["id"] == h2["id"]
    assert stub.calls_to("views.publish")[0].json("view")["type"] == "home"

    with pytest.raises(SlackApiError):
        client.api_call("views.open", json={"view": modal})  # no trigger_id


def test_stub_file_upload_v2_flow(stub, client):
    csv = "school,need\nColgate,attendance\n"
    result = client.files_upload_v2(content=csv, filename="pairings.csv", title="Pairings", channel="C0REVIEW1",
                                    initial_comment="Export")
    assert result["file"]["name"] == "pairings.csv" and result["file"]["size"] == len(csv)
    assert stub.methods() == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    get_url = stub.calls_to("files.getUploadURLExternal")[0]
    assert set(get_url.response) <= shape_keys("java-slack-sdk-shapes/api_files.getUploadURLExternal.json")
    upload = stub.calls_to("upload")[0]
    assert upload.params["length"] == len(csv) and stub.uploads[upload.params["file_id"]] == csv.encode()
    complete = stub.calls_to("files.completeUploadExternal")[0]
    assert complete.json("files")[0]["id"] == get_url.response["file_id"]
    assert complete.params["channel_id"] == "C0REVIEW1"
    assert set(result["files"][0]) <= shape_keys("java-slack-sdk-shapes/api_files.completeUploadExternal.json",
                                                 "files")


def test_stub_unknown_method_and_missing_token(stub, client):
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.nonsense")
    assert err.value.response["error"] == "unknown_method"
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=stub.api_url).api_call("auth.test")
    assert err.value.response["error"] == "not_authed"


# --------------------------------------------------------------------------- stub: failures
def test_rate_limit_429_retry_after_is_honoured_by_slack_sdk(stub):
    client = WebClient(token=TOKEN, base_url=stub.api_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    stub.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    resp = client.chat_postMessage(channel="C1", text="hello")
    assert resp["ok"] and time.monotonic() - started >= 1.0
    failed, ok = stub.wait_for("chat.postMessage", 2)
    assert (failed.status, failed.outcome, failed.ok) == (429, "http:429", False)
    assert failed.response == {"ok": False, "error": "ratelimited"}
    assert ok.ok and ok.params == failed.params
    assert len(stub.calls_to("chat.postMessage", ok=True)) == 1


def test_429_without_retry_handler_surfaces_retry_after(stub, client):
    stub.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] in ("7", ["7"])
    assert err.value.response["error"] == "ratelimited"


def test_server_errors_are_retried_by_server_error_handler(stub):
    client = WebClient(token=TOKEN, base_url=stub.api_url,
                       retry_handlers=[ServerErrorRetryHandler(max_retry_count=2, interval_calculator=NO_WAIT)])
    stub.fail_next("views.publish", status=503, times=2)
    assert client.views_publish(user_id="U0DEPUTY1", view={"type": "home", "blocks": []})["ok"]
    assert [c.status for c in stub.calls_to("views.publish")] == [503, 503, 200]

    stub.fail_next("auth.test", status=500, times=3)
    with pytest.raises(SlackApiError):
        client.auth_test()
    assert len(stub.calls_to("auth.test")) == 3


def test_permanent_error_raises_with_slack_error_string(stub):
    client = WebClient(token=TOKEN, base_url=stub.api_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2),
                                       ServerErrorRetryHandler(max_retry_count=2, interval_calculator=NO_WAIT)])
    for error in ("channel_not_found", "account_inactive", "user_not_found"):
        stub.error_next("chat.postMessage", error=error)
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C1", text="x")
        assert err.value.response["error"] == error
    assert [c.outcome for c in stub.calls_to("chat.postMessage")] == [
        "error:channel_not_found", "error:account_inactive", "error:user_not_found"]
    assert client.chat_postMessage(channel="C1", text="x")["ok"]  # only `times` calls fail


def test_wait_for_times_out_with_what_was_seen(stub, client):
    client.auth_test()
    with pytest.raises(AssertionError, match=r"chat.postMessage.*auth.test"):
        stub.wait_for("chat.postMessage", timeout=0.2)
    with pytest.raises(AssertionError, match="response_url"):
        stub.wait_for_response(timeout=0.2)


def test_wait_for_sees_calls_from_other_threads(stub, client):
    threading.Timer(0.2, lambda: client.chat_postMessage(channel="C1", text="later")).start()
    [call] = stub.wait_for("chat.postMessage", timeout=5)
    assert call.params["text"] == "later"
    stub.reset()
    assert stub.calls == [] and stub.responses == []


def test_response_urls_are_recorded(stub):
    url = stub.response_url("cmd1")
    assert url.startswith(stub.base_url + "/response/")
    assert WebhookClient(url).send(text="Done", response_type="ephemeral").status_code == 200
    [r] = stub.wait_for_response(1)
    assert r.name == "cmd1" and r.text == "Done" and r.body["response_type"] == "ephemeral"
    stub.fail_next("response", status=404)
    assert WebhookClient(url).send(text="late").status_code == 404


# --------------------------------------------------------------------------- sender: wire formats
def _capture():
    """A WSGI app that records the raw requests it receives."""
    seen = []

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        seen.append({"path": environ["PATH_INFO"], "body": body, "headers": headers})
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    return app, seen


@pytest.fixture
def captured():
    app, seen = _capture()
    with serve_wsgi(app) as url:
        yield SlackSender(url, SECRET, response_url_base="http://127.0.0.1:9/"), seen


def _verify(req, secret=SECRET) -> bool:
    return SignatureVerifier(secret).is_valid_request(req["body"], req["headers"])


def test_command_is_form_encoded_signed_and_slack_shaped(captured):
    sender, seen = captured
    assert sender.command("need help with Year 9 attendance").status_code == 200
    req = seen[-1]
    assert req["path"] == "/slack/events"
    assert req["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert _verify(req)
    fields = {k: v[0] for k, v in parse_qs(req["body"].decode(), keep_blank_values=True).items()}
    assert fields["command"] == "/collab" and fields["text"] == "need help with Year 9 attendance"
    assert fields["team_id"] == "T0COLLAB1" and fields["user_id"] == "U0DEPUTY1"
    assert fields["response_url"].startswith("http://127.0.0.1:9/response/")
    assert set(fields) <= shape_keys("java-slack-sdk-shapes/app-backend_slash-commands_SlashCommandPayload.json")
    assert set(load_fixture("bolt-python/slash_command.form.json")["fields"]) - {"enterprise_id", "enterprise_name"} \
        <= set(fields)
    sender.command("")
    assert seen[-1]["body"] != req["body"]  # fresh trigger_id / response_url each time


def test_interactions_are_payload_forms_with_fixture_shapes(captured):
    sender, seen = captured
    sender.action("approve", value="42", message={"ts": "1700000000.000200", "blocks": [], "text": "card"},
                  channel_id="C0REVIEW1")
    req = seen[-1]
    assert _verify(req)
    payload = json.loads(parse_qs(req["body"].decode())["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["action_id"] == "approve" and payload["actions"][0]["value"] == "42"
    assert payload["container"] == {"type": "message", "message_ts": "1700000000.000200",
                                    "channel_id": "C0REVIEW1", "is_ephemeral": False}
    assert payload["channel"]["id"] == "C0REVIEW1" and payload["message"]["ts"] == "1700000000.000200"
    block_shape = shape_keys("java-slack-sdk-shapes/app-backend_interactive-components_BlockActionPayload.json")
    assert set(payload) <= block_shape
    assert set(payload["actions"][0]) <= shape_keys(
        "java-slack-sdk-shapes/app-backend_interactive-components_BlockActionPayload.json", "actions")

    sender.action("open_need", view={"type": "home", "id": "V0HOME1", "blocks": []})
    payload = json.loads(parse_qs(seen[-1]["body"].decode())["payload"][0])
    assert payload["container"] == {"type": "view", "view_id": "V0HOME1"}
    assert "response_url" not in payload and "channel" not in payload

    sender.action("theme", selected_option=select("attendance")["selected_option"])
    payload = json.loads(parse_qs(seen[-1]["body"].decode())["payload"][0])
    assert payload["actions"][0]["type"] == "static_select"
    assert payload["actions"][0]["selected_option"]["value"] == "attendance"

    values = {"text": {"text": plain("Year 9 absence")}, "theme": {"theme": select("attendance", "Attendance")},
              "phases": {"phases": multi_select(["primary", "secondary"])}}
    sender.view_submission("need_modal", values, private_metadata='{"school": 7}', user_id="U0SBM1")
    req = seen[-1]
    assert _verify(req)
    payload = json.loads(parse_qs(req["body"].decode())["payload"][0])
    assert payload["type"] == "view_submission" and payload["user"]["id"] == "U0SBM1"
    assert payload["view"]["callback_id"] == "need_modal" and payload["view"]["state"]["values"] == values
    assert payload["view"]["private_metadata"] == '{"school": 7}'
    assert set(payload) <= shape_keys("java-slack-sdk-shapes/app-backend_views_ViewSubmissionPayload.json") \
        | {"response_urls"}
    assert set(payload["view"]) <= set(load_fixture("bolt-python/view_submission.json")["view"])


def test_events_are_json_envelopes(captured):
    sender, seen = captured
    sender.app_home_opened("U0DEPUTY1")
    sender.app_home_opened("U0DEPUTY1")
    first, second = (json.loads(r["body"]) for r in seen[-2:])
    assert seen[-1]["headers"]["content-type"] == "application/json" and _verify(seen[-1])
    assert first["type"] == "event_callback" and first["event"]["type"] == "app_home_opened"
    assert first["event"]["user"] == "U0DEPUTY1" and first["event"]["tab"] == "home"
    assert first["event_id"] != second["event_id"]
    assert set(first) <= shape_keys("java-slack-sdk-shapes/events_AppHomeOpenedPayload.json")
    assert set(first) >= set(load_fixture("bolt-python/event_app_home_opened.json")) - {"enterprise_id"}

    sender.tokens_revoked(user_ids=["U0DEPUTY1"], bot_ids=["U0COLLABBOT"])
    assert json.loads(seen[-1]["body"])["event"]["tokens"] == {"oauth": ["U0DEPUTY1"], "bot": ["U0COLLABBOT"]}
    sender.app_uninstalled()
    assert json.loads(seen[-1]["body"])["event"] == {"type": "app_uninstalled",
                                                    "event_ts": json.loads(seen[-1]["body"])["event"]["event_ts"]}
    sender.url_verification("abc")
    assert json.loads(seen[-1]["body"]) == {"token": json.loads(seen[-1]["body"])["token"], "challenge": "abc",
                                            "type": "url_verification"}
    sender.event({"user": "U1"}, event_type="app_mention", event_id="Ev1", retry_num=1)
    assert json.loads(seen[-1]["body"])["event"]["type"] == "app_mention"
    assert seen[-1]["headers"]["x-slack-retry-num"] == "1"


def test_signature_defences_can_be_exercised(captured):
    sender, seen = captured
    sender.command("x", secret="wrong-secret")
    assert not _verify(seen[-1]) and _verify(seen[-1], "wrong-secret")
    sender.command("x", timestamp=int(time.time()) - 60 * 10)
    assert not _verify(seen[-1])  # older than 5 minutes
    sender.command("x", sign=False)
    assert "x-slack-signature" not in seen[-1]["headers"]
    sender.raw(b"payload=%7Bnot-json", "application/x-www-form-urlencoded")
    assert seen[-1]["body"] == b"payload=%7Bnot-json" and _verify(seen[-1])


def test_bolt_request_verification_accepts_and_rejects(captured):
    from slack_bolt.middleware.request_verification import RequestVerification

    sender, seen = captured
    verifier = RequestVerification(SECRET)

    def bolt_status(req):
        bolt_req = BoltRequest(body=req["body"].decode(), headers=req["headers"])
        resp = verifier.process(req=bolt_req, resp=None, next=lambda: "passed")
        return 200 if resp == "passed" else resp.status

    sender.command("hello")
    assert BoltRequest(body=seen[-1]["body"].decode(), headers=seen[-1]["headers"]).body["command"] == "/collab"
    assert bolt_status(seen[-1]) == 200
    sender.action("approve")
    assert BoltRequest(body=seen[-1]["body"].decode(), headers=seen[-1]["headers"]).body["type"] == "block_actions"
    assert bolt_status(seen[-1]) == 200
    sender.command("hello", secret="nope")
    assert bolt_status(seen[-1]) == 401
    sender.command("hello", timestamp=int(time.time()) - 3600)
    assert bolt_status(seen[-1]) == 401


# --------------------------------------------------------------------------- end to end through real bolt
def test_sender_and_stub_drive_a_real_bolt_app(stub):
    """A throwaway bolt app (not Collab's) proves the harness fits bolt end to end."""
    events = []
    app = App(signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=stub.api_url))

    @app.command("/collab")
    def on_command(ack, command, respond):
        ack()
        respond(f"You said: {command['text']}")

    @app.action("approve")
    def on_approve(ack, body, client):
        ack()
        client.chat_update(channel=body["channel"]["id"], ts=body["message"]["ts"], text="Approved")

    @app.view("need_modal")
    def on_submit(ack, view, body, client):
        ack()
        text = view["state"]["values"]["text"]["text"]["value"]
        theme = view["state"]["values"]["theme"]["theme"]["selected_option"]["value"]
        client.chat_postMessage(channel=body["user"]["id"], text=f"{theme}: {text}")

    @app.event("app_home_opened")
    def on_home(event, client):
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    @app.event("app_uninstalled")
    def on_uninstalled(event):
        events.append(event["type"])

    @app.event("tokens_revoked")
    def on_revoked(event):
        events.append(event["tokens"])

    assert stub.calls_to("auth.test")  # bolt checked the token against the stub

    with serve_wsgi(SlackRequestHandler(app)) as url:
        sender = SlackSender(url, SECRET, response_url_base=stub.base_url)

        assert sender.command("need help").status_code == 200
        [r] = stub.wait_for_response(1)
        assert r.text == "You said: need help"

        resp = sender.action("approve", message={"ts": "1700000000.000900", "text": "card", "blocks": []},
                             channel_id="C0REVIEW1")
        assert resp.status_code == 200
        [upd] = stub.wait_for("chat.update")
        assert (upd.params["channel"], upd.params["ts"], upd.params["text"]) == ("C0REVIEW1", "1700000000.000900",
                                                                                 "Approved")

        values = {"text": {"text": plain("Year 9 absence")}, "theme": {"theme": select("attendance")}}
        assert sender.view_submission("need_modal", values).status_code == 200
        [post] = stub.wait_for("chat.postMessage")
        assert post.params["text"] == "attendance: Year 9 absence" and post.params["channel"] == "U0DEPUTY1"

        assert sender.app_home_opened("U0DEPUTY1").status_code == 200
        [pub] = stub.wait_for("views.publish")
        assert pub.params["user_id"] == "U0DEPUTY1"

        assert sender.app_uninstalled().status_code == 200
        assert sender.tokens_revoked(user_ids=["U0DEPUTY1"]).status_code == 200
        deadline = time.monotonic() + 5
        while len(events) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert events == ["app_uninstalled", {"oauth": ["U0DEPUTY1"]}]

        challenge = sender.url_verification("xyz")
        assert challenge.status_code == 200 and challenge.json() == {"challenge": "xyz"}

        assert sender.command("x", secret="wrong").status_code == 401
        assert sender.command("x", timestamp=int(time.time()) - 600).status_code == 401
        assert sender.command("x", sign=False).status_code == 401
        assert len(stub.responses) == 1  # rejected requests reached no listener


# --------------------------------------------------------------------------- stub vs Slack's OpenAPI spec
OPENAPI = Path(__file__).resolve().parent.parent.parent / "shared" / "slack" / "slack-api-specs" / \
    "slack_web_openapi_v2.json"


@pytest.mark.skipif(not OPENAPI.exists(), reason="../shared/slack (Slack's OpenAPI spec) is not beside the repo")
def test_stub_success_responses_use_openapi_key_names(stub, client):
    """Key names of the stub's answers are among those Slack's (approximate, 2020) spec allows."""
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))

    def allowed(method):
        props = set()
        for op in spec["paths"]["/" + method].values():
            ok = op["responses"]["200"]
            props |= set(ok.get("schema", {}).get("properties", {}))
            props |= set(ok.get("examples", {}).get("application/json", {}))
        return props

    answers = {
        "auth.test": client.auth_test(),
        "users.info": client.users_info(user="U0DEPUTY1"),
        "conversations.open": client.conversations_open(users="U0A1,U0B2"),
        "chat.postMessage": client.chat_postMessage(channel="C1", text="x"),
        "chat.postEphemeral": client.chat_postEphemeral(channel="C1", user="U0A1", text="x"),
        "views.open": client.views_open(trigger_id="1.2.3", view={"type": "modal", "blocks": []}),
        "views.publish": client.views_publish(user_id="U0A1", view={"type": "home", "blocks": []}),
    }
    answers["chat.update"] = client.chat_update(channel="C1", ts=answers["chat.postMessage"]["ts"], text="y")
    answers["views.update"] = client.views_update(view_id=answers["views.open"]["view"]["id"],
                                                  view={"type": "modal", "blocks": []})
    answers["conversations.open"].data.pop("no_op", None)  # real Slack sends it; the 2020 spec predates it
    for method, resp in answers.items():
        extra = set(resp.data) - allowed(method) - {"app_id", "is_enterprise_install"}
        assert not extra, f"{method}: keys not in Slack's spec: {extra}"
