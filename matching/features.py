"""Stage 1 of a round: what the engine knows about each need, offer and school, as arrays.

``build_features`` turns the round's items into numbers once: text vectors fitted on the
round's own posts (``text.py``), theme distributions (a given theme is one-hot, a missing one
is the theme model's, read from the same word counts: the texts are tokenised once, for both),
and per-school codes (phase, local authority, trust, coordinates, free school meals, how often
the school has given, recent pairings). Later stages (candidates, scoring, assignment) only
index these arrays.
"""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from matching.items import NeedItem, OfferItem, PastPairing, SchoolInfo
from matching.parallel import forked_map
from matching.text import TextMatrices, TextVectorizer, WordCounts, count_words
from matching.weights import MEMBERSHIP_SHARE

_PHASES = {
    "nursery": "nursery", "primary": "primary", "infant": "primary", "junior": "primary", "first": "primary",
    "middle deemed primary": "middle", "middle deemed secondary": "middle", "middle": "middle",
    "secondary": "secondary", "high": "secondary",
    "16 plus": "post16", "16+": "post16", "post-16": "post16", "post 16": "post16", "sixth form": "post16",
    "all-through": "all_through", "all through": "all_through",
}
_NEIGHBOUR_PHASES = {
    frozenset(p)
    for p in [("nursery", "primary"), ("primary", "middle"), ("middle", "secondary"), ("secondary", "post16"),
              ("all_through", "primary"), ("all_through", "middle"), ("all_through", "secondary"),
              ("all_through", "post16")]
}
_THEME_ALIASES = {"sen": "send", "post16": "post16_careers", "careers": "post16_careers", "eyfs": "early_years",
                  "math": "maths", "mathematics": "maths", "post_16": "post16_careers"}


def normalise_phase(phase: str | None) -> str | None:
    if phase is None:
        return None
    p = " ".join(str(phase).strip().lower().split())
    if not p or p in ("not applicable", "n/a", "na", "unknown"):
        return None
    return _PHASES.get(p, p)


def phase_fit(a: str | None, b: str | None) -> float:
    a, b = normalise_phase(a), normalise_phase(b)
    if a is None or b is None:
        return 0.0
    if a == b:
        return 1.0
    return 0.5 if frozenset((a, b)) in _NEIGHBOUR_PHASES else 0.0


def normalise_theme(theme: str | None, themes: Sequence[str]) -> str | None:
    """A theme as typed ("Early years", "SEN") -> its id in ``themes``; None if blank."""
    if theme is None:
        return None
    t = "_".join(str(theme).strip().lower().replace("-", " ").split())
    if not t:
        return None
    t = _THEME_ALIASES.get(t, t)
    if t not in themes:
        raise ValueError(f"unknown theme {theme!r}; use one of: {', '.join(themes)}")
    return t


@dataclass
class RoundFeatures:
    """Arrays describing one round. Needs and offers are sorted by id; schools are indexed
    0..n_school_ids-1 (``urn_list``)."""

    needs: list[NeedItem]
    offers: list[OfferItem]
    themes: tuple[str, ...]
    p_need: np.ndarray  # needs x themes
    p_offer: np.ndarray  # offers x themes
    member_offer: np.ndarray  # offers x themes: chance of each theme being among the offer's themes
    vectorizer: TextVectorizer
    text_need: TextMatrices
    text_offer: TextMatrices
    urn_list: list[str]
    need_school: np.ndarray
    offer_school: np.ndarray
    capacity: np.ndarray
    known: np.ndarray
    phase_codes: np.ndarray
    phase_table: np.ndarray
    la_codes: np.ndarray
    la_names: list[str | None]
    trust_codes: np.ndarray
    east: np.ndarray
    north: np.ndarray
    fsm: np.ndarray
    names: list[str]
    given: np.ndarray
    recent_keys: np.ndarray

    @property
    def n(self) -> int:
        return len(self.needs)

    @property
    def m(self) -> int:
        return len(self.offers)

    @property
    def n_school_ids(self) -> int:
        return len(self.urn_list)

    def __post_init__(self) -> None:
        # index of each post's main theme (the given one, else the most likely), computed once
        self.need_theme = self.p_need.argmax(axis=1)
        self.offer_theme = self.p_offer.argmax(axis=1)
        # what a pair's theme similarity reads of each offer (scoring and candidates), once
        self.q_offer = offer_theme_side(self.p_offer, self.member_offer)


