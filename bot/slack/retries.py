"""How the Web API client retries: which answers are tried again, and how long it waits first.

Kept apart from the app so the messenger can use the same back-off without importing the listeners.
"""
from __future__ import annotations

import random
import time

from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler

# Slack's gateway answers 502 and 504 as well as 500 and 503 when it is struggling.
SERVER_ERRORS = (500, 502, 503, 504)
# Sending a message twice is worse than a late one: after a 5xx or a dropped connection Slack may
# already have posted it, so these are not retried blindly. The outbox looks the message up in
# the conversation first (bot/delivery/outbox.py); rate limits (429: not posted) are retried.
NOT_SAFE_TO_REPEAT = ("chat.postMessage",)


def _safe_to_repeat(request) -> bool:
    path = (request.url or "").split("?", 1)[0]
    return not path.endswith(NOT_SAFE_TO_REPEAT)


class ScaledBackoff(BackoffRetryIntervalCalculator):
    """slack_sdk's exponential back-off with jitter, times `share` (0: no wait at all)."""

    def __init__(self, share: float):
        super().__init__()
        self.share = share

    def calculate_sleep_duration(self, current_attempt: int) -> float:
        return super().calculate_sleep_duration(current_attempt) * self.share


class RateLimits(RateLimitErrorRetryHandler):
    """429: wait for Retry-After (times the settings' share), then try again."""

    def __init__(self, share: float, max_retry_count: int = 5):
        super().__init__(max_retry_count=max_retry_count)
        self.share = share

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        if response is None:
            raise error  # pragma: no cover - slack_sdk only calls this with a response
        state.next_attempt_requested = True
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        try:
            wait = float(header[0] if isinstance(header, list) else header)
        except (TypeError, ValueError, IndexError):
            wait = 1.0
        if self.share:
            time.sleep((max(wait, 0.0) + random.random()) * self.share)
        state.increment_current_attempt()


class ServerErrors(RetryHandler):
    """500, 502, 503, 504: back off and try again, for calls that are safe to repeat."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return response is not None and response.status_code in SERVER_ERRORS and _safe_to_repeat(request)


class ConnectionErrors(ConnectionErrorRetryHandler):
    """A reset or dropped connection: try again, for calls that are safe to repeat."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return _safe_to_repeat(request) and super()._can_retry(state=state, request=request, response=response, error=error)
