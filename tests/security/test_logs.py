"""Nothing personal in the log at any level (issue 8): a marker goes through every surface at DEBUG,
with the production log configuration, and is found nowhere in what the log wrote."""
from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import configure, from_slack_library, withhold
from tests.bot.commands.test_staff_commands import join
from tests.support.slack_requests import plain, select as pick

MARKER = "Zanzibarquokka"
PERSON = "U0MARKER01"


@pytest.fixture
def debug_log():
    """The log exactly as `collab serve` sets it up, at DEBUG, written to a string.

    Requested before the app is built: Bolt's loggers take the root's level when they are made."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure("DEBUG")
    stream = io.StringIO()
    root.handlers[0].stream = stream
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_marker_sent_through_every_surface_is_nowhere_in_the_debug_log(debug_log, sender, slack, schools,
                                                                           monkeypatch):
    from bot.services import posts

    sender.user_id = PERSON
    join(sender, user=PERSON)
    sender.command(f"need {MARKER} in Year 9 keeps missing Mondays", user_id=PERSON)       # saved, echoed
    sender.command(f"nede {MARKER}", user_id=PERSON)                                       # a problem, echoed
    sender.command(f"pause ²{MARKER}", user_id=PERSON)                                     # refused, not a number
    sender.command(f"help {MARKER}", user_id=PERSON, secret="wrong")                      # a bad signature
    sender.action("no_such_button", f"{MARKER} value", user_id=PERSON)                     # unhandled by Bolt
    sender.action("post_pause", f"need:{MARKER}", user_id=PERSON)                          # a forged value
    sender.command("join st mary", user_id=PERSON)
    sender.action("join_pick", "125964", user_id=PERSON)                                   # respond() after ack
    slack.wait_for_response()
    values = {"text": {"value": plain(f"{MARKER} needs help with phonics teaching")},
              "theme": {"value": pick("reading")}}
    sender.view_submission("need_modal", values, json.dumps({"channel": "C0GENERAL1"}), user_id=PERSON)
    slack.wait_for("chat.postEphemeral")                                                   # slack_sdk json_body
    sender.app_home_opened(PERSON)
    slack.wait_for("views.publish")
    slack.error_next("views.open", "invalid_auth")
    sender.command("need", user_id=PERSON)                                                 # a Slack API error
    monkeypatch.setattr(posts, "list_posts", lambda *a, **k: (_ for _ in ()).throw(ValueError(MARKER)))
    sender.command("list", user_id=PERSON)                                                 # an exception quoting it
    sender.app_home_opened(PERSON)                                                         # ... after the ack
    slack.wait_for("chat.postEphemeral", count=1)
    import time
    time.sleep(0.5)  # work after the acknowledgement logs from its own threads

    written = debug_log.getvalue()
    assert "DEBUG" in written and "slack_bolt" in written and "ValueError" in written  # it was captured
    for secret in (MARKER, PERSON, "xoxb-test-token-1234", "/response/", "response_url"):
        assert secret not in written, f"{secret!r} leaked into the log"


def test_library_records_keep_their_level_and_place_but_not_their_text():
    record = logging.LogRecord("slack_sdk.web.base_client", logging.DEBUG, "/x/slack_sdk/web/base_client.py", 7,
                               "Sending a request - json_body: %s", ({"text": MARKER},), None, func="_perform")
    assert from_slack_library(record)
    withhold(record)
    assert MARKER not in record.getMessage() and "_perform:7" in record.getMessage()
    ours = logging.LogRecord("bot.web.guard", logging.INFO, __file__, 1, "fine", (), None)
    assert not from_slack_library(ours)


def test_bolts_own_app_logger_is_caught_by_where_it_logs_from(debug_log):
    """Bolt names some loggers after the app ("collab:…", bot/slack/app.py names it): the source path still gives it away."""
    import slack_bolt.logger as bolt_logger

    logger = logging.getLogger("collab:provide_deps")
    logger.setLevel(logging.DEBUG)
    record = logger.makeRecord("collab:provide_deps", logging.INFO, bolt_logger.__file__, 3, f"body: {MARKER}", (), None)
    assert MARKER not in record.getMessage()


def test_a_traceback_in_our_log_keeps_where_but_not_the_message(debug_log):
    try:
        int(f"²{MARKER}")
    except ValueError:
        logging.getLogger("bot.test").exception("work after the acknowledgement failed")
    written = debug_log.getvalue()
    assert "ValueError" in written and "test_logs.py" in written
    assert MARKER not in written
