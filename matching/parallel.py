"""Using the machine's second core on large rounds: a map over work items in forked processes.

The engine's large stages split into independent pieces (slices of posts to tokenise, regional
blocks of candidates). On the command line they run in forked worker processes, which inherit
the round's arrays instead of receiving them through a pipe; only the results travel back, in
order. A library call (the bot's rounds inside a threaded server) never forks: ``workers=1``
runs in the calling process, with the same results.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

_task: Callable[[int], object] | None = None  # set in each forked worker before it runs


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def cores() -> int:
    """Cores this process may use (the scheduler's affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def forked_map(task: Callable[[int], T], n: int, workers: int, *, here_first: bool = False) -> Iterator[T]:
    """``task(0), task(1), ... task(n - 1)``, in that order, computed by ``workers`` forked
    processes when more than one is asked for and the platform can fork. ``here_first``: this
    process computes ``task(0)`` itself while ``workers - 1`` forked ones compute the rest (for
    a few large items, where a worker more and its result's trip back cost more than they
    save). If a worker dies (killed, out of memory), the items not yet received are computed in
    this process: slower, the same results, never a hang."""
    workers = min(workers, n)
    if workers <= 1 or not fork_available():
        for i in range(n):
            yield task(i)
        return
    first = 1 if here_first else 0
    done = 0
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(workers - first, mp_context=context, initializer=_install,
                                 initargs=(task,)) as pool:
            results = pool.map(_run, range(first, n))  # all submitted, the workers forked, now
            if first:
                yield task(0)
                done = 1
            for result in results:
                yield result
                done += 1
    except BrokenProcessPool:
        for i in range(done, n):
            yield task(i)


def _install(task: Callable[[int], object]) -> None:
    global _task
    _task = task


def _run(i: int):
    return _task(i)
