"""Text representation: word and character n-gram TF-IDF, scikit-learn style.

``TextVectorizer().fit(texts)`` then ``transform(texts)`` gives two L2-normalised sparse
matrices (word TF-IDF and character n-gram TF-IDF); the text similarity of two posts is

    similarity = word_share * cos(word TF-IDF) + (1 - word_share) * cos(char 4-gram TF-IDF)

with ``word_share`` 0.3 by default: on the labelled dev set, text alone (no themes) put an
offer of the need's theme first for 31 % of needs with words only, 34 % at 0.5, 36 % at 0.3
and 39 % with characters only (character 3-5-grams then); words are kept for the shared terms
of explanations. The similarity is in 0..1. Words are lower-cased ``\\w\\w+`` tokens without
English stop words, as in scikit-learn's default ``CountVectorizer``. The character n-grams are
those of scikit-learn's ``char_wb`` analyser (n-grams inside words padded with spaces), which
let "phonic"/"phonics" or "attend"/"attendance" meet. 4-grams only, not 3-5: a third of the
entries (and of the time spent on them), and on the labelled rounds of
``bench/round_quality.py`` the same proposals to within one good pair in 255
(docs/quality.md). They are computed once per distinct *word* and mapped to documents with a
sparse product (document word counts x word-to-n-gram matrix): the same counts as running the
character analyser on each document (stop words excepted), at a fraction of the cost on large
rounds. A round's texts are tokenised once (``count_words``), for the text vectors and the
theme model alike.
"""
from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from matching.parallel import forked_map

_WORD_CHARACTER = re.compile(r"\w")
# UTF-8 bytes: an ASCII byte that is not a word character -> space; the separator 0 and the bytes
# of multi-byte characters (>= 128) unchanged
_ASCII_NON_WORD_TO_SPACE = bytes(b if b == 0 or b > 127 or _WORD_CHARACTER.match(chr(b)) else 32 for b in range(256))
TOKENISE_TEXTS = 5_000  # texts tokenised in one pass
PARALLEL_TOKENISE_FROM = 20_000  # texts from which count_words(workers=2) forks
TFIDF_ENTRIES = 1 << 22  # matrix entries weighted at a time
PAIRS_AT_ONCE = 20_000  # pairs whose text similarity is computed in one go (5,000 and 60,000: slower)


