"""Build the theme model's training set and train it.

    python -m matching.training [--data ../shared/data] [--out matching/data/theme_model.npz]

Training data (see docs/quality.md for why):

1. **Gold**: the hand-labelled ``dev_items.csv`` / ``dev_labels.csv`` (160 needs, 480 offers).
   Primary theme at full weight; each secondary theme of an item as an extra row at
   ``SECONDARY_WEIGHT`` (an offer about "reading clubs" is good for a reading need and a
   personal-development need alike, and the matcher compares theme distributions).
2. **Seeds**: short plain phrases per theme written from the "covers" column of themes.md
   (``SEED_PHRASES``) - the vocabulary staff use in Slack, which Ofsted prose rarely does.
3. **Weak**: the ``reliable`` need and offer sentences of ``ofsted_sentences.csv`` labelled by
   keyword rules (``KEYWORDS``, also written from themes.md) when exactly one theme's rule
   fires, at ``WEAK_WEIGHT``.
4. **Self-training**: a first model labels the remaining reliable sentences; those it is
   confident about (``SELF_THRESHOLD``) join at ``SELF_WEIGHT`` and the model is refit.

The **need model** (``ThemeModel.need_model_``, used for needs) is trained the same way on
needs' terms: gold items with the needs at ``NEED_GOLD_WEIGHT``, the seeds, and only the
reliable *need* sentences, weakly labelled by ``need_weak_label`` (the keyword rules plus
``NEED_CUES``, counted, the theme with the most cues wins), then one round of self-training on
the remaining need sentences. Ofsted needs mention "the curriculum" in most sentences; what
they ask for (deliver it, check what pupils remember, identify the knowledge) is the theme.

5. **Relevance calibration** (``ThemeModel.relevance_``, matching/relevance.py): the raw
   relevance of out-of-fold labelled pairs (``out_of_fold_pairs``: ``CALIBRATION_FOLDS``
   models, each trained without one fold and scoring that fold's needs x offers) is mapped to
   the probability that the pair is good by sigmoid calibration.

``exclude_texts`` removes texts from every source (used by bench/quality.py so that a fold's
test items are never seen by the fold model, not even as weak data).
"""
from __future__ import annotations

import argparse
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from matching.themes import DEFAULT_MODEL_PATH, THEMES, ThemeModel, normalise

REPO_ROOT = Path(__file__).resolve().parent.parent
# ../shared/data beside the repository (a git worktree one level deeper finds it one more up)
DEFAULT_DATA_DIR = next((p for p in (REPO_ROOT.parent / "shared" / "data", REPO_ROOT.parent.parent / "shared" / "data")
                         if p.is_dir()), REPO_ROOT.parent / "shared" / "data")

SECONDARY_WEIGHT = 0.5
GOLD_WEIGHT = 1.0
SEED_WEIGHT = 1.0
WEAK_WEIGHT = 0.3
SELF_WEIGHT = 0.2
SELF_THRESHOLD = 0.6
CALIBRATION_FOLDS = 5  # out-of-fold trainings behind the relevance calibration
LABELLED_WEIGHT = 1.0
MIN_MEMBERSHIP_OFFERS = 20  # offers needed to fit the offer membership model
# More need and offer sentences with a primary (and secondary) theme: every reliable sentence of
# ofsted_sentences.csv that is not a dev item. See the files' headers and docs/quality.md for
# who labelled them and how well they agree with the hand labels.
LABELLED_PATHS = {kind: Path(__file__).resolve().parent / "data" / f"{kind}_labels.csv" for kind in ("need", "offer")}
# The need model learns the themes' real frequencies (class_weight=None): with 2,800 labelled
# needs, balancing over-predicts the rare themes (CV accuracy 0.740 unbalanced, 0.698 balanced).
NEED_MODEL_PARAMS: dict = {"class_weight": None}

