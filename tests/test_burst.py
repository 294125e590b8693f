from __future__ import annotations

import asyncio
import threading

import pytest

import perfgate as pg


class Conflict(Exception):
    pass


def test_exactly_one_wins() -> None:
    lock = threading.Lock()
    state = {"owner": None}

    def swap() -> None:
        with lock:
            if state["owner"] is not None:
                raise Conflict("already swapped")
            state["owner"] = threading.get_ident()

    outcome = pg.burst(swap, n=10)
    assert outcome.counts == {"ok": 1, "Conflict": 9}
    verdicts = outcome.check("count(ok) == 1", "count(Conflict) == 9")
    assert [v.status for v in verdicts] == ["pass", "pass"]
    assert outcome.examples["Conflict"] == "Conflict: already swapped"
    assert outcome.result.metrics["count.ok"].value == 1
    assert outcome.result.kind == "burst"


def test_all_calls_start_together() -> None:
    n = 8
    arrived = threading.Barrier(n, timeout=10)

    def op() -> None:
        arrived.wait()  # only returns if all n calls are in flight at once

    assert pg.burst(op, n=n).counts == {"ok": n}


def test_failed_check_raises_with_verdicts() -> None:
    outcome = pg.burst(lambda: None, n=3)
    with pytest.raises(AssertionError, match=r"count\(ok\) == 1") as info:
        outcome.check("count(ok) == 1")
    verdicts = info.value.verdicts  # type: ignore[attr-defined]
    assert verdicts[0].status == "fail" and verdicts[0].value == 3


def test_returned_labels_and_args() -> None:
    outcome = pg.burst(lambda i: pg.Label("even") if i % 2 == 0 else None, n=6, args=range(6))
    assert outcome.counts == {"even": 3, "ok": 3}


def test_async_burst() -> None:
    active = 0
    peak = 0

    async def op() -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0)
        active -= 1
        raise KeyError("x")

    outcome = pg.burst(op, n=5)
    assert outcome.counts == {"KeyError": 5}
    assert peak == 5


def test_malformed_check_rejected_before_running() -> None:
    ran = []
    with pytest.raises(pg.CheckSyntaxError):
        pg.burst(lambda: ran.append(1), n=2, checks=["count(ok) = 1"])
    assert not ran


def test_bad_sizes() -> None:
    with pytest.raises(pg.UsageError):
        pg.burst(lambda: None, n=0)
    with pytest.raises(pg.UsageError):
        pg.burst(lambda x: None, n=2, args=[1])
