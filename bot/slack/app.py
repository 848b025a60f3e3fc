"""The Bolt app: Slack's signature check, our listeners, and a Web API client that retries politely."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.handler import RetryHandler
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.slack.deps import Deps
from bot.slack.retries import ConnectionErrors, RateLimits, ScaledBackoff, ServerErrors
from bot.slack.listeners import register_listeners

def retry_handlers(settings: Settings) -> list[RetryHandler]:
    """429 waits for Retry-After; 5xx and dropped connections are retried a few times, then we give up.

    The waits are scaled by COLLAB_SLACK_RETRY_WAIT (1 = as Slack and slack_sdk say; tests use 0).
    """
    share = settings.slack_retry_wait
    return [
        RateLimits(share, max_retry_count=5),
        ServerErrors(max_retry_count=3, interval_calculator=ScaledBackoff(share)),
        ConnectionErrors(max_retry_count=3, interval_calculator=ScaledBackoff(share)),
    ]


def make_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url,
        retry_handlers=retry_handlers(settings), timeout=settings.slack_timeout,
    )


def create_app(settings: Settings, engine: Engine, background_threads: int = 8) -> App:
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    # Slack Web API calls wait here until the acknowledgement has gone (Deps.after_ack).
    background = ThreadPoolExecutor(max_workers=background_threads, thread_name_prefix="collab-after-ack")
    deps = Deps(settings, engine, background)
    app = App(
        # Named, so Bolt does not take the name from inspect.stack(), which reads the source of
        # every frame on the stack: 40-80 ms per app, paid by each worker at start and each test.
        name="collab",
        client=make_client(settings),
        signing_secret=settings.slack_signing_secret,
        # No network call at start-up: the first request checks the token instead.
        token_verification_enabled=False,
        # Each listener runs in the request's own thread and the HTTP response (the ack) goes when it
        # returns. Without this, Bolt ran listeners on a second pool while the request thread polled
        # for ack() every 10 ms: 50 waiting threads waking 100 times a second, and up to 10 ms added
        # to every ack. Work that must follow the ack (Slack API calls) goes to deps.after_ack.
        process_before_response=True,
        listener_executor=background,
    )

    @app.middleware
    def provide_deps(context, next):
        context["deps"] = deps
        next()

    register_listeners(app)
    return app
