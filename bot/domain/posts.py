"""What a need or an offer may be: its words, how soon, how, how many schools, and its statuses."""
from __future__ import annotations

from bot.domain.errors import InvalidInput

KINDS = ("need", "offer")
MAX_POST_CHARS = 1000
MIN_POST_CHARS = 10
URGENCIES = {"high": "This half-term", "normal": "This term", "low": "No rush"}
FORMATS = {
    "any": "Whatever suits",
    "call": "A call or video call",
    "visit": "A visit",
    "resources": "Sharing resources",
    "training": "Training for staff",
}
MAX_CAPACITY = 10
# What a school may set its post to; a post nobody answered about becomes `expired` (bot/services/expiry.py).
STATUSES = ("open", "paused", "closed")
# Still the school's business (closed and expired posts are history).
LIVE = ("open", "paused")


def clean_text(text: str) -> str:
    """Check a post's words; say exactly what is wrong rather than cut anything."""
    text = (text or "").strip()
    if len(text) < MIN_POST_CHARS:
        raise InvalidInput(
            f"Please say a little more: a post needs at least {MIN_POST_CHARS} characters so others can match it."
        )
    if len(text) > MAX_POST_CHARS:
        raise InvalidInput(
            f"That is {len(text):,} characters; a post can be at most {MAX_POST_CHARS:,}. "
            "Please shorten it (a summary is best: the detail can follow in conversation)."
        )
    return text
