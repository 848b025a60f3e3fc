"""Collab's matching engine: pairs schools' needs with other schools' offers.

    from matching import match, propose, gaps, NeedItem, OfferItem, SchoolInfo, PastPairing, Weights
    result = match(needs, offers, schools, history, weights=Weights(), exclude=[(need_id, offer_id)])
    result.proposals, result.unmatched, result.gaps
    proposals = propose(needs, offers, schools, history)          # = match(...).proposals

See docs/matching.md for how a pair is scored and what "optimal" means.
"""
from matching.engine import Matcher, RoundResult, gaps, match, propose
from matching.items import NeedItem, OfferItem, PastPairing, Proposal, SchoolInfo
from matching.unmatched import Gap, Unmatched, likely_fit
from matching.weights import Weights

__all__ = ["match", "propose", "gaps", "Matcher", "RoundResult", "Unmatched", "Gap", "likely_fit",
           "NeedItem", "OfferItem", "SchoolInfo", "PastPairing", "Proposal", "Weights"]
