"""Settings from the environment (and `.env`), read once at the edge and passed inward."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    """A setting is missing or wrong; the message names it in one line."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str | None = None
    leads: frozenset[str] = frozenset()
    review_channel: str | None = None
    timezone: str = "Europe/London"
    expiry_weeks: int = 12
    repeat_window_days: int = 365
    term_dates_file: str | None = None
    round_cron: str = "mon 07:30"
    digest_cron: str = "mon 08:00"
    followups_cron: str = "daily 09:00"
    weights: dict = field(default_factory=dict)
    # The web server (collab serve): port, worker processes, threads per worker; and the log level.
    port: int = 3000
    web_concurrency: int = 2
    threads: int = 2
    log_level: str = "INFO"
    # How long to wait before retrying Slack, as a share of the normal wait (Retry-After on a 429,
    # slack_sdk's back-off on a 5xx or a dropped connection). 1 in production; tests set 0.
    slack_retry_wait: float = 1.0
    # Seconds to wait for one Slack Web API answer before giving up on it (the outbox then checks
    # whether the message arrived before sending it again).
    slack_timeout: float = 15.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require(self, *names: str) -> "Settings":
        """Fail with one line naming the first missing setting (exit 2 at the edge)."""
        for name in names:
            if not getattr(self, name.lower()):
                raise SettingsError(f"{name} is not set (see .env.example)")
        return self


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be more than 0, got {raw!r}")
    return value


def _share(env: dict, name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number such as 1 or 0.5, got {raw!r}") from None
    if not 0 <= value <= 10:
        raise SettingsError(f"{name} must be between 0 and 10, got {raw!r}")
    return value


def _weights(env: dict) -> dict:
    """COLLAB_WEIGHT_<NAME>=value overrides one matching weight (see docs/matching.md)."""
    weights = {}
    for key, raw in env.items():
        if key.startswith("COLLAB_WEIGHT_"):
            name = key[len("COLLAB_WEIGHT_"):].lower()
            try:
                weights[name] = float(raw)
            except ValueError:
                raise SettingsError(f"{key} must be a number, got {raw!r}") from None
    from matching.weights import Weights

    try:  # a misspelt or negative weight stops start-up, not next Monday's round
        Weights.from_mapping({k: (int(v) if k in ("repeat_window_days", "candidates_per_need") else v)
                              for k, v in weights.items()})
    except ValueError as problem:
        raise SettingsError(f"COLLAB_WEIGHT_*: {problem}") from None
    return weights


def load_settings(env: dict | None = None, dotenv: bool = True) -> Settings:
    if env is None:
        if dotenv:
            from dotenv import load_dotenv

            load_dotenv(Path.cwd() / ".env", override=False)
        env = dict(os.environ)
    timezone = env.get("COLLAB_TIMEZONE", "").strip() or "Europe/London"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"COLLAB_TIMEZONE {timezone!r} is not a time zone name such as Europe/London") from None
    api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
    if not api_url.endswith("/"):
        api_url += "/"
    leads = frozenset(u.strip() for u in env.get("COLLAB_LEADS", "").split(",") if u.strip())
    return Settings(
        slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip() or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip() or None,
        slack_app_token=env.get("SLACK_APP_TOKEN", "").strip() or None,
        slack_api_url=api_url,
        database_url=env.get("DATABASE_URL", "").strip() or None,
        leads=leads,
        review_channel=env.get("COLLAB_REVIEW_CHANNEL", "").strip() or None,
        timezone=timezone,
        expiry_weeks=_int(env, "COLLAB_EXPIRY_WEEKS", 12),
        repeat_window_days=_int(env, "COLLAB_REPEAT_WINDOW_DAYS", 365),
        term_dates_file=env.get("COLLAB_TERM_DATES", "").strip() or None,
        round_cron=env.get("COLLAB_ROUND_AT", "").strip() or "mon 07:30",
        digest_cron=env.get("COLLAB_DIGEST_AT", "").strip() or "mon 08:00",
        followups_cron=env.get("COLLAB_FOLLOWUPS_AT", "").strip() or "daily 09:00",
        weights=_weights(env),
        port=_int(env, "PORT", 3000),
        web_concurrency=_int(env, "WEB_CONCURRENCY", 2),
        threads=_int(env, "COLLAB_THREADS", 2),
        log_level=_log_level(env),
        slack_retry_wait=_share(env, "COLLAB_SLACK_RETRY_WAIT", 1.0),
        slack_timeout=float(_int(env, "COLLAB_SLACK_TIMEOUT", 15)),
    )


def _log_level(env: dict) -> str:
    import logging

    level = env.get("COLLAB_LOG_LEVEL", "").strip().upper() or "INFO"
    if level not in logging.getLevelNamesMapping():
        raise SettingsError(f"COLLAB_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    return level
