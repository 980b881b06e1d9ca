"""The per-file and per-attachment time limit (``alarm``) strikes in any thread: the web server
runs investigations outside the main thread, where SIGALRM cannot reach."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from aptlink.analysis.base import TimeUp, alarm


def spin(seconds: float) -> None:
    """Pure-Python work that would go on for ``seconds`` (a pathological input)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(200))


def in_thread(work: Callable[[], object]) -> object:
    """``work()`` in a thread of its own: what it returned, or the exception it raised."""
    box: list[object] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as exc:  # TimeUp is a BaseException on purpose
            box.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return box[0]


def stopped_after(seconds: float, work_seconds: float) -> tuple[bool, float]:
    started = time.monotonic()
    try:
        with alarm(seconds):
            spin(work_seconds)
    except TimeUp:
        return True, time.monotonic() - started
    return False, time.monotonic() - started


@pytest.mark.parametrize("where", ["main", "thread"])
def test_endless_work_is_stopped(where: str) -> None:
    result = (
        stopped_after(0.2, 20) if where == "main" else in_thread(lambda: stopped_after(0.2, 20))
    )
    assert isinstance(result, tuple)
    struck, took = result
    assert struck and took < 10  # stopped long before the 20 s of work


def test_no_strike_after_the_block_in_a_thread() -> None:
    """Work that ends in time is not interrupted later: the timer is cancelled with the block."""

    def work() -> str:
        for _ in range(50):
            with alarm(0.05):
                sum(range(100))
        spin(0.3)  # well past every deadline above
        return "finished"

    assert in_thread(work) == "finished"


def test_outer_bound_keeps_its_own_in_a_thread() -> None:
    """An inner, longer alarm does not replace the outer one; the outer still strikes."""

    def work() -> tuple[bool, float]:
        started = time.monotonic()
        try:
            with alarm(0.2), alarm(60):
                spin(20)
        except TimeUp:
            return True, time.monotonic() - started
        return False, time.monotonic() - started

    result = in_thread(work)
    assert isinstance(result, tuple) and result[0] and result[1] < 10
