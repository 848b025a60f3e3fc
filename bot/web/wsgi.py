"""The WSGI application the production server runs: `/slack/events` for Slack, `/healthz` for the host."""
from __future__ import annotations

import json
import logging

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.webhook import WebhookClient
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.logs import withhold_library_records
from bot.slack.app import create_app, make_client
from bot.web.guard import SlackGuard, describe
from bot.web.shapes import SlackRequest
from models.db import schema_status

log = logging.getLogger(__name__)


def create_wsgi_app(settings: Settings, engine: Engine):
    # Whatever process serves Slack, Bolt's and slack_sdk's log lines carry no personal data.
    withhold_library_records()
    app = create_app(settings, engine)

    @app.error
    def listener_failed(error):
        """Say what failed and where, never the message; Bolt still answers 500 and the guard
        turns that into a polite answer for the person."""
        log.error("a listener failed: %s", describe(error))

    slack = SlackGuard(SlackRequestHandler(app, path="/slack/events"), settings.slack_signing_secret,
                       engine, notify=_apology_sender(settings))

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            return _healthz(engine, start_response)
        return slack(environ, start_response)

    return application


def _apology_sender(settings: Settings):
    """How the guard tells a person their button or modal failed, where the HTTP answer cannot:
    the interaction's response_url, else an ephemeral message where they clicked, else a DM."""
    client = make_client(settings)

    def notify(request: SlackRequest, text: str) -> None:
        if request.response_url:
            WebhookClient(request.response_url, timeout=10).send(
                text=text, response_type="ephemeral", replace_original=False)
        elif request.channel_id:
            client.chat_postEphemeral(channel=request.channel_id, user=request.user_id, text=text)
        else:
            client.chat_postMessage(channel=request.user_id, text=text)

    return notify


def _healthz(engine: Engine, start_response):
    """200 only when the database answers and its schema is the code's (a host that sees 503 keeps
    the old version serving, or restarts us); the body says which of the two is wrong, no more."""
    status = schema_status(engine)
    if status.ok:
        code, body = "200 OK", {"ok": True}
    elif not status.reachable:
        code, body = "503 Service Unavailable", {"ok": False, "error": "database unreachable"}
    else:
        code, body = "503 Service Unavailable", {"ok": False, "error": "database schema is not current: run collab db upgrade"}
    payload = json.dumps(body).encode()
    start_response(code, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]