@dataclass
class TextMatrices:
    """Rows are documents; both matrices are L2-normalised, float64 CSR."""

    words: sp.csr_matrix
    chars: sp.csr_matrix
    word_share: float

    def pair_similarity(self, other: "TextMatrices", rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Similarity of (self[rows[i]], other[cols[i]]) for every i, without all-pairs work."""
        a = self.word_share
        w = _pair_dot(self.words, other.words, rows, cols)
        c = _pair_dot(self.chars, other.chars, rows, cols)
        return np.clip(a * w + (1 - a) * c, 0.0, 1.0)

    def all_pairs(self, other: "TextMatrices") -> np.ndarray:
        """Dense similarity matrix (only for small inputs)."""
        a = self.word_share
        w = (self.words @ other.words.T).toarray()
        c = (self.chars @ other.chars.T).toarray()
        return np.clip(a * w + (1 - a) * c, 0.0, 1.0)


def _pair_dot(a: sp.csr_matrix, b: sp.csr_matrix, rows, cols, pairs_at_once: int = PAIRS_AT_ONCE) -> np.ndarray:
    """Row-by-row dot products a[rows[i]] . b[cols[i]] (exact).

    A few thousand pairs at a time, both sides' rows are gathered into two sparse matrices of
    the same shape and multiplied element by element, all in scipy's C loops: cost linear in
    the pairs' non-zeros, memory bounded by the chunk. On the 20,000-school bench this took
    1.0-1.1 s for 708,000 pairs (words and characters) where densifying a few rows of ``a`` at
    a time and looking up ``b``'s entries in them took 2.0-2.2 s: that way made a thousand
    small scipy calls per block, and their overhead was most of its time (docs/matching.md).
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    out = np.zeros(len(rows), dtype=np.float64)
    for lo in range(0, len(rows), pairs_at_once):
        both = a[rows[lo : lo + pairs_at_once]].multiply(b[cols[lo : lo + pairs_at_once]])
        out[lo : lo + pairs_at_once] = np.asarray(both.sum(axis=1)).ravel()
    return out


def _smooth_idf(parts: list[sp.csr_matrix]) -> np.ndarray:
    """scikit-learn's smoothed idf, log((1 + n) / (1 + df)) + 1, over the documents of all
    ``parts`` (document x term count matrices with duplicate-free rows, as built here)."""
    df = np.zeros(parts[0].shape[1])
    for counts in parts:
        for lo in range(0, counts.nnz, TFIDF_ENTRIES):  # bincount widens the indices: a slice at a time
            df += np.bincount(counts.indices[lo : lo + TFIDF_ENTRIES], minlength=counts.shape[1])
    n = sum(counts.shape[0] for counts in parts)
    return np.log((n + 1.0) / (df + 1.0)) + 1.0


def sublinear_tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf x idf, rows L2-normalised: what ``TfidfTransformer(sublinear_tf=True)``
    gives (a test checks it), in place (``counts`` is consumed), a few million entries at a
    time. On the 26 million character n-gram entries of a national round scikit-learn's
    checks, copies and casts took four times as long and 600 MB more memory."""
    out = counts if counts.dtype == np.float64 else counts.astype(np.float64)  # weighted in place
    data, indices, indptr = out.data, out.indices, out.indptr
    row = 0
    while row < out.shape[0]:
        end = int(np.searchsorted(indptr, indptr[row] + TFIDF_ENTRIES, side="right")) - 1
        end = min(max(end, row + 1), out.shape[0])
        lo, hi = indptr[row], indptr[end]
        chunk = data[lo:hi]
        np.log(chunk, out=chunk)
        chunk += 1.0
        chunk *= idf[indices[lo:hi]]
        lens = np.diff(indptr[row : end + 1])
        filled = lens > 0
        norms = np.ones(end - row)
        if filled.any():
            norms[filled] = np.sqrt(np.add.reduceat(chunk * chunk, (indptr[row:end] - lo)[filled]))
        chunk *= np.repeat(1.0 / norms, lens)
        row = end
    return out


@dataclass
class WordCounts:
    """Every ``\\w\\w+`` token of each text, lower-cased, counted: ``counts[d, j]`` is how often
    text ``d`` has ``words[j]``. Stop words included: the text vectors leave them out, the theme
    model reads them (``ThemeModel.predict_proba_words``). A round tokenises its texts once,
    into this, for both."""

    words: list[str]
    counts: sp.csr_matrix

    def mapped(self, columns_of, width: int) -> sp.csr_matrix:
        """The counts moved to other columns: ``columns_of(word)`` lists a word's columns (none:
        dropped; several: counted in each); words sharing a column add up. ``width`` columns."""
        rows, cols = [], []
        for j, word in enumerate(self.words):
            for c in columns_of(word):
                rows.append(j)
                cols.append(c)
        move = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(self.counts.shape[1], width))
        out = (self.counts @ move).tocsr()
        out.sum_duplicates()
        out.eliminate_zeros()
        return out

    def columns(self, vocabulary: dict[str, int], width: int) -> sp.csr_matrix:
        """The counts of the words in ``vocabulary`` (word -> column), ``width`` columns."""
        return self.mapped(lambda word: (vocabulary[word],) if word in vocabulary else (), width)


def count_words(texts, workers: int = 1) -> WordCounts:
    """Tokenise ``texts`` a few thousand at a time (one split of each chunk, ``_tokenise``, so the
    token strings of a national round never all exist at once); each distinct token is
    lower-cased once, not the whole text. ``workers`` > 1 (the command line, large rounds):
    that many forked processes tokenise a slice each; the result is the same, word order
    included (words in order of first use)."""
    texts = list(texts)
    parts = workers if workers > 1 and len(texts) >= PARALLEL_TOKENISE_FROM else 1
    bounds = [len(texts) * k // parts for k in range(parts + 1)]
    index: dict[str, int] = {}
    lengths, ids = [np.zeros(1, np.int64)], [np.zeros(0, np.int64)]  # a 0 for the first row pointer
    slices = forked_map(lambda k: _tokenise(texts, bounds[k], bounds[k + 1]), parts, parts, here_first=True)
    for words, slice_lengths, found in slices:
        to_round = np.array([index.setdefault(w, len(index)) for w in words], dtype=np.int64)
        lengths.append(slice_lengths)
        ids.append(to_round[found])
    # tokens come text by text, so the rows are already in order: CSR straight away
    indptr = np.cumsum(np.concatenate(lengths), dtype=np.int64)
    indices = np.concatenate(ids)
    counts = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(texts), max(len(index), 1)))
    counts.sum_duplicates()
    return WordCounts(list(index), counts)


def _tokenise(texts: list[str], lo: int, hi: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts ``lo:hi``: (their words in order of first use, each text's number of tokens, each
    token's word as an index into those words). Counts per text and int32 ids, not an int64
    document and id per token: a quarter of what a worker sends back.

    The tokens are the matches of ``\\w\\w+`` (maximal runs of two or more word characters),
    found without running that pattern over the text: every character that is not a word
    character becomes a space and the text is split. Which characters those are is asked of the
    pattern's own ``\\w``, once per distinct non-ASCII character of a chunk (replaced in the
    string) and once for all ASCII ones (a byte table over the UTF-8 text); one-character runs
    are dropped as their words are looked up. On a national round's 120,000 posts this took 0.75 s
    a half where the regular expression took 1.12-1.20 s; a test compares the two on real and
    on awkward text (accents, combining marks, ligatures, non-breaking spaces, lone surrogates)."""
    lookup: dict[bytes, int] = {b"\x00": -1}  # raw token -> word id; the document separator -1
    index: dict[str, int] = {}
    lengths, ids = [], []
    for start in range(lo, hi, TOKENISE_TEXTS):
        part = texts[start : min(start + TOKENISE_TEXTS, hi)]
        chunk = " \x00 ".join(t.replace("\x00", " ") for t in part) + " \x00"
        for ch in set(chunk):
            if ch > "\x7f" and not _WORD_CHARACTER.match(ch):
                chunk = chunk.replace(ch, " ")
        tokens = chunk.encode("utf-8").translate(_ASCII_NON_WORD_TO_SPACE).split()
        for tok in dict.fromkeys(tokens):
            if tok not in lookup:
                word = tok.decode("utf-8")
                lookup[tok] = index.setdefault(word.lower(), len(index)) if len(word) > 1 else -2
        found = np.fromiter(map(lookup.__getitem__, tokens), dtype=np.int32, count=len(tokens))
        kept = found >= 0
        per_text = np.cumsum(kept)[found == -1]  # tokens kept up to each text's separator
        lengths.append(np.diff(per_text, prepend=0))
        ids.append(found[kept])
    empty = np.zeros(0, np.int32)
    return (list(index), np.concatenate(lengths).astype(np.int32) if lengths else empty,
            np.concatenate(ids) if ids else empty)


