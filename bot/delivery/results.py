"""What a delivery did: the one result family every sending step returns."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunSummary:
    """What a sending run did, by outcome (sent, already_sent, failed, retry_later, in_progress)."""

    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        self.outcomes[status] = self.outcomes.get(status, 0) + 1

    @property
    def sent(self) -> int:
        return self.outcomes.get("sent", 0)

    @property
    def incomplete(self) -> bool:
        """Some messages could not be sent now but may go on a rerun (Slack busy, or another sender mid-way)."""
        return bool(self.outcomes.get("retry_later") or self.outcomes.get("in_progress"))

    def __str__(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "nothing to send"


@dataclass
class IntroResult:
    status: str  # sent, already_sent, already_introduced, in_progress, failed, retry_later, no_contact
    channel: str | None = None
    error: str | None = None
    missing: list[str] | None = None

    @property
    def delivered(self) -> bool:
        return self.status in ("sent", "already_sent", "already_introduced")