def check_items(needs: list[NeedItem], offers: list[OfferItem]) -> None:
    """Unique ids and whole, non-negative capacities (ValueError naming the item otherwise)."""
    _check_unique([n.id for n in needs], "need")
    _check_unique([o.id for o in offers], "offer")
    for o in offers:
        if not isinstance(o.capacity, int) or isinstance(o.capacity, bool) or o.capacity < 0:
            raise ValueError(f"offer {o.id!r}: capacity must be a whole number >= 0, got {o.capacity!r}")


def build_features(
    needs: list[NeedItem],
    offers: list[OfferItem],
    schools: dict[str, SchoolInfo],
    history: list[PastPairing],
    today: datetime.date,
    repeat_window_days: int,
    theme_model,
    log: Callable[[str], None],
    workers: int = 1,
) -> RoundFeatures:
    """Themes, text vectors and school arrays of a round (needs and offers already sorted)."""
    from matching.themes import THEMES

    themes = tuple(THEMES)
    n = len(needs)
    items = needs + offers
    tokens = count_words([x.text for x in items], workers)  # once, for the text vectors and the themes
    log(f"{tokens.counts.shape[1]} distinct words read")
    vec = TextVectorizer()
    kinds = ["need"] * n + ["offer"] * len(offers)

    # The text vectors and the themes both start from the word counts and need nothing of each
    # other: with two cores, the themes are inferred in a forked worker while this process fits
    # the text vectors (0.5 s of a 20,000-school round, docs/matching.md)
    def vectors_or_themes(k: int):
        return vec.fit_split(tokens, n) if k == 0 else _theme_probs(items, kinds, themes, theme_model, tokens)

    (text_need, text_offer), (probs, member) = forked_map(vectors_or_themes, 2, workers, here_first=True)
    log(f"text vectors ready ({text_need.words.shape[1]} words, {text_need.chars.shape[1]} character n-grams), themes ready")
    return RoundFeatures(
        needs=needs, offers=offers, themes=themes, p_need=probs[:n], p_offer=probs[n:], member_offer=member[n:],
        vectorizer=vec,
        text_need=text_need, text_offer=text_offer,
        capacity=np.array([o.capacity for o in offers], dtype=np.int64),
        **_school_arrays(needs, offers, schools, history, today, repeat_window_days),
    )