# Keyword rules, one regex per theme, written from the "covers" column of themes.md (matched
# against normalise()d text: lower case, straight apostrophes). "other" has no rule.
KEYWORDS: dict[str, str] = {
    "reading": r"\bphonic|\breading\b|\bread\b|\breaders?\b|\bbooks?\b|\blibrar|\bfluen|\bdecod|\bstor(y|ies)\b",
    "writing": r"\bwrit(e|es|ing|ten)\b|\bspell|\bgrammar|\bhandwriting|\boracy\b|\bspoken language|\bpunctuation",
    "maths": r"\bmath|\bnumber\b|\barithmetic|\btimes tables?\b|\bcalculat|\bfractions?\b",
    "curriculum": r"\bcurricul|\bsequenc|\bimportant knowledge|\bkey knowledge|\bfoundation subjects|\bwider subjects|\bwhat pupils (should|need to) (learn|know)|\bsubject content",
    "assessment": r"\bassess|\bcheck(s|ing)? (pupils'|pupils|students'|students|children's|children) (understanding|learning|knowledge)|\bgaps in (their|pupils'|pupils|students') (knowledge|learning|understanding)|\bmisconception|\bfeedback|\bretriev|\btrack(ing)? (progress|pupils)",
    "teaching": r"\bexplanations?\b|\badapt(s|ing)? (tasks|teaching|activities|work)|\bsubject (knowledge|expertise)|\bstaff expertise|\bteachers'? (expertise|subject knowledge)|\bquality of teaching|\bpedagog|\binstructional|\bmodelling\b|\bprofessional development|\bcpd\b|\btrain(ing)? (staff|teachers)|\bstaff training",
    "send": r"\bsend\b|special educational needs|\bdisabilit|\behc|\bautis|\binclusion|\binclusive|\bresourced provision|\badditional needs|\bspecialist provision|\bsenco\b|\bsen\b",
    "disadvantage": r"\bdisadvantag|\bpupil premium|\bcatch[- ]up|\bfall(en|ing)? behind|\bclos(e|ing) (the )?gaps?",
    "behaviour": r"\bbehav|\broutines?\b|\bconduct\b|\bdisrupt|\bbully|\bbullied|\bsuspension|\bexclusion|\bexcluded|\battitudes? to (learning|work)|\bcalm\b|\borderly",
    "attendance": r"\battend|\babsen|\bpunctual|\blateness",
    "personal_development": r"\bclubs?\b|\btrips?\b|\brshe\b|\bbritish values|\bcitizenship|\bwell-?being|\bmental health|\bcharacter\b|\bpersonal development|\bextra-?curricular|\benrichment|\btoleran|\bdiversity|\brespect|\bhealthy|\bschool council|\bpupil voice|\bresponsibilit|\bopportunities to|\bhappy\b|\bkind(ness)?\b|\bfriend",
    "early_years": r"\bnursery|\breception\b|\bearly years|\beyfs\b|\bpre-?school|\btwo-year-olds|\bchildren\b",
    "post16_careers": r"\bsixth form|\bpost-?0?16\b|\bcareers?\b|\bwork experience|\bnext stage|\bapprentice|\buniversit|\bemploy|\bfurther education",
    "leadership": r"\bgovern|\btrust\b|\bquality assurance|\bsubject lead|\bworkload|\bstaff (well-?being|morale)|\bparents\b|\bcarers\b|\bcommunity\b|\boversight|\bmonitor|\bleaders'? (check|evaluat|ensur)",
    "safeguarding": r"\bsafeguard|\bonline safety|\bsafe online|\bsafer recruitment|\bchild protection|\bkeep(ing)? (pupils|children|students) safe|\bdesignated safeguarding",
}
_KEYWORD_RES = {theme: re.compile(rx) for theme, rx in KEYWORDS.items()}

NEED_GOLD_WEIGHT = 3.0

