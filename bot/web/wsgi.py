"""The WSGI application the production server runs: `/slack/events` for Slack, `/healthz` for the host."""
from __future__ import annotations

import json

from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.slack.app import create_app
from bot.config import Settings


def create_wsgi_app(settings: Settings, engine: Engine):
    slack = SlackRequestHandler(create_app(settings, engine), path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            return _healthz(engine, start_response)
        return slack(environ, start_response)

    return application


def _healthz(engine: Engine, start_response):
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        status, body = "200 OK", {"ok": True}
    except Exception:  # the host restarts us on a failing health check; say no more than that
        status, body = "503 Service Unavailable", {"ok": False, "error": "database unreachable"}
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]
