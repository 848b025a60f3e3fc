"""Collab's matching engine: pairs schools' needs with other schools' offers.

    from matching import match, propose, gaps, NeedItem, OfferItem, SchoolInfo, PastPairing, Weights
    result = match(needs, offers, schools, history, weights=Weights(), exclude=[(need_id, offer_id)])
    result.proposals, result.unmatched, result.gaps
    proposals = propose(needs, offers, schools, history)          # = match(...).proposals

See docs/matching.md for how a pair is scored and what "optimal" means.
"""
from matching.items import NeedItem, OfferItem, PastPairing, Proposal, SchoolInfo
from matching.unmatched import Gap, Unmatched, likely_fit
from matching.weights import Weights

# The engine pulls in scikit-learn (about 3 s to import): loaded when first used, so that every
# `collab` command (which builds its argument parser from matching.cli) starts at once.
_ENGINE = ("Matcher", "RoundResult", "gaps", "match", "propose")


def __getattr__(name: str):
    if name in _ENGINE:
        from matching import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'matching' has no attribute {name!r}")


__all__ = ["match", "propose", "gaps", "Matcher", "RoundResult", "Unmatched", "Gap", "likely_fit",
           "NeedItem", "OfferItem", "SchoolInfo", "PastPairing", "Proposal", "Weights"]