# Extra cues for need sentences, written from the inspection framework's split of the quality
# of education: intent (curriculum: identify and sequence the knowledge), implementation
# (teaching: deliver it, staff expertise and training, tasks, adapting; assessment: check
# understanding, gaps, remembering) and leaders' oversight (leadership: governors, monitoring,
# evaluating impact). Written once, before measuring; not fitted to the labelled items.
NEED_CUES: dict[str, str] = {
    "curriculum": r"\bidentif(y|ies|ied|ying) (precisely |clearly |exactly )?(the |all the |what )?(most |precise |key |essential |important |core )*(knowledge|content|vocabulary|skills)|\bsequenc|\bwhat (pupils|students|children) (should|need to|must) (learn|know)|\bcurriculum (is|are) (planned|designed|ambitious|well planned)|\bcurriculum (planning|design|thinking|plans?)\b|\bplann(ed|ing) (curriculum|content)|\bfoundation subjects|\bwider curriculum|\bsubject content|\bcoverage\b|\bbuild(s)? on (what|prior)|\bknowledge and skills (that )?(pupils|students|children) (should|need|must|will)",
    "teaching": r"\bdeliver(s|ed|ing|y)?\b|\bsubject (knowledge|expertise)\b(?! (that|pupils))|\bexpertise\b|\btrain(ed|ing)?\b|\bprofessional development\b|\bteach(ers|ing)? (use|uses|present|explain|model|adapt|choose|select|plan)|\bexplain|\bquestioning\b|\b(tasks|activities)\b|\badapt(s|ed|ing)?\b|\bimplement(ed|ation|s|ing)? (of )?(the |their |its )?curricul|\bhow (it|the curriculum|subjects?|this) (is|are|should be) taught|\b(consistently|effectively|well) taught\b|\bpedagog|\bchallenge\b|\bexpectations of (what )?pupils",
    "assessment": r"\bassess|\bcheck(s|ing)? (that |what |whether |how well |on )?(pupils|students|children)|\bgaps? in|\bmisconception|\bfeedback|\bretriev|\bremember|\brecall|\bsecure (in|their)|\bidentify (any |and address )?gaps",
    "leadership": r"\bgovern|\btrustees?\b|\bhold(s|ing)? leaders to account|\bquality assur|\bmonitor|\bevaluat|\boversight|\bimpact of|\bworkload|\bsubject leaders? (have|has|develop|check|monitor|are)|\bleaders at all levels|\bstrategic|\bparents\b|\bcarers\b|\bstaff (well-?being|morale|feel)",
}
_NEED_CUE_RES = {theme: re.compile(rx) for theme, rx in NEED_CUES.items()}

# Short plain posts as staff would write them, per theme: the seed vocabulary of themes.md
# turned into phrases (written by hand; the plain-post test set in tests/ is separate).
SEED_PHRASES: dict[str, list[str]] = {
    "reading": [
        "phonics", "early reading", "reading fluency", "reading for pleasure",
        "support for weaker readers", "struggling readers", "phonics scheme",
        "library and class readers", "decodable books", "guided reading", "reading age",
    ],
    "writing": [
        "writing", "spelling", "grammar and punctuation", "handwriting", "oracy",
        "spoken language", "extended writing", "talk for writing", "sentence structure",
    ],
    "maths": [
        "maths", "mathematics", "number sense", "arithmetic", "times tables",
        "mastery maths", "fractions", "mental maths", "maths lead",
    ],
    "curriculum": [
        "curriculum design", "sequencing the curriculum", "important knowledge",
        "curriculum coverage", "foundation subjects", "wider curriculum", "history curriculum",
        "geography", "science curriculum", "subject content", "long term plans",
        "knowledge organisers", "music", "art and design", "languages",
    ],
    "assessment": [
        "assessment", "checking understanding", "gaps and misconceptions", "feedback",
        "retrieval practice", "tracking progress", "marking", "formative assessment",
        "mock exams", "data drops",
    ],
    "teaching": [
        "quality of teaching", "teacher explanations", "adapting tasks", "challenge for pupils",
        "staff subject expertise", "training staff", "instructional coaching",
        "teaching and learning", "early career teachers", "lesson observations", "ect mentoring",
        "modelling in lessons",
    ],
    "send": [
        "send", "special educational needs", "pupils with disabilities", "ehcp",
        "autism", "inclusion", "resourced provision", "senco", "sen support",
        "speech and language", "adhd", "additional needs",
    ],
    "disadvantage": [
        "disadvantaged pupils", "pupil premium", "catch-up", "pupils who fall behind",
        "closing the gap", "free school meals", "tutoring", "cost of living",
    ],
    "behaviour": [
        "behaviour", "routines", "low-level disruption", "bullying", "suspensions",
        "exclusions", "attitudes to learning", "behaviour policy", "restorative practice",
        "corridors and lunchtimes", "detentions",
    ],
    "attendance": [
        "attendance", "persistent absence", "punctuality", "absence", "school refusal",
        "first day calling", "lateness", "emotionally based school avoidance",
    ],
    "personal_development": [
        "clubs", "trips", "rshe", "british values", "citizenship", "wellbeing",
        "mental health", "character education", "pshe", "extra-curricular", "enrichment",
        "pupil voice", "school council", "relationships education", "sports",
    ],
    "early_years": [
        "nursery", "reception", "early years", "eyfs", "early years foundation stage",
        "two year olds", "reception baseline", "continuous provision",
    ],
    "post16_careers": [
        "sixth form", "post-16", "careers guidance", "work experience", "ucas",
        "apprenticeships", "gatsby benchmarks", "university applications", "neet",
        "next steps after year 11",
    ],
    "leadership": [
        "governors", "governance", "quality assurance", "subject leadership",
        "trust support", "staff workload", "staff wellbeing", "working with parents",
        "community links", "middle leaders", "school improvement planning", "recruitment and retention",
    ],
    "safeguarding": [
        "safeguarding", "online safety", "keeping children safe", "child protection",
        "dsl training", "safer recruitment", "prevent duty", "cpoms",
    ],
    "other": [
        "this is a good school", "pupils achieve well", "general support", "anything",
        "thank you", "hello",
    ],
}


