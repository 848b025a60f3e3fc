"""matching.training: the need model trained alone is the one train() ships; the extra
labelled sentences (matching/data/*_labels.csv) are valid, join with their label and stay
out of a fold's training when they come from the fold's schools."""
import csv

import numpy as np
import pytest

from matching import training
from matching.themes import THEMES
from matching.training import DevItem


def _items():
    texts = {
        "maths": ["times tables and arithmetic in year four", "fractions and mental maths lessons"],
        "attendance": ["persistent absence and punctuality", "first day calling for absence"],
        "safeguarding": ["online safety at kestrel court", "safer recruitment at kestrel court"],
    }
    out = []
    for t, (a, b) in texts.items():
        out.append(DevItem(f"N{t}", "need", f"1{len(out)}", f"We need help with {a}", t))
        out.append(DevItem(f"O{t}", "offer", f"2{len(out)}", f"We can share {b}", t))
    return out


def test_train_need_model_is_the_shipped_need_model():
    items = _items()
    sentences = ["Leaders should improve attendance so that fewer pupils are persistently absent.",
                 "Pupils should learn their times tables and arithmetic securely."]
    labelled = [DevItem("X1", "need", "31", "Our pupils miss too many days of school", "attendance")]
    full = training.train(items, sentences, need_sentences=sentences, labelled=labelled, calibrate=False)
    alone = training.train_need_model(items, sentences, labelled=labelled)
    probe = ["help with absence", "maths lessons", "online safety", "something else entirely"]
    np.testing.assert_allclose(alone.predict_proba(probe), full.need_model_.predict_proba(probe))


def test_train_need_model_leaves_out_excluded_texts():
    items = _items()
    excluded = [x.text for x in items if x.primary == "safeguarding"]
    # "kestrel" is in the two safeguarding items only (min_df=2: it needs both)
    assert "kestrel" in training.train_need_model(items, []).vocabulary_
    model = training.train_need_model(items, [], exclude_texts=excluded)
    assert "kestrel" not in model.vocabulary_
    assert "share" in model.vocabulary_


def test_shipped_labels_are_valid_and_disjoint_from_the_dev_items():
    labelled = training.load_labelled()
    kinds = {x.kind for x in labelled}
    assert kinds == {"need", "offer"}
    assert len([x for x in labelled if x.kind == "need"]) > 2000
    assert len([x for x in labelled if x.kind == "offer"]) > 5000
    for x in labelled:
        assert x.primary in THEMES, x.item_id
        assert len(x.secondary) <= 2 and all(s in THEMES and s != x.primary for s in x.secondary), x.item_id
        assert x.urn.isdigit() and x.text.strip(), x.item_id
    keys = [training._key(x.text) for x in labelled]
    assert len(set(keys)) == len(keys)
    assert len({x.item_id for x in labelled}) == len(labelled)
    if not (training.DEFAULT_DATA_DIR / "dev_items.csv").exists():
        pytest.skip("shared data not found: the dev items cannot be checked")
    dev = {training._key(x.text) for x in training.load_dev()}
    assert not dev & set(keys)


def test_load_labelled_reads_its_provenance_note_and_secondaries(tmp_path):
    path = tmp_path / "need_labels.csv"
    path.write_text("# a note\n# another line\nid,urn,text,primary,secondary\n"
                    'X1,100001,"Improve phonics, fast",reading,teaching;assessment\n'
                    "X2,100002,Attendance is low,attendance,\n", encoding="utf-8")
    items = training.load_labelled({"need": path, "offer": tmp_path / "missing.csv"})
    assert [(x.item_id, x.kind, x.urn, x.text, x.primary, x.secondary) for x in items] == [
        ("X1", "need", "100001", "Improve phonics, fast", "reading", ["teaching", "assessment"]),
        ("X2", "need", "100002", "Attendance is low", "attendance", []),
    ]


def test_a_labelled_sentence_joins_with_its_label_instead_of_a_weak_one():
    text = "Leaders should improve attendance so that fewer pupils are persistently absent."
    assert training.need_weak_label(text) == "attendance"
    labelled = [DevItem("X1", "need", "31", text, "leadership", ["attendance"])]
    nts, pool = training.build_need_training_set(_items(), [text], labelled=labelled)
    rows = [(lab, w) for t, lab, w in zip(nts.texts, nts.labels, nts.weights) if t == text]
    assert rows == [("leadership", training.LABELLED_WEIGHT),
                    ("attendance", training.LABELLED_WEIGHT * training.SECONDARY_WEIGHT)]
    assert text not in pool  # not self-trained on either
    ts = training.build_training_set(_items(), [text], labelled=labelled)
    assert [(lab, w) for t, lab, w in zip(ts.texts, ts.labels, ts.weights) if t == text] == rows
    # an excluded text is left out whatever its source
    nts, _ = training.build_need_training_set(_items(), [text], exclude_texts=[text], labelled=labelled)
    assert text not in nts.texts


def test_offers_among_the_labelled_do_not_train_the_need_model():
    offer = DevItem("O1", "offer", "41", "Our kestrel garden club is lovely", "personal_development")
    nts, _ = training.build_need_training_set(_items(), [], labelled=[offer])
    assert offer.text not in nts.texts
    assert offer.text in training.build_training_set(_items(), [], labelled=[offer]).texts


def test_labelled_without_leaves_out_the_schools_of_the_items():
    labelled = [DevItem("X1", "need", "100", "a", "maths"), DevItem("X2", "offer", "200", "b", "maths"),
                DevItem("X3", "need", "300", "c", "maths")]
    test = [DevItem("N1", "need", "100", "x", "maths"), DevItem("O1", "offer", "300", "y", "maths")]
    assert [x.item_id for x in training.labelled_without(test, labelled)] == ["X2"]


def test_out_of_fold_models_never_train_on_the_labels_of_the_folds_schools(monkeypatch):
    items = _items()
    labelled = [DevItem(f"X{x.urn}", "need", x.urn, f"another sentence of school {x.urn}", "maths") for x in items]
    seen = []

    def fake_train(train_items, sentences, exclude_texts=(), *, labelled=None, **kw):
        seen.append(({x.urn for x in train_items}, {x.urn for x in labelled}))
        return real_train(train_items, sentences, exclude_texts, labelled=labelled, **kw)

    real_train = training.train
    monkeypatch.setattr(training, "train", fake_train)
    training.out_of_fold_pairs(items, [], folds=2, need_sentences=[], labelled=labelled, self_training=False)
    assert len(seen) == 2
    all_urns = {x.urn for x in items}
    for train_urns, label_urns in seen:
        assert label_urns == train_urns  # the held-out schools' labels are gone, the others kept
        assert train_urns < all_urns
