"""People in a network: what stands in for someone who asked to be forgotten, and how long a pause may last."""
from __future__ import annotations

from datetime import datetime, timezone

# Written where a Slack user id was (audit trail, decisions, the ledger) once they use forget-me.
FORGOTTEN = "forgotten"
MAX_PAUSE_WEEKS = 52
# "Paused until you resume".
FOREVER = datetime(9999, 12, 31, tzinfo=timezone.utc)
