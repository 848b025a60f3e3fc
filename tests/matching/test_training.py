"""matching.training: the need model trained alone is the one train() ships."""
import numpy as np

from matching import training
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
    full = training.train(items, sentences, need_sentences=sentences, calibrate=False)
    alone = training.train_need_model(items, sentences)
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
