"""The composition root: the one place that builds what every entry point needs.

Settings are read from the environment once, the database engine and the Slack messenger are
built once, and all three are passed down; no module keeps a global copy and nothing below the
edges reads the environment. `collab serve`, `collab clock`, `collab round` and the other
commands each call `build()` and hand its parts to the layer they run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from bot.config import Settings, load_settings
from bot.delivery.outbox import Messenger
from models.db import make_engine, upgrade


@dataclass
class Collab:
    """One running Collab: its settings, its database, and (built when first asked for) its messenger."""

    settings: Settings
    engine: Engine
    _messenger: Messenger | None = field(default=None, repr=False)

    @property
    def messenger(self) -> Messenger:
        if self._messenger is None:
            self._messenger = slack_messenger(self.settings)
        return self._messenger

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Collab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def slack_messenger(settings: Settings, client=None) -> Messenger:
    """The Slack Web API behind the Messenger protocol (the client retries politely; see bot/slack/app.py)."""
    from bot.slack.app import make_client
    from bot.slack.messenger import SlackMessenger

    return SlackMessenger(client or make_client(settings))


def build(settings: Settings | None = None, *, database_url: str | None = None, migrate: bool = False,
          messenger: Messenger | None = None) -> Collab:
    """Settings (from the environment unless given), an engine on `database_url` or DATABASE_URL,
    the schema migrated when asked (commands a person runs by hand work on a fresh machine)."""
    settings = settings or load_settings()
    engine = make_engine(database_url or settings.database_url)
    if migrate:
        upgrade(engine)
    return Collab(settings, engine, messenger)
