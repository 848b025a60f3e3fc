"""Collab's data model (SQLModel tables) and database access."""
from models.tables import (
    Feedback,
    JobRun,
    MatchRound,
    Member,
    Need,
    Offer,
    OutgoingMessage,
    Pairing,
    PairingEvent,
    School,
    SeenEvent,
    SeenRequest,
    UnpairedNeed,
    Workspace,
    utcnow,
)

__all__ = [
    "Feedback", "JobRun", "MatchRound", "UnpairedNeed", "Member", "Need", "Offer", "OutgoingMessage",
    "Pairing", "PairingEvent", "School", "SeenEvent", "SeenRequest", "Workspace", "utcnow",
]
