"""Optimal capacity-respecting assignment on a sparse graph of eligible need-offer pairs.

``optimal_assignment`` picks a set of pairs such that every need is in at most one pair,
every offer in at most ``capacity`` pairs, and the sum of the pairs' (integer) weights is the
maximum possible. Needs may stay unpaired. It splits the graph into connected components
(``scipy.sparse.csgraph.connected_components``) and solves each one exactly:

* one need or one offer: pick the best pair(s) directly;
* small components: ``scipy.optimize.linear_sum_assignment`` on a dense matrix whose rows are
  needs and whose columns are offer *capacity slots* (an offer with capacity c and d eligible
  needs gets min(c, d) identical columns); a non-edge has weight 0, which is the same as
  leaving the need unpaired;
* large components: ``scipy.sparse.csgraph.min_weight_full_bipartite_matching`` on the sparse
  slot graph plus one private "unpaired" column per need, with costs ``big - weight`` so that
  a minimum-cost full matching of the needs is a maximum-weight assignment.

Weights are integers (scores x 10^4), so sums are exact and the result is deterministic.

``pair_group`` (optional) adds a rule: pairs of one group take at most one place between them.
The engine groups an offer's pairs by the taker's school, so that an offer's places go to
different schools in one round (two places of one attendance officer for one school's two
attendance needs would be one visit, and a place another school waits for). A component whose
optimal assignment keeps the rule (nearly all: 4 of 6,086 proposals broke it on the
20,000-school bench) is left as it is; one that breaks it is solved again with the rule as an
integer programme (``scipy.optimize.milp``, HiGHS; exact, and its linear relaxation is already
integral: needs, and groups inside offers, are two laminar families), or, above
``GROUPED_EXACT_LIMIT`` pairs, by re-solving without the group's weaker chosen pairs until no
group has two places (always keeps the rule, not always the optimum).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching

DENSE_LIMIT = 1_000_000  # cells of a component's dense matrix before the sparse solver is used
# Pairs of a component that broke the group rule up to which milp solves it exactly: on random
# components milp took 0.19 s at 5,000 pairs, 0.58 s at 10,000, 2.1 s at 20,000 and 17-25 s at the
# 67,000 of a national block with min_relevance 0; re-solving without the weaker repeats took
# 0.01-0.13 s there and reached 99.99 % of the optimum.
GROUPED_EXACT_LIMIT = 5_000


def optimal_assignment(
    pair_need: np.ndarray,
    pair_offer: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    n_needs: int,
    dense_limit: int = DENSE_LIMIT,
    pair_group: np.ndarray | None = None,
) -> np.ndarray:
    """Return the indices (into the pair arrays) of an optimal set of pairs, sorted.

    ``pair_need``/``pair_offer`` index needs 0..n_needs-1 and offers 0..len(capacity)-1;
    ``weight`` are positive integers; each (need, offer) pair must appear at most once.
    ``pair_group``: one integer per pair; at most one chosen pair per group (module docstring).
    """
    pair_need = np.asarray(pair_need, dtype=np.int64)
    pair_offer = np.asarray(pair_offer, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.int64)
    capacity = np.asarray(capacity, dtype=np.int64)
    n_offers = len(capacity)
    ok = (weight > 0) & (capacity[pair_offer] > 0) if len(weight) else np.zeros(0, bool)
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    pn, po = pair_need[idx], pair_offer[idx]
    groups = None if pair_group is None else np.asarray(pair_group, dtype=np.int64)[idx]
    graph = sp.coo_matrix(
        (np.ones(len(idx), dtype=np.int8), (pn, n_needs + po)), shape=(n_needs + n_offers,) * 2
    ).tocsr()
    _, labels = connected_components(graph, directed=False)
    comp = labels[pn]
    order = np.argsort(comp, kind="stable")
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    chosen: list[np.ndarray] = []
    for group in np.split(order, bounds):
        w = weight[idx[group]]
        local = _solve_component(pn[group], po[group], w, capacity, dense_limit)
        if groups is not None and len(np.unique(groups[group][local])) < len(local):
            local = _solve_grouped(pn[group], po[group], w, capacity, groups[group], dense_limit)
        chosen.append(idx[group[local]])
    return np.sort(np.concatenate(chosen))


def _solve_grouped(pn, po, w, capacity, group, dense_limit) -> np.ndarray:
    """An optimal assignment of one component with at most one chosen pair per group."""
    if len(w) <= GROUPED_EXACT_LIMIT:
        rows = []  # each need at most once, each offer up to its capacity, each group at most once
        for keys, limit in ((pn, None), (po, capacity), (group, None)):
            values, local = np.unique(keys, return_inverse=True)
            a = sp.csr_matrix((np.ones(len(w)), (local.reshape(-1), np.arange(len(w)))))
            rows.append(LinearConstraint(a, 0, 1 if limit is None else limit[values]))
        res = milp(-w.astype(np.float64), constraints=rows, integrality=np.ones(len(w)), bounds=Bounds(0, 1))
        if res.success:
            return np.flatnonzero(res.x > 0.5)
    alive = np.ones(len(w), dtype=bool)  # too large (or no answer): drop weaker repeats until none
    while True:
        keep = np.flatnonzero(alive)
        local = keep[_solve_component(pn[keep], po[keep], w[keep], capacity, dense_limit)]
        g = group[local]
        order = np.lexsort((local, -w[local], g))  # in each group the best first
        repeated = np.r_[False, g[order][1:] == g[order][:-1]]
        if not repeated.any():
            return np.sort(local)
        alive[local[order][repeated]] = False


def _solve_component(pn, po, w, capacity, dense_limit) -> np.ndarray:
    """Indices into this component's pairs that form an optimal assignment."""
    needs, need_local = np.unique(pn, return_inverse=True)
    offers, offer_local = np.unique(po, return_inverse=True)
    if len(needs) == 1:  # best single pair; ties go to the first (lowest offer index)
        return np.array([np.lexsort((po, -w))[0]])
    degree = np.bincount(offer_local, minlength=len(offers))
    slots = np.minimum(capacity[offers], degree)
    if len(offers) == 1:
        return np.lexsort((pn, -w))[: slots[0]]
    first_slot = np.concatenate(([0], np.cumsum(slots)[:-1]))
    n_slots = int(slots.sum())
    # expand each pair to every slot of its offer
    reps = slots[offer_local]
    pair_of_edge = np.repeat(np.arange(len(w)), reps)
    slot_rank = np.arange(len(pair_of_edge)) - np.repeat(np.cumsum(reps) - reps, reps)
    edge_row = need_local[pair_of_edge]
    edge_col = first_slot[offer_local[pair_of_edge]] + slot_rank
    edge_w = w[pair_of_edge]
    n_rows = len(needs)
    if n_rows * n_slots <= dense_limit:
        dense = np.zeros((n_rows, n_slots), dtype=np.float64)
        dense[edge_row, edge_col] = edge_w
        rows, cols = linear_sum_assignment(dense, maximize=True)
        picked = dense[rows, cols] > 0
        rows, cols = rows[picked], cols[picked]
    else:
        big = float(edge_w.max()) + 1.0
        data = np.concatenate([big - edge_w, np.full(n_rows, big)])
        r = np.concatenate([edge_row, np.arange(n_rows)])
        c = np.concatenate([edge_col, n_slots + np.arange(n_rows)])
        cost = sp.csr_matrix((data, (r, c)), shape=(n_rows, n_slots + n_rows))
        rows, cols = min_weight_full_bipartite_matching(cost)
        picked = cols < n_slots
        rows, cols = rows[picked], cols[picked]
    # map (row, slot) back to the pair: slot -> offer, then look the pair up
    slot_offer = np.repeat(np.arange(len(offers)), slots)
    key_pairs = need_local.astype(np.int64) * len(offers) + offer_local
    lookup = np.argsort(key_pairs, kind="stable")
    wanted = rows.astype(np.int64) * len(offers) + slot_offer[cols]
    pos = np.searchsorted(key_pairs[lookup], wanted)
    return lookup[pos]
