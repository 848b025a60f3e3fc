"""Stage 2 of a round: which need-offer pairs are worth scoring.

Small rounds (needs x offers <= ``ALL_PAIRS_LIMIT``) take every pair of two different
schools. Large rounds generate, per need, the ``per_need`` offers that share the most
distinctive words with it (sparse products over words with document frequency <= 2 %, in
row chunks), first within the need's theme, then across all themes for needs that got too
few, then by theme similarity for needs that still have fewer than ``fill_to`` (top-k: K,
so it can list K offers whenever the need's region has K offers of other schools; an
assignment: 3, enough to name a left need's closest offers).
Candidates come from regional blocks (``regional_blocks``), so the assignment splits into
independent problems of bounded size (docs/matching.md).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from matching.features import RoundFeatures

ALL_PAIRS_LIMIT = 4_000_000  # needs x offers up to which every pair is a candidate
BLOCK_NEEDS = 6_000  # large rounds: candidates come from regional blocks of about this many needs
MAX_DF_FRACTION = 0.02  # words in more posts than this are ignored for candidate generation
MIN_MAX_DF = 50


class CandidateBlocks:
    """The candidate pairs of a round, one regional block at a time.

    ``CandidateBlocks(f, per_need, fill_to)`` prepares what every block shares (the
    distinctive-word matrices, the blocks); ``pairs(b)`` gives block ``b``'s (need index,
    offer index, text similarity), never one school with itself. Blocks are independent, so
    they can be computed in any process (``matching/parallel.py``). A small round is one
    block of every pair.

    ``fill_to``: needs with fewer candidates than this after the word searches are filled up
    by theme similarity (default ``per_need``; top-k needs K, an assignment only a few to name
    the closest offers of a need it leaves).
    """

    def __init__(self, f: RoundFeatures, per_need: int, fill_to: int | None = None):
        self.f = f
        self.per_need = per_need
        self.fill_to = per_need if fill_to is None else min(fill_to, per_need)
        self.all_pairs = f.n * f.m <= ALL_PAIRS_LIMIT
        if self.all_pairs:
            self.blocks = [(np.arange(f.n), np.arange(f.m))]
            return
        wn, wo = f.text_need.words, f.text_offer.words
        n_words = wn.shape[1]
        df = np.bincount(wn.indices, minlength=n_words) + np.bincount(wo.indices, minlength=n_words)
        keep = (df <= max(MAX_DF_FRACTION * (f.n + f.m), MIN_MAX_DF)).astype(np.float32)
        mask = sp.diags(keep)
        self.fn, self.fo = (wn @ mask).tocsr(), (wo @ mask).tocsr()
        self.fn.eliminate_zeros()
        self.fo.eliminate_zeros()
        self.blocks = regional_blocks(f)

    def __len__(self) -> int:
        return len(self.blocks)

    def pairs(self, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = self.f
        if self.all_pairs:
            text = f.text_need.all_pairs(f.text_offer)
            pi, pj = np.nonzero(f.need_school[:, None] != f.offer_school[None, :])
            return pi.astype(np.int64), pj.astype(np.int64), text[pi, pj]
        block_needs, block_offers = self.blocks[b]
        pi, pj = _block_candidates(f, self.fn, self.fo, f.need_theme, f.offer_theme, block_needs, block_offers,
                                   self.per_need, self.fill_to)
        return pi, pj, f.text_need.pair_similarity(f.text_offer, pi, pj)


def _block_candidates(f, fn, fo, theme_n, theme_o, block_needs, block_offers, c, fill_to):
    """Per need of the block: the ``c`` offers of its theme sharing the most distinctive
    words, then, for needs with fewer than ``c``, the ``c`` best of any theme, then theme
    similarity up to ``fill_to``. One sparse product of the block's needs and offers serves
    both word searches (ties: the lower offer index): a 3,760-need block's product has about
    215,000 entries and takes 3 ms, where 17 products restricted to one theme or to the short
    needs, with their selections, took about 100 ms (9 in 10 needs of a block need the second
    search anyway)."""
    found_i: list[np.ndarray] = []
    found_j: list[np.ndarray] = []
    count = np.zeros(len(block_needs), dtype=np.int64)  # per block need, as in the searches
    prod = (fn[block_needs] @ fo[block_offers].T).tocsr()
    prod.sort_indices()  # offers in order within each need's row: how ties are broken
    r = np.repeat(np.arange(len(block_needs)), np.diff(prod.indptr))
    cols, vals = prod.indices.astype(np.int64), prod.data
    ok = f.need_school[block_needs][r] != f.offer_school[block_offers][cols]
    r, cols, vals = r[ok], cols[ok], vals[ok]
    same = theme_n[block_needs][r] == theme_o[block_offers][cols]
    for search in ("the need's theme", "any theme"):
        keep = same if search == "the need's theme" else count[r] < c  # the second: needs still short
        sr, sc = _best_per_row(r[keep], cols[keep], vals[keep], c)
        found_i.append(block_needs[sr])
        found_j.append(block_offers[sc])
        count += np.bincount(sr, minlength=len(block_needs))
    # too few offers sharing a distinctive word: fill up by theme similarity
    short = block_needs[count < fill_to]
    kk = min(fill_to, len(block_offers))
    for start in range(0, len(short) if kk > 0 else 0, 512):
        rows_idx = short[start : start + 512]
        sim = f.p_need[rows_idx] @ f.q_offer[block_offers].T
        same_school = f.need_school[rows_idx][:, None] == f.offer_school[block_offers][None, :]
        sim[same_school] = -1.0
        top = np.argpartition(-sim, kk - 1, axis=1)[:, :kk]
        ok = ~same_school[np.arange(len(rows_idx))[:, None], top]
        found_i.append(np.repeat(rows_idx, kk)[ok.ravel()])
        found_j.append(block_offers[top.ravel()][ok.ravel()])
    # sorted and without repeats; np.sort and a mask, not np.unique, whose hash path (numpy 2.4)
    # took 14 ms per block for the 160,000 keys of a national block where this takes 4
    key = np.sort(np.concatenate(found_i) * f.m + np.concatenate(found_j))
    key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
    return key // f.m, key % f.m


def _best_per_row(r: np.ndarray, cols: np.ndarray, vals: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
    """The entries (row, column) of each row's ``c`` largest values, ties to the lower column.

    Entries come row by row (``r`` non-decreasing), columns ascending within a row, values in
    0..1 (cosines): one stable sort of ``2 r - value`` orders each row by value and keeps the
    column order among equal values, a third of the time of a three-key ``np.lexsort``.
    (Values closer than about 2e-12, the rounding of that key, count as equal.)"""
    order = np.argsort(2.0 * r - vals, kind="stable")
    r, cols = r[order], cols[order]
    first = np.flatnonzero(np.r_[True, r[1:] != r[:-1]]) if len(r) else np.zeros(0, np.int64)
    rank = np.arange(len(r)) - np.repeat(first, np.diff(np.r_[first, len(r)]))
    sel = rank < c
    return r[sel], cols[sel]


def regional_blocks(f: RoundFeatures) -> list[tuple[np.ndarray, np.ndarray]]:
    """Regional blocks of (need indices, offer indices) for candidate generation on large rounds.

    Schools are split recursively at the (need-weighted) median Easting or Northing,
    whichever spreads wider, until a block has at most ``BLOCK_NEEDS`` needs. A school
    without coordinates takes its local authority's centre; schools with neither form one
    more block. Candidates never cross blocks.
    """
    if f.n <= BLOCK_NEEDS:
        return [(np.arange(f.n), np.arange(f.m))]
    s = f.n_school_ids
    east, north = f.east.copy(), f.north.copy()
    for la in np.unique(f.la_codes[f.la_codes >= 0]):
        members = f.la_codes == la
        known = members & ~np.isnan(east)
        if known.any():
            fill = members & np.isnan(east)
            east[fill], north[fill] = east[known].mean(), north[known].mean()
    need_count = np.bincount(f.need_school, minlength=s)
    used = (need_count + np.bincount(f.offer_school, minlength=s)) > 0
    located = np.flatnonzero(used & ~np.isnan(east))
    groups: list[np.ndarray] = []
    stack = [located] if len(located) else []
    while stack:
        ids = stack.pop()
        if need_count[ids].sum() <= BLOCK_NEEDS or len(ids) < 2:
            groups.append(ids)
            continue
        coord = east if np.ptp(east[ids]) >= np.ptp(north[ids]) else north
        ids = ids[np.lexsort((ids, coord[ids]))]
        cum = np.cumsum(need_count[ids])
        cut = int(np.clip(np.searchsorted(cum, cum[-1] / 2) + 1, 1, len(ids) - 1))
        stack.extend([ids[cut:], ids[:cut]])
    unlocated = np.flatnonzero(used & np.isnan(east))
    if len(unlocated):
        groups.append(unlocated)
    block_of = np.full(s, -1)
    for g, ids in enumerate(groups):
        block_of[ids] = g
    nb, ob = block_of[f.need_school], block_of[f.offer_school]
    return [(np.flatnonzero(nb == g), np.flatnonzero(ob == g)) for g in range(len(groups))]
