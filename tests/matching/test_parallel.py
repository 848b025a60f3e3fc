"""forked_map: the engine's use of a second core."""
from __future__ import annotations

import os

import pytest

from matching.parallel import fork_available, forked_map

pytestmark = pytest.mark.skipif(not fork_available(), reason="needs fork")


def test_results_come_back_in_order_from_other_processes():
    parent = os.getpid()
    data = {"offset": 100}  # inherited by the workers, not sent to them

    def task(i):
        return i + data["offset"], os.getpid()

    results = list(forked_map(task, 12, workers=2))
    assert [r for r, _ in results] == list(range(100, 112))
    assert parent not in {pid for _, pid in results}


def test_one_worker_runs_in_this_process():
    assert {pid for pid in forked_map(lambda i: os.getpid(), 3, workers=1)} == {os.getpid()}


def test_a_failing_task_raises_in_the_caller():
    def task(i):
        if i == 2:
            raise ValueError("block 2 failed")
        return i

    with pytest.raises(ValueError, match="block 2 failed"):
        list(forked_map(task, 5, workers=2))


def test_a_killed_worker_costs_time_not_results():
    parent = os.getpid()

    def task(i):
        if i == 3 and os.getpid() != parent:
            os._exit(9)  # as if killed, e.g. by the kernel's out-of-memory killer
        return i * i

    assert list(forked_map(task, 8, workers=2)) == [i * i for i in range(8)]


@pytest.mark.parametrize("workers", [2, 3])
def test_tokenising_in_forked_processes_gives_the_same_counts(monkeypatch, workers):
    """Slices tokenised apart and merged: the same words in the same order, the same counts,
    also when a word first used in a later slice is used again in an earlier one."""
    import numpy as np

    import matching.text as text

    texts = ["Phonics and early reading", "", "Persistent absence in Year 9", "reading for pleasure, PHONICS",
             "St Mary\u2019s attendance", "absence absence year 10", "maths mastery", "early maths"] * 3
    serial = text.count_words(texts)
    monkeypatch.setattr(text, "PARALLEL_TOKENISE_FROM", 1)
    monkeypatch.setattr(text, "TOKENISE_TEXTS", 2)
    parts = text.count_words(texts, workers=workers)
    assert parts.words == serial.words
    np.testing.assert_array_equal(parts.counts.toarray(), serial.counts.toarray())
    assert text.count_words(texts[:1], workers=workers).words == ["phonics", "and", "early", "reading"]


def test_here_first_computes_the_first_item_in_this_process():
    parent = os.getpid()
    pids = list(forked_map(lambda i: os.getpid(), 4, workers=2, here_first=True))
    assert pids[0] == parent and parent not in pids[1:]
    assert list(forked_map(lambda i: i * 10, 3, workers=2, here_first=True)) == [0, 10, 20]
