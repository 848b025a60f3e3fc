"""A round of staff-style posts: what each way of passing suggested themes to the engine proposes.

The posts are the hand-written staff-style set of ``tests/matching/test_themes.py``
(``STAFF_POSTS``: short and plain, as staff type them in Slack; never used in training), each
from a school of its own, every offer with 2 places. A pairing is good when the need's and the
offer's labelled themes are the same. The shipped theme model scores them; no schools file.

Settings (what the round is told of each post's theme):

* ``inferred``: nothing; every theme read from the text as probabilities (``collab match``
  on a file without a theme column);
* ``bot``: what the bot passes for posts nobody confirmed (``bot/services/rounds.py:
  given_theme``): a short need its suggested theme, a long need and every offer nothing;
* ``suggested``: every post its suggested theme, as if chosen (what the bot did before
  7 December 2026);
* ``chosen``: every post its labelled theme, as when each poster confirms or picks it.

    .venv/bin/python bench/staff_rounds.py [--thresholds 0.5 0.6 0.7 0.75 0.8]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.services.rounds import given_theme  # noqa: E402
from matching import NeedItem, OfferItem, Weights, match  # noqa: E402
from matching.themes import infer_theme  # noqa: E402
from models import Need, Offer  # noqa: E402
from tests.matching.test_themes import STAFF_POSTS  # noqa: E402

SETTINGS = ("inferred", "bot", "suggested", "chosen")


def themes_for(setting: str, kind: str, text: str, label: str) -> str | None:
    if setting == "chosen":
        return label
    post = (Need if kind == "need" else Offer)(text=text, theme=infer_theme(text))  # as a typed post is saved
    return {"inferred": None, "suggested": post.theme, "bot": given_theme(post)}[setting]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.75, 0.8])
    args = ap.parse_args()
    posts = [(str(i), text, kind, label) for i, (text, kind, label) in enumerate(STAFF_POSTS)]
    label = {i: lab for i, _, _, lab in posts}
    needs = [p for p in posts if p[2] == "need"]
    offers = [p for p in posts if p[2] == "offer"]
    possible = sum(any(label[o[0]] == label[n[0]] for o in offers) for n in needs)
    print(f"{len(needs)} needs, {len(offers)} offers (2 places each); {possible} needs have an offer on their theme")
    print("| setting | " + " | ".join(f"{t:g}: proposals / good" for t in args.thresholds) + " |")
    print("| --- |" + " ---: |" * len(args.thresholds))
    for setting in SETTINGS:
        cells = []
        for t in args.thresholds:
            result = match([NeedItem(i, f"n{i}", text, themes_for(setting, "need", text, lab)) for i, text, _, lab in needs],
                           [OfferItem(i, f"o{i}", text, themes_for(setting, "offer", text, lab), capacity=2)
                            for i, text, _, lab in offers], weights=Weights(min_relevance=t))
            good = sum(label[p.need_id] == label[p.offer_id] for p in result.proposals)
            cells.append(f"{len(result.proposals)} / {good}")
        print(f"| {setting} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