def _theme_probs(items, kinds: list[str], themes, theme_model, tokens: WordCounts | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Given themes one-hot, the others inferred; and beside them the same rows with each
    inferred offer's membership of every theme (``ThemeModel.membership_``: the chance of each
    theme being among the offer's themes, which is what a good pair asks of the offer; a model
    without one gives the probabilities again). A model that reads word counts (the shipped
    one) is given the round's ``tokens`` instead of the texts: inferring 120,000 themes from
    the texts took 3 s of CPU, mostly tokenising them a second time."""
    probs = np.zeros((len(items), len(themes)))
    missing = []
    for i, item in enumerate(items):
        try:
            theme = normalise_theme(item.theme, themes)
        except ValueError as exc:
            raise ValueError(f"{kinds[i]} {item.id!r}: {exc}") from None
        if theme is None:
            missing.append(i)
        else:
            probs[i, themes.index(theme)] = 1.0
    if not missing:
        return probs, probs
    model = theme_model
    if model is None:
        from matching.themes import default_theme_model

        model = default_theme_model()
    # a kind-aware model (needs have their own model) is told which rows are needs
    extra = {"kinds": [kinds[i] for i in missing]} if getattr(model, "kind_aware", False) else {}
    words = tokens is not None and getattr(model, "reads_word_counts", False)
    if words:
        found = model.predict_proba_words(tokens.words, tokens.counts[missing], **extra)
    else:
        found = model.predict_proba([items[i].text for i in missing], **extra)
    probs[missing] = _clean_probs(found, len(missing), len(themes))
    member_model = getattr(model, "membership_", None)
    offers = [i for i in missing if kinds[i] == "offer"]
    if member_model is None or not offers:
        return probs, probs
    member = probs.copy()
    member[offers] = (member_model.predict_proba_words(tokens.words, tokens.counts[offers]) if words
                      else member_model.predict_proba([items[i].text for i in offers]))
    return probs, member


def offer_theme_side(p_offer: np.ndarray, member_offer: np.ndarray) -> np.ndarray:
    """What a pair's theme similarity reads of the offer: ``MEMBERSHIP_SHARE`` of its
    membership and the rest of its theme distribution (equal for a given theme)."""
    return MEMBERSHIP_SHARE * member_offer + (1 - MEMBERSHIP_SHARE) * p_offer


def _clean_probs(p, n_rows: int, n_themes: int) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (n_rows, n_themes):
        raise ValueError(f"theme model returned shape {p.shape}, expected {(n_rows, n_themes)}")
    p = np.clip(p, 0, None)
    return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)


def _school_arrays(needs, offers, schools, history, today, window) -> dict:
    urns: dict[str, int] = {}
    item_school = np.array([urns.setdefault(str(x.school_urn).strip(), len(urns)) for x in needs + offers],
                           dtype=np.int64)  # each post's school, read once
    for h in history:
        urns.setdefault(str(h.giver_urn).strip(), len(urns))
        urns.setdefault(str(h.taker_urn).strip(), len(urns))
    urn_list = list(urns)
    s = len(urns)
    info = [schools.get(u) for u in urn_list]
    phases = [normalise_phase(i.phase) if i else None for i in info]
    phase_codes, phase_names = _codes(phases)
    k = len(phase_names)
    phase_codes[phase_codes < 0] = k  # unknown phase: the last row/column, all 0
    phase_table = np.zeros((k + 1, k + 1))
    for x, a in enumerate(phase_names):
        for y, b in enumerate(phase_names):
            phase_table[x, y] = phase_fit(a, b)
    las = [((i.local_authority or "").strip() or None) if i else None for i in info]
    la_codes, _ = _codes([(" ".join(x.lower().split()) if x else None) for x in las])
    trust_codes, _ = _codes([((i.trust or "").strip().lower() if i else None) for i in info], keep_empty=True)
    east = np.array([_num(i.easting) if i else np.nan for i in info], dtype=np.float64)
    north = np.array([_num(i.northing) if i else np.nan for i in info], dtype=np.float64)
    bad = (east <= 0) | (north <= 0)
    east[bad] = np.nan
    north[bad] = np.nan
    given = np.zeros(s, dtype=np.int64)
    recent: set[int] = set()
    for h in history:
        g, t = urns[str(h.giver_urn).strip()], urns[str(h.taker_urn).strip()]
        if h.date <= today:
            given[g] += 1
        if (today - h.date).days <= window:
            recent.add(min(g, t) * s + max(g, t))
    return dict(
        urn_list=urn_list,
        need_school=item_school[: len(needs)], offer_school=item_school[len(needs):],
        known=np.array([i is not None for i in info], dtype=bool),
        phase_codes=phase_codes, phase_table=phase_table, la_codes=la_codes, la_names=las,
        trust_codes=trust_codes, east=east, north=north,
        fsm=np.array([_num(i.fsm_percent) if i else np.nan for i in info], dtype=np.float64),
        names=[(i.name if i and i.name else "") for i in info],
        given=given, recent_keys=np.array(sorted(recent), dtype=np.int64),
    )


def _check_unique(ids: list[str], kind: str) -> None:
    seen: set[str] = set()
    for x in ids:
        if x in seen:
            raise ValueError(f"duplicate {kind} id {x!r}")
        seen.add(x)


def _codes(values, keep_empty: bool = False):
    """Integer codes for values; None -> -1 (unknown). Returns (codes, distinct values)."""
    index: dict = {}
    codes = np.empty(len(values), dtype=np.int64)
    for k, v in enumerate(values):
        if v is None or (v == "" and not keep_empty):
            codes[k] = -1
        else:
            codes[k] = index.setdefault(v, len(index))
    return codes, list(index)


def _num(x) -> float:
    if x is None:
        return np.nan
    try:
        v = float(x)
    except (TypeError, ValueError):
        return np.nan
    return v if math.isfinite(v) else np.nan
