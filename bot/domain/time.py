"""The one time rule: every moment Collab compares or shows is aware, in UTC unless it says otherwise."""
from __future__ import annotations

from datetime import datetime, timezone


def aware(moment: datetime | None) -> datetime | None:
    """Treat a naive datetime as UTC: SQLite hands back naive ones, PostgreSQL and freezegun aware ones."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