@dataclass
class DevItem:
    item_id: str
    kind: str
    urn: str
    text: str
    primary: str
    secondary: list[str] = field(default_factory=list)

    @property
    def themes(self) -> set[str]:
        return {self.primary, *self.secondary}


def load_dev(data_dir: Path | str = DEFAULT_DATA_DIR) -> list[DevItem]:
    data_dir = Path(data_dir)
    with open(data_dir / "dev_labels.csv", newline="", encoding="utf-8") as fh:
        labels = {row["item_id"]: row for row in csv.DictReader(fh)}
    items = []
    with open(data_dir / "dev_items.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lab = labels[row["item_id"]]
            secondary = [s for s in (lab.get("secondary") or "").split("|") if s]
            items.append(
                DevItem(row["item_id"], row["kind"], row["urn"], row["text"], lab["primary"], secondary)
            )
    return items


def load_labelled(paths: dict[str, Path] | None = None) -> list[DevItem]:
    """The extra labelled need and offer sentences (a missing file gives none). Lines starting
    ``#`` are a file's provenance note; secondaries are separated by ``;``."""
    items = []
    for kind, path in (paths or LABELLED_PATHS).items():
        if not Path(path).exists():
            continue
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
        items += [DevItem(row["id"], kind, row["urn"], row["text"], row["primary"],
                          [s for s in (row.get("secondary") or "").split(";") if s]) for row in rows]
    return items


def labelled_without(items: Iterable[DevItem], labelled: list[DevItem] | None = None) -> list[DevItem]:
    """The extra labelled sentences (default ``load_labelled()``) less those of the schools of
    ``items``: what a model evaluated on ``items`` may train on, grouped by school like the folds."""
    urns = {x.urn for x in items}
    return [x for x in (load_labelled() if labelled is None else labelled) if x.urn not in urns]


def load_sentences(data_dir: Path | str = DEFAULT_DATA_DIR) -> list[str]:
    """Distinct reliable need and offer sentences of ofsted_sentences.csv."""
    seen: dict[str, None] = {}
    with open(Path(data_dir) / "ofsted_sentences.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] in ("need", "offer") and row["label_quality"] == "reliable":
                seen.setdefault(row["text"].strip(), None)
    return list(seen)


def load_need_sentences(data_dir: Path | str = DEFAULT_DATA_DIR) -> list[str]:
    """Distinct reliable *need* sentences of ofsted_sentences.csv ([] if the file is missing)."""
    path = Path(data_dir) / "ofsted_sentences.csv"
    if not path.exists():
        return []
    seen: dict[str, None] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] == "need" and row["label_quality"] == "reliable":
                seen.setdefault(row["text"].strip(), None)
    return list(seen)


def need_weak_label(text: str) -> str | None:
    """Weak theme of a need sentence: each theme's keyword rule counts 1, each NEED_CUES match
    1 more; the theme with the most wins, no label on a tie or when nothing matches."""
    norm = normalise(text)
    counts = {theme: 1 for theme in keyword_themes(text)}
    for theme, rx in _NEED_CUE_RES.items():
        n = len(rx.findall(norm))
        if n:
            counts[theme] = counts.get(theme, 0) + n
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def keyword_themes(text: str) -> set[str]:
    norm = normalise(text)
    return {theme for theme, rx in _KEYWORD_RES.items() if rx.search(norm)}


def weak_labels(texts: Iterable[str]) -> list[tuple[str, str]]:
    """(text, theme) for the texts where exactly one theme's keyword rule fires."""
    out = []
    for text in texts:
        hits = keyword_themes(text)
        if len(hits) == 1:
            out.append((text, next(iter(hits))))
    return out


@dataclass
class TrainingSet:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)

    def add(self, text: str, label: str, weight: float) -> None:
        self.texts.append(text)
        self.labels.append(label)
        self.weights.append(weight)


