"""Why two schools were paired, in words fit for whoever reads them.

The matching engine stores one line per proposal ("Why: both about post-16 and careers and both
mention 'tas'; both in Surrey, 12 km apart; Colgate has 35 % of pupils on free school meals.").
Three things in it must not reach a school as they are:

* the share of pupils on free school meals labels the receiving school's disadvantage in front
  of its partner: that part is for leads only;
* the engine's quoted terms are its tokens ('tas', 'send'); people should see the words they
  wrote ("TAs", "SEND");
* the engine names themes its own way ("post-16 and careers"); everywhere else the theme has one
  label ("Sixth form and careers").
"""
from __future__ import annotations

import re

from bot.messages.common import escape, theme_words

# How matching/explain.py names each theme inside its sentence.
ENGINE_THEME_WORDS = {
    "reading": "reading", "writing": "writing", "maths": "maths", "curriculum": "the curriculum",
    "assessment": "assessment", "teaching": "teaching", "send": "SEND", "disadvantage": "disadvantaged pupils",
    "behaviour": "behaviour", "attendance": "attendance", "personal_development": "personal development",
    "early_years": "the early years", "post16_careers": "post-16 and careers", "leadership": "leadership",
    "safeguarding": "safeguarding",
}
_THEME_PHRASE = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in sorted(ENGINE_THEME_WORDS.values(), key=len, reverse=True)) + r")\b")
_PHRASE_THEME = {words: theme for theme, words in ENGINE_THEME_WORDS.items()}
_QUOTED = re.compile(r"'([^']+)'")
# "Colgate Primary School has 35 % of pupils on free school meals"
LEADS_ONLY = re.compile(r"free school meals|\bFSM\b", re.IGNORECASE)


def reason_parts(reason: str | None) -> list[str]:
    """The engine's line split into its parts, without "Why:" and the closing full stop."""
    text = (reason or "").strip()
    if text.lower().startswith("why:"):
        text = text[4:].strip()
    text = text.rstrip(".").strip()
    return [p.strip() for p in text.split("; ") if p.strip()]


def _own_words(term: str, texts: list[str]) -> str:
    """The word (or words) someone wrote that the engine's term came from, as they wrote it."""
    pattern = r"\b" + r"[\s\-]+".join(re.escape(piece) for piece in term.split()) + r"[\w'’\-]*"
    for text in texts:
        found = re.search(pattern, text or "", re.IGNORECASE)
        if found:
            return found.group(0).rstrip("'’-")
    return term


def _relabel(segment: str) -> str:
    return _THEME_PHRASE.sub(lambda m: theme_words(_PHRASE_THEME[m.group(1)]), segment)


def _rewrite(part: str, texts: list[str]) -> str:
    """Themes relabelled outside quotes; quoted tokens become the writers' own words, in curly quotes."""
    pieces = _QUOTED.split(part)  # even: engine's words, odd: a quoted term
    out = []
    for n, piece in enumerate(pieces):
        if n % 2:
            out.append("“" + escape(_own_words(piece, texts)) + "”")
        else:
            out.append(escape(_relabel(piece)))
    return "".join(out)


def because(reason: str | None, need_text: str = "", offer_text: str = "", for_leads: bool = False) -> str:
    """The reason as one escaped sentence without "Why:"; schools never see the free-school-meals part."""
    parts = [p for p in reason_parts(reason) if for_leads or not LEADS_ONLY.search(p)]
    return "; ".join(_rewrite(p, [need_text, offer_text]) for p in parts)
