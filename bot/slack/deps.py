"""What every edge (listeners, scheduler, command line) needs: settings and the database."""
from __future__ import annotations

import logging
import time
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from bot.config import Settings
from bot.services.workspaces import ensure_workspace
from models import Workspace
from models.db import session_scope

log = logging.getLogger(__name__)
# How long a worker trusts what it knows of an installed workspace. Every Slack request starts by
# finding its workspace; remembering it saves a database round trip per request. An uninstall seen
# by this worker forgets it at once; one seen by another worker is noticed within this time.
WORKSPACE_MEMORY_SECONDS = 30.0


@dataclass(frozen=True)
class Deps:
    settings: Settings
    engine: Engine
    # Runs work that must wait until Slack has its acknowledgement (see after_ack); None runs it at once.
    background: Executor | None = None

    known: dict = field(default_factory=dict, compare=False, repr=False)

    @contextmanager
    def unit(self, team_id: str) -> Iterator[tuple[Session, Workspace]]:
        """One unit of work scoped to the workspace that asked."""
        with session_scope(self.engine) as session:
            yield session, self._workspace(session, team_id)

    def _workspace(self, session: Session, team_id: str) -> Workspace:
        remembered = self.known.get(team_id)
        if remembered is not None and remembered[0] > time.monotonic():
            return session.merge(remembered[1], load=False)
        workspace = ensure_workspace(session, team_id)
        if workspace.uninstalled_at is None:
            session.flush()
            snapshot = Workspace(**workspace.model_dump())
            make_transient_to_detached(snapshot)
            self.known[team_id] = (time.monotonic() + WORKSPACE_MEMORY_SECONDS, snapshot)
        return workspace

    def messenger(self, client):
        """The Messenger for this request, over Bolt's client (it carries the workspace's token)."""
        from bot.slack.messenger import SlackMessenger

        return SlackMessenger(client)

    def forget_workspace(self, team_id: str) -> None:
        self.known.pop(team_id, None)

    def after_ack(self, fn: Callable, *args, **kwargs) -> None:
        """Run `fn(*args, **kwargs)` after the acknowledgement has gone back to Slack.

        Listeners run in the request's thread and the HTTP response (the ack) goes when they return,
        so Slack Web API calls (views_open, chat_postMessage, respond, ...) must not be made inline:
        Slack gives up after 3 s and the ack would wait for them. Errors are logged, never raised.
        """
        if self.background is None:
            _logged(fn, args, kwargs)
        else:
            self.background.submit(_logged, fn, args, kwargs)


def _logged(fn: Callable, args: tuple, kwargs: dict) -> None:
    try:
        fn(*args, **kwargs)
    except Exception:
        log.exception("work after the acknowledgement failed: %s", getattr(fn, "__qualname__", fn))