@functools.lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words (its ``CountVectorizer(stop_words="english")`` list),
    read from the file that holds them without importing scikit-learn: any import of it
    imports scipy.stats too, about 1 s that a round otherwise never needs (docs/matching.md).
    Should a release move the file, the import is the fallback (a test compares the two)."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "feature_extraction" / "_stop_words.py"
        if path.is_file():
            file_spec = importlib.util.spec_from_file_location("collab_sklearn_stop_words", path)
            module = importlib.util.module_from_spec(file_spec)
            file_spec.loader.exec_module(module)
            return frozenset(module.ENGLISH_STOP_WORDS)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


class TextVectorizer:
    """Word + character (4-grams, within words) TF-IDF with sublinear tf. scikit-learn style
    (``fit``, ``transform``, ``fit_transform``) without importing it."""

    def __init__(self, word_share: float = 0.3, char_ngram_range=(4, 4), stop_words="english"):
        self.word_share = word_share
        self.char_ngram_range = char_ngram_range
        self.stop_words = stop_words

    def word_counts(self, texts) -> sp.csr_matrix:
        """Document x word counts over the fitted vocabulary (other words dropped)."""
        return count_words(texts).columns(self.vocabulary_, max(len(self.vocabulary_), 1))

    # -- fitting -----------------------------------------------------------------------
    def fit(self, texts, y=None):  # noqa: ARG002
        self.fit_split(count_words(texts), 0)
        return self

    def fit_transform(self, texts, y=None):  # noqa: ARG002
        return self.fit_split(count_words(texts), 0)[1]

    def fit_split(self, tokens: WordCounts, at: int) -> tuple[TextMatrices, TextMatrices]:
        """Fit on all the texts ``tokens`` counts and return the matrices of texts ``[:at]`` and
        ``[at:]`` (a round's needs and offers) without building the whole and slicing it, which
        would copy the largest matrix of a round."""
        stop = english_stop_words() if self.stop_words == "english" else frozenset(self.stop_words or ())
        self.vocabulary_: dict[str, int] = {}
        for w in tokens.words:  # words in order of first use, as they were seen
            if w not in stop:
                self.vocabulary_[w] = len(self.vocabulary_)
        counts = tokens.columns(self.vocabulary_, max(len(self.vocabulary_), 1))
        self._build_char_map()
        parts = [counts[:at], counts[at:]]
        char_parts = [part @ self.char_map_ for part in parts]
        self.word_idf_ = _smooth_idf(parts)
        self.char_idf_ = _smooth_idf(char_parts)
        return tuple(self._matrices(w, c) for w, c in zip(parts, char_parts))

    def _build_char_map(self) -> None:
        lo, hi = self.char_ngram_range
        index: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for word, r in self.vocabulary_.items():
            padded = f" {word} "
            for n in range(lo, hi + 1):
                for start in range(0, len(padded) - n + 1):
                    rows.append(r)
                    cols.append(index.setdefault(padded[start : start + n], len(index)))
        self.char_vocabulary_ = index
        self.char_map_ = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float64), (rows, cols)),
            shape=(max(len(self.vocabulary_), 1), max(len(index), 1)),
        )

    def _matrices(self, counts, char_counts) -> TextMatrices:
        # float64 throughout, so that pair-by-pair and all-pairs similarities agree to ~1e-16
        return TextMatrices(sublinear_tfidf(counts, self.word_idf_), sublinear_tfidf(char_counts, self.char_idf_),
                            float(self.word_share))

    # -- transforming ------------------------------------------------------------------
    def transform(self, texts) -> TextMatrices:
        counts = self.word_counts(texts)
        return self._matrices(counts, counts @ self.char_map_)

    def word_names(self) -> np.ndarray:
        names = np.empty(len(self.vocabulary_), dtype=object)
        for word, j in self.vocabulary_.items():
            names[j] = word
        return names