def _key(text: str) -> str:
    return " ".join(str(text).split())


def build_training_set(
    dev_items: list[DevItem],
    sentences: list[str],
    exclude_texts: Iterable[str] = (),
    *,
    use_seeds: bool = True,
    use_weak: bool = True,
    labelled: Iterable[DevItem] = (),
) -> TrainingSet:
    """The main model's training set; ``labelled`` (the extra labelled sentences) join at
    ``LABELLED_WEIGHT`` instead of a weak label."""
    excluded = {_key(t) for t in exclude_texts}
    ts = TrainingSet()
    labelled = _add_labelled(ts, [(x, GOLD_WEIGHT) for x in dev_items], labelled, excluded)
    if use_seeds:
        for theme, phrases in SEED_PHRASES.items():
            for phrase in phrases:
                ts.add(phrase, theme, SEED_WEIGHT)
    if use_weak:
        gold = {_key(i.text) for i in [*dev_items, *labelled]}
        pool = [s for s in sentences if _key(s) not in excluded and _key(s) not in gold]
        for text, theme in weak_labels(pool):
            ts.add(text, theme, WEAK_WEIGHT)
    return ts


def _add_labelled(ts: TrainingSet, weighted: list[tuple[DevItem, float]], labelled: Iterable[DevItem],
                  excluded: set[str]) -> list[DevItem]:
    """Add the hand-labelled items at their weights and the extra labelled sentences at
    ``LABELLED_WEIGHT`` (each secondary as a row at ``SECONDARY_WEIGHT`` of it), skipping excluded
    texts; returns the labelled sentences kept."""
    labelled = [x for x in labelled if _key(x.text) not in excluded]
    for item, w in [*weighted, *((x, LABELLED_WEIGHT) for x in labelled)]:
        if _key(item.text) in excluded:
            continue
        ts.add(item.text, item.primary, w)
        for sec in item.secondary:
            ts.add(item.text, sec, w * SECONDARY_WEIGHT)
    return labelled


def _self_train(ts: TrainingSet, pool: list[str], model_params: dict) -> ThemeModel:
    """The model of ``ts``, refitted once with its confident labels of ``pool`` added (an empty
    pool: no self-training, the first fit)."""
    model = ThemeModel(**model_params).fit(ts.texts, ts.labels, sample_weight=np.array(ts.weights))
    used = {_key(t) for t in ts.texts}
    pool = [s for s in pool if _key(s) not in used]
    if not pool:
        return model
    proba = model.predict_proba(pool)
    for text, b, c in zip(pool, proba.argmax(axis=1), proba.max(axis=1)):
        if c >= SELF_THRESHOLD:
            ts.add(text, THEMES[b], SELF_WEIGHT)
    return ThemeModel(**model_params).fit(ts.texts, ts.labels, sample_weight=np.array(ts.weights))


def membership_offers(dev_items: list[DevItem], labelled: Iterable[DevItem], exclude_texts: Iterable[str] = ()
                      ) -> list[DevItem]:
    """The offers the membership model learns from: the hand-labelled and the labelled offers
    (with their secondaries, which is the point), less the excluded texts."""
    excluded = {_key(t) for t in exclude_texts}
    return [x for x in [*dev_items, *labelled] if x.kind == "offer" and _key(x.text) not in excluded]


