"""`collab match`: the offline contract that benchmarks, evaluations and spreadsheets rely on."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.cli import main


pytestmark = pytest.mark.usefixtures("keyword_default_model")

GIAS_HEADER = ["URN", "LA (code)", "LA (name)", "EstablishmentName", "EstablishmentStatus (name)",
               "PhaseOfEducation (name)", "PercentageFSM", "Trusts (name)", "Easting", "Northing"]


def write(path: Path, rows, encoding="utf-8", bom=False, quote_all=False):
    with open(path, "w", newline="", encoding=encoding) as f:
        if bom:
            f.write("\ufeff")
        w = csv.writer(f, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        w.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path):
    needs = write(tmp_path / "needs.csv", [
        ["need_id", "school_urn", "text", "notes"],
        ["n1", "100001", "Help with persistent absence in Year 9", "ignored column"],
        ["n2", "100002", "We need support with early reading and phonics", ""],
        ["n3", "100003", "Low-level disruption and behaviour routines", ""],
    ])
    offers = write(tmp_path / "offers.csv", [
        ["offer_id", "school_urn", "text", "capacity"],
        ["o1", "100004", "First-day calling and family liaison that halved persistent absence", "2"],
        ["o2", "100005", "Our phonics lead can coach staff on early reading", ""],
        ["o3", "100001", "Calm behaviour routines that cut low-level disruption", "1"],
    ])
    schools = write(tmp_path / "schools.csv", [
        GIAS_HEADER,
        ["100001", "936", "Surrey", "Hinchley Wood School", "Open", "Secondary", "12.5", "", "515000", "165000"],
        ["100002", "936", "Surrey", "Colgate Primary School", "Open", "Primary", "35.0", "Trust A", "520000", "160000"],
        ["100003", "886", "Kent", "Ærø Primary – Café", "Open", "Primary", "40", "", "", ""],
        ["100004", "886", "Kent", "Oak Academy", "Open", "Secondary", "20", "Trust A", "600000", "150000"],
        ["100005", "936", "Surrey", "Elm Infants", "Open", "Primary", "SUPP", "Trust B", "521000", "161000"],
    ], encoding="cp1252", quote_all=True)
    history = write(tmp_path / "history.csv", [
        ["giver_urn", "taker_urn", "date"],
        ["100002", "100004", "2025-11-01"],
    ])
    return {"needs": needs, "offers": offers, "schools": schools, "history": history, "dir": tmp_path}


def run(files, *extra, out="proposals.csv"):
    out_path = files["dir"] / out
    args = ["match", "--needs", str(files["needs"]), "--offers", str(files["offers"]), "--out", str(out_path), *extra]
    code = main(args)
    rows = list(csv.DictReader(open(out_path, encoding="utf-8-sig"))) if code == 0 else None
    return code, rows


def test_assignment_with_all_inputs(files, capsys):
    code, rows = run(files, "--schools", str(files["schools"]), "--history", str(files["history"]),
                     "--today", "2026-01-15")
    assert code == 0
    assert list(rows[0]) == ["need_id", "offer_id", "rank", "score", "probability", "reason"]
    assert {(r["need_id"], r["offer_id"]) for r in rows} == {("n1", "o1"), ("n2", "o2"), ("n3", "o3")}
    assert all(r["rank"] == "1" for r in rows)
    assert all(len(r["score"].split(".")[1]) == 4 for r in rows)
    reasons = {r["need_id"]: r["reason"] for r in rows}
    assert "Colgate Primary School has 35 % of pupils on free school meals" in reasons["n2"]
    assert "has helped other schools once" in reasons["n2"]
    assert "both in Surrey, 1 km apart" in reasons["n2"]
    assert "'phonics'" in reasons["n2"]
    err = capsys.readouterr().err
    assert "3 of 3 needs paired" in err and "3 of 3 offers used" in err and "total score" in err and " s " in err


def test_windows_1252_names_come_through(files):
    raw = files["schools"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really Windows-1252, every field quoted
    code, rows = run(files, "--schools", str(files["schools"]))
    assert code == 0
    reason = next(r["reason"] for r in rows if r["need_id"] == "n3")
    assert "Ærø Primary – Café has 40 % of pupils on free school meals" in reason
    # 'SUPP' (suppressed) FSM is simply unknown
    from matching.files import read_schools

    elm = next(s for s in read_schools(files["schools"]) if s.urn == "100005")
    assert elm.fsm_percent is None and elm.name == "Elm Infants" and elm.easting == 521000


def test_top_k_mode_and_same_scores(files):
    code, assigned = run(files, "--schools", str(files["schools"]), out="a.csv")
    code2, top = run(files, "--schools", str(files["schools"]), "--top-k", "2", out="t.csv")
    assert code == code2 == 0
    ranks = {}
    for r in top:
        ranks.setdefault(r["need_id"], []).append(int(r["rank"]))
    assert all(v == list(range(1, len(v) + 1)) and len(v) <= 2 for v in ranks.values())
    top_scores = {(r["need_id"], r["offer_id"]): r["score"] for r in top}
    for r in assigned:
        assert top_scores[(r["need_id"], r["offer_id"])] == r["score"]
    # capacity is ignored in top-k mode: o1 (capacity 2) may appear for all needs
    assert all(r["offer_id"] != "o3" or r["need_id"] != "n1" for r in top)  # never own school (100001)


def test_text_alone_with_bom(files):
    write(files["needs"], [["need_id", "school_urn", "text"], ["n1", "1", "phonics and early reading"]], bom=True)
    code, rows = run(files)
    assert code == 0 and rows[0]["offer_id"] == "o2"


def test_given_theme_column(files):
    write(files["needs"], [["need_id", "school_urn", "text", "theme"], ["n1", "1", "help our new staff", "attendance"]])
    write(files["offers"], [["offer_id", "school_urn", "text", "theme"], ["o1", "2", "help our new staff", "behaviour"],
                            ["o2", "3", "help our new staff", "attendance"]])
    # top-k lists both, whatever the threshold; the other-theme offer is unlikely
    code, rows = run(files, "--top-k", "2")
    assert code == 0 and [r["offer_id"] for r in rows] == ["o2", "o1"]
    assert float(rows[0]["probability"]) >= 0.8 and float(rows[1]["probability"]) < 0.5  # well below the default threshold
    # an assignment proposes only the likely one ...
    code, rows = run(files)
    assert code == 0 and [r["offer_id"] for r in rows] == ["o2"]
    # ... unless the threshold is lowered
    code, rows = run(files, "--weight", "min_relevance=0", "--top-k", "1")
    assert code == 0 and [r["offer_id"] for r in rows] == ["o2"]


@pytest.mark.parametrize("which,header,missing", [
    ("needs", ["need_id", "school_urn", "txt"], "text"),
    ("needs", ["id", "school_urn", "text"], "need_id"),
    ("offers", ["offer_id", "text"], "school_urn"),
    ("schools", ["urn", "EstablishmentName"], "URN"),
    ("history", ["giver_urn", "taker_urn", "when"], "date"),
])
def test_missing_column_is_a_one_line_error(files, capsys, which, header, missing):
    write(files[which], [header, ["1", "2", "3"]])
    extra = []
    if which in ("schools", "history"):
        extra = [f"--{which}", str(files[which])]
    code, _ = run(files, *extra)
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"'{missing}'" in err and str(files[which]) in err and which in err


@pytest.mark.parametrize("capacity", ["0", "-1", "two", "1.5"])
def test_bad_capacity(files, capsys, capacity):
    write(files["offers"], [["offer_id", "school_urn", "text", "capacity"], ["o1", "2", "x", capacity]])
    code, _ = run(files)
    err = capsys.readouterr().err
    assert code == 2 and "capacity" in err and str(files["offers"]) in err and "line 2" in err


def test_bad_date(files, capsys):
    write(files["history"], [["giver_urn", "taker_urn", "date"], ["1", "2", "01/02/2025"]])
    code, _ = run(files, "--history", str(files["history"]))
    err = capsys.readouterr().err
    assert code == 2 and "01/02/2025" in err and "history" in err and str(files["history"]) in err


def test_missing_files(files, capsys):
    code, _ = run(files, "--schools", str(files["dir"] / "nope.csv"))
    assert code == 2 and "nope.csv" in capsys.readouterr().err
    code, _ = run(files, "--model", str(files["dir"] / "model.npz"))
    assert code == 2 and "model.npz: file not found" in capsys.readouterr().err
    files["needs"] = files["dir"] / "absent.csv"
    code, _ = run(files)
    assert code == 2 and "absent.csv: file not found" in capsys.readouterr().err


def test_other_input_errors(files, capsys):
    write(files["needs"], [["need_id", "school_urn", "text"], ["n1", "1", "a"], ["n1", "2", "b"]])
    assert run(files)[0] == 2 and "needs.csv, line 3: duplicate need_id 'n1' (first on line 2)" in capsys.readouterr().err
    write(files["needs"], [["need_id", "school_urn", "text", "theme"], ["n1", "1", "a", "knitting"]])
    assert run(files)[0] == 2 and "line 2: unknown theme 'knitting'" in capsys.readouterr().err
    write(files["needs"], [["need_id", "school_urn", "text"], ["n1", "1", "a"]])
    assert run(files, "--top-k", "0")[0] == 2
    assert run(files, "--weight", "colour=1")[0] == 2 and "unknown weight" in capsys.readouterr().err
    assert run(files, "--today", "tomorrow")[0] == 2
    write(files["needs"], [["need_id", "school_urn", "text"], ["n1", "1", "a"], ["", "2", "b"]])
    assert run(files)[0] == 2 and "line 3: empty need_id" in capsys.readouterr().err


def test_model_option_loads_the_given_file(files, monkeypatch, capsys):
    import matching.themes as themes
    from tests.matching.conftest import KeywordThemeModel

    loaded = []

    def fake_load(path):
        loaded.append(path)
        return KeywordThemeModel()

    model_path = files["dir"] / "model.npz"
    model_path.write_bytes(b"x")
    monkeypatch.setattr(themes.ThemeModel, "load", staticmethod(fake_load))
    code, rows = run(files, "--model", str(model_path))
    assert code == 0 and loaded == [str(model_path)]

    def broken(path):
        raise ValueError("not a model")

    monkeypatch.setattr(themes.ThemeModel, "load", staticmethod(broken))
    assert run(files, "--model", str(model_path))[0] == 2
    assert "could not be loaded" in capsys.readouterr().err


def test_progress_on_large_inputs(files, capsys):
    rows = [["need_id", "school_urn", "text"]] + [[f"n{k}", str(k % 50), f"reading phonics {k}"] for k in range(1200)]
    write(files["needs"], rows)
    rows = [["offer_id", "school_urn", "text"]] + [[f"o{k}", str(k % 40 + 50), f"phonics coaching {k}"] for k in range(900)]
    write(files["offers"], rows)
    code, out = run(files)
    err = capsys.readouterr().err
    assert code == 0 and "optimal assignment" in err and "text vectors ready" in err
    assert len(out) == 900


def test_unmatched_file_and_summary_counts(files, capsys):
    write(files["needs"], [["need_id", "school_urn", "text"],
                           ["n1", "1", "Help with persistent absence in Year 9"],
                           ["n2", "2", "our safeguarding culture and online safety"]])
    unmatched = files["dir"] / "left.csv"
    code, rows = run(files, "--unmatched", str(unmatched))
    assert code == 0 and [r["need_id"] for r in rows] == ["n1"]
    left = list(csv.DictReader(open(unmatched, encoding="utf-8-sig")))
    assert [(r["need_id"], r["theme"], r["reason"]) for r in left] == [("n2", "safeguarding", "no_offer_on_theme")]
    assert left[0]["note"].startswith("No other school in the network offers help with safeguarding")
    assert all(" 0." in c or c.endswith(" 1.000") for c in left[0]["closest_offers"].split("; "))
    err = capsys.readouterr().err
    assert "1 of 2 needs paired" in err and "1 unpaired: 0 likely offers went to other needs, " \
        "1 no offer on its theme in the network, 0 closest offers too unlikely" in err
    assert "gaps: safeguarding (1 needs, 0 places)" in err


def test_proposals_open_cleanly_in_a_spreadsheet(files):
    write(files["needs"], [["need_id", "school_urn", "text"], ["=HYPERLINK(1)", "1", "phonics and early reading"]])
    code, _ = run(files)
    raw = (files["dir"] / "proposals.csv").read_bytes()
    assert code == 0 and raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(open(files["dir"] / "proposals.csv", encoding="utf-8-sig")))
    assert rows[0]["need_id"] == "'=HYPERLINK(1)"


def test_workbooks_and_semicolon_files_are_refused_with_a_reason(files, capsys):
    xlsx = files["dir"] / "needs.xlsx"
    xlsx.write_bytes(b"PK\x03\x04 not really a workbook")
    files["needs"] = xlsx
    assert run(files)[0] == 2 and "is a spreadsheet workbook, not a CSV file" in capsys.readouterr().err
    semi = files["dir"] / "needs2.csv"
    semi.write_text("need_id;school_urn;text\nn1;1;phonics\n", encoding="utf-8")
    files["needs"] = semi
    assert run(files)[0] == 2 and "separated by ';'" in capsys.readouterr().err


def test_duplicate_offer_ids_and_unknown_offer_themes_name_the_line(files, capsys):
    write(files["offers"], [["offer_id", "school_urn", "text"], ["o1", "5", "a"], ["o2", "5", "b"], ["o1", "6", "c"]])
    assert run(files)[0] == 2 and "offers.csv, line 4: duplicate offer_id 'o1' (first on line 2)" in \
        capsys.readouterr().err
    write(files["offers"], [["offer_id", "school_urn", "text", "theme"], ["o1", "5", "a", "maths"], ["o2", "5", "b", "yoga"]])
    assert run(files)[0] == 2 and "offers.csv, line 3: unknown theme 'yoga'" in capsys.readouterr().err


def test_unknown_urns_are_counted_in_a_warning(files, capsys):
    write(files["needs"], [["need_id", "school_urn", "text"], ["n1", "999999", "phonics"], ["n2", "100002", "maths"]])
    code, _ = run(files, "--schools", str(files["schools"]))
    assert code == 0
    assert "warning: 1 needs and 0 offers name a school_urn that" in capsys.readouterr().err


def test_a_round_runs_with_one_blas_thread(files, monkeypatch):
    """collab match uses the cores through processes; BLAS threads on top of them only spin."""
    from threadpoolctl import threadpool_info, threadpool_limits

    import matching.engine as engine

    seen = []
    fit = engine.Matcher.fit

    def recording_fit(self, *args, **kwargs):
        seen.extend(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(engine.Matcher, "fit", recording_fit)
    with threadpool_limits(limits=2, user_api="blas"):  # the test processes run with one already
        assert run(files)[0] == 0
    assert seen and set(seen) == {1}


def test_the_collector_is_off_during_a_round_and_on_after_it(files, monkeypatch):
    """A national round runs with the cyclic garbage collector off (about 1 s of 20,000
    schools); it must come back on after the round, and after a refused input too."""
    import gc

    from matching.engine import Matcher

    seen = []
    real_fit = Matcher.fit

    def fit(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(Matcher, "fit", fit)
    assert gc.isenabled()
    code, _ = run(files)
    assert code == 0 and seen == [False] and gc.isenabled()
    code = main(["match", "--needs", str(files["dir"] / "missing.csv"), "--offers", str(files["offers"]),
                 "--out", str(files["dir"] / "x.csv")])
    assert code == 2 and gc.isenabled()


def test_a_pickled_model_is_refused_not_run(files, capsys):
    """--model takes a file path from whoever runs the command; a pickle (an earlier version's
    .joblib model, or anything else) is refused with a message, and never unpickled."""
    import pickle

    marker = files["dir"] / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (files["dir"] / "theme_model.joblib").write_bytes(pickle.dumps(Payload()))
    code, _ = run(files, "--model", str(files["dir"] / "theme_model.joblib"))
    err = capsys.readouterr().err
    assert code == 2 and "pickled Python objects" in err and "python -m matching.training" in err
    assert not marker.exists()


def test_blank_rows_are_skipped_and_short_rows_read_as_empty_cells(files, capsys):
    """Spreadsheets leave blank lines and rows of empty cells at the end, and drop a row's
    trailing empty cells; the first two are skipped, the third is read with its cells empty."""
    write(files["needs"], [["need_id", "school_urn", "text", "theme"], ["n1", "100001", "persistent absence"],
                           [], ["", " ", "", ""], ["n2", "100002", "phonics and early reading", "reading"]])
    assert run(files)[0] == 0
    from matching.files import read_needs

    needs = read_needs(files["needs"])
    assert [(n.id, n.theme) for n in needs] == [("n1", None), ("n2", "reading")]
    write(files["needs"], [["need_id", "school_urn", "text"], ["n1", "100001", "absence"], ["n2"]])
    assert run(files)[0] == 2 and "needs.csv, line 3: empty school_urn" in capsys.readouterr().err
