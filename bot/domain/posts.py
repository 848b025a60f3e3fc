"""What a need or an offer may be: its words, how soon, how, how many schools, and its statuses."""
from __future__ import annotations

import re
import unicodedata

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


# A need this short names one thing, as staff type it: its suggested theme is taken as its theme.
SHORT_NEED_WORDS = 15


def short_need(text: str) -> bool:
    """Whether a need is short enough for its suggested theme to stand (see
    bot/services/rounds.py:given_theme and docs/quality.md, "Chosen and suggested themes")."""
    return len((text or "").split()) <= SHORT_NEED_WORDS


# Characters that show nothing: zero-width spaces and joiners, the word joiner, the byte-order mark,
# the soft hyphen. Inside an emoji a zero-width joiner is kept; they just never count as words.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
ASCII_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def without_control_characters(text: str) -> str:
    """NUL and the other control characters (PostgreSQL refuses NUL in text; none is typed on
    purpose) go; new lines and tabs stay."""
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")


def visible_length(text: str) -> int:
    """How many characters a reader sees: invisible ones and other format marks do not count."""
    return sum(1 for c in text if c not in INVISIBLE and unicodedata.category(c) != "Cf" and not c.isspace())


def whole_number(text: str) -> int | None:
    """The number a person typed (a capacity, an impact, weeks, a URN, a button's id), or None.

    Only the digits 0-9: `str.isdigit()` also accepts "²" and "①", which `int()` then refuses, and
    more than nine digits is no number Collab uses (and overflows the database's integers)."""
    text = (text or "").strip()
    return int(text) if ASCII_WHOLE_NUMBER.fullmatch(text) else None


def clean_text(text: str) -> str:
    """Check a post's words; say exactly what is wrong rather than cut anything."""
    text = without_control_characters(text or "").strip()
    if visible_length(text) == 0 and text:
        raise InvalidInput("That post shows nothing but blank or invisible characters: please type what you mean.")
    if visible_length(text) < MIN_POST_CHARS:
        raise InvalidInput(
            f"Please say a little more: a post needs at least {MIN_POST_CHARS} characters so others can match it."
        )
    if len(text) > MAX_POST_CHARS:
        raise InvalidInput(
            f"That is {len(text):,} characters; a post can be at most {MAX_POST_CHARS:,}. "
            "Please shorten it (a summary is best: the detail can follow in conversation)."
        )
    return text