def build_need_training_set(
    dev_items: list[DevItem], need_sentences: list[str], exclude_texts: Iterable[str] = (),
    labelled: Iterable[DevItem] = (),
) -> tuple[TrainingSet, list[str]]:
    """The need model's training set, and the need sentences left for self-training.

    The needs of ``labelled`` (the extra labelled sentences) join at ``LABELLED_WEIGHT``
    instead of their weak label; they are not self-trained on."""
    excluded = {_key(t) for t in exclude_texts}
    ts = TrainingSet()
    weighted = [(x, GOLD_WEIGHT * (NEED_GOLD_WEIGHT if x.kind == "need" else 1.0)) for x in dev_items]
    labelled = _add_labelled(ts, weighted, [x for x in labelled if x.kind == "need"], excluded)
    gold = {_key(i.text) for i in [*dev_items, *labelled]}
    for theme, phrases in SEED_PHRASES.items():
        for phrase in phrases:
            ts.add(phrase, theme, SEED_WEIGHT)
    pool = [s for s in need_sentences if _key(s) not in excluded and _key(s) not in gold]
    for text in pool:
        label = need_weak_label(text)
        if label:
            ts.add(text, label, WEAK_WEIGHT)
    return ts, pool


def train_need_model(dev_items: list[DevItem], need_sentences: list[str], exclude_texts: Iterable[str] = (),
                     labelled: Iterable[DevItem] = (), *, self_training: bool = True, **model_params) -> ThemeModel:
    """The need model alone: what ``train`` puts in ``need_model_`` (it calls this), and what
    bench/need_theme_cv.py compares under the same protocol."""
    nts, pool = build_need_training_set(dev_items, need_sentences, list(exclude_texts), labelled)
    return _self_train(nts, pool if self_training else [], {**NEED_MODEL_PARAMS, **model_params})


def labelled_pairs(model: ThemeModel, needs: list[DevItem], offers: list[DevItem]) -> tuple[np.ndarray, np.ndarray]:
    """Raw relevance and goodness of every need x offer pair of two different schools.

    Scored as the engine scores a round made of exactly these posts: themes inferred by
    ``model`` (needs through its need model), text vectors fitted on these posts' texts, raw
    relevance = ``TEXT_WEIGHT`` x text + ``THEME_WEIGHT`` x theme. Good: the need's primary
    theme is among the offer's themes.
    """
    from matching.text import TextMatrices, TextVectorizer
    from matching.weights import TEXT_WEIGHT, THEME_WEIGHT

    if not needs or not offers:
        return np.zeros(0), np.zeros(0, dtype=bool)
    p_need = model.predict_proba([x.text for x in needs], kinds=["need"] * len(needs))
    p_offer = model.predict_proba([x.text for x in offers], kinds=["offer"] * len(offers))
    if model.membership_ is not None:  # the offer's side as the engine reads it
        from matching.features import offer_theme_side

        p_offer = offer_theme_side(p_offer, model.membership_.predict_proba([x.text for x in offers]))
    mats = TextVectorizer().fit_transform([x.text for x in needs + offers])
    n = len(needs)
    a = TextMatrices(mats.words[:n], mats.chars[:n], mats.word_share)
    b = TextMatrices(mats.words[n:], mats.chars[n:], mats.word_share)
    raw = TEXT_WEIGHT * a.all_pairs(b) + THEME_WEIGHT * (p_need @ p_offer.T)
    good = np.array([[x.primary in o.themes for o in offers] for x in needs], dtype=bool)
    other_school = np.array([[x.urn != o.urn for o in offers] for x in needs], dtype=bool)
    return raw[other_school], good[other_school]


def out_of_fold_pairs(
    dev_items: list[DevItem],
    sentences: list[str],
    exclude_texts: Iterable[str] = (),
    *,
    folds: int = 5,
    seed: int = 0,
    need_sentences: list[str] | None = None,
    labelled: list[DevItem] | None = None,
    **train_params,
) -> tuple[np.ndarray, np.ndarray]:
    """(raw relevance, good) of labelled pairs, each scored by a model that never saw either item.

    The labelled items are split into ``folds`` folds (stratified by need/offer, grouped by
    school, so no school is on both sides); a model is trained without each fold (its texts
    removed from every source, as in bench/quality.py) and scores the fold's needs against
    the fold's offers: a small round of posts the model has never seen. The labelled sentences
    of the fold's schools are left out of its training too.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    exclude_texts = list(exclude_texts)
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    raws, goods = [], []
    kinds, groups = [x.kind for x in dev_items], [x.urn for x in dev_items]
    for _, test_idx in splitter.split(np.zeros(len(dev_items)), kinds, groups):
        test = [dev_items[i] for i in test_idx]
        ids = {x.item_id for x in test}
        model = train([x for x in dev_items if x.item_id not in ids], sentences,
                      exclude_texts + [x.text for x in test], need_sentences=need_sentences,
                      labelled=labelled_without(test, labelled), calibrate=False, **train_params)
        raw, good = labelled_pairs(model, [x for x in test if x.kind == "need"],
                                   [x for x in test if x.kind == "offer"])
        raws.append(raw)
        goods.append(good)
    return np.concatenate(raws), np.concatenate(goods)


def train(
    dev_items: list[DevItem],
    sentences: list[str],
    exclude_texts: Iterable[str] = (),
    *,
    self_training: bool = True,
    need_sentences: list[str] | None = None,
    labelled: list[DevItem] | None = None,
    need_model: bool = True,
    membership: bool = True,
    calibrate: bool = True,
    calibration_folds: int = CALIBRATION_FOLDS,
    **model_params,
) -> ThemeModel:
    """Train a ThemeModel on gold + seeds + weak (+ one round of self-training), and its need
    model (``need_model=False``: none), and its offer membership model
    (``ThemeModel.fit_membership`` on the hand-labelled and labelled offers and the seed phrases;
    ``membership=False``: none). ``need_sentences`` default: the reliable need sentences of the
    default data folder that are among ``sentences``; ``labelled`` default: ``load_labelled()``.

    ``calibrate``: also fit the model's relevance calibration (``relevance_``) on out-of-fold
    pairs of ``dev_items`` (``calibration_folds`` more trainings; see matching/relevance.py)."""
    exclude_texts = list(exclude_texts)
    if labelled is None:
        labelled = load_labelled()
    if calibrate:
        from matching.relevance import RelevanceCalibration

        raw, good = out_of_fold_pairs(dev_items, sentences, exclude_texts, folds=calibration_folds,
                                      need_sentences=need_sentences, labelled=labelled,
                                      self_training=self_training, membership=membership,
                                      need_model=need_model, **model_params)
        model = train(dev_items, sentences, exclude_texts, self_training=self_training,
                      need_sentences=need_sentences, labelled=labelled, need_model=need_model,
                      membership=membership, calibrate=False, **model_params)
        model.relevance_ = RelevanceCalibration().fit(raw, good)
        return model
    ts = build_training_set(dev_items, sentences, exclude_texts, labelled=labelled)
    excluded = {_key(t) for t in exclude_texts}
    model = _self_train(ts, [s for s in sentences if _key(s) not in excluded] if self_training else [], model_params)
    if membership:
        offers = membership_offers(dev_items, labelled, exclude_texts)
        if len(offers) >= MIN_MEMBERSHIP_OFFERS:  # fewer (tiny test sets): the engine uses the main model
            # the seed phrases too: a staff post of a few words must still be sure of its theme
            seeds = [(phrase, {theme}) for theme, phrases in SEED_PHRASES.items() for phrase in phrases]
            model.fit_membership([x.text for x in offers] + [p for p, _ in seeds],
                                 [x.themes for x in offers] + [t for _, t in seeds])
    if need_model:
        if need_sentences is None:
            known = {_key(s) for s in sentences}
            need_sentences = [s for s in load_need_sentences() if _key(s) in known]
        model.need_model_ = train_need_model(dev_items, need_sentences, exclude_texts, labelled,
                                             self_training=self_training, **model_params)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the Collab theme model.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="folder of the shared data (default ../shared/data)")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH, help="where to write the model")
    parser.add_argument("--exclude", type=Path, help="CSV with a 'text' column: texts the model must not see")
    args = parser.parse_args(argv)
    exclude: list[str] = []
    if args.exclude:
        with open(args.exclude, newline="", encoding="utf-8") as fh:
            exclude = [row["text"] for row in csv.DictReader(fh)]
    model = train(load_dev(args.data), load_sentences(args.data), exclude,
                  need_sentences=load_need_sentences(args.data))
    path = model.save(args.out)
    cal = model.relevance_
    print(f"theme model written to {path} ({path.stat().st_size / 1e6:.2f} MB); relevance calibration "
          f"from {cal.n_pairs_} out-of-fold pairs: slope {cal.slope_:.3f}, intercept {cal.intercept_:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
