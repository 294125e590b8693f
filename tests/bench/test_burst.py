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


def test_100_concurrent_operations_with_error_rate_below_1_percent() -> None:
    lock = threading.Lock()
    orders: dict[int, int] = {}

    def place(order_id: int) -> None:
        with lock:
            if order_id in orders:
                raise Conflict(f"order {order_id} exists")
            orders[order_id] = order_id

    out = pg.burst(place, n=100, setup=lambda i: 1000 + i,
                   checks=["error_rate < 1%", "success_rate >= 99%", "count(ok) == 100"])
    assert [v.status for v in out.result.verdicts] == ["pass", "pass", "pass"]
    assert sorted(orders) == list(range(1000, 1100))  # setup(i) gave each call its own id
    assert out.result.metrics["error_rate"].value == 0.0
    assert out.result.metrics["time.ok"].n == 100


def test_error_rate_counts_raised_calls_and_fails_its_check() -> None:
    def op(i: int) -> str:
        if i % 20 == 0:
            raise Conflict("taken")  # calls 0, 20, 40, 60, 80: 5 of 100
        return "queued" if i % 2 else "ok"

    out = pg.burst(op, n=100, args=range(100),
                   checks=["error_rate < 1%", "success_rate >= 95%"])
    m = out.result.metrics
    assert m["error_rate"].value == pytest.approx(0.05)
    assert m["success_rate"].value == pytest.approx(0.95)
    assert [v.status for v in out.result.verdicts] == ["fail", "pass"]
    # Latency per outcome label: each label's calls, and only those.
    assert m["time.Conflict"].n == 5 and m["time.queued"].n == 50 and m["time.ok"].n == 45
    assert m["time"].n == 100


def test_unknown_metric_in_a_burst_check_keeps_the_other_verdicts() -> None:
    out = pg.burst(lambda: None, n=4, checks=["error_rate < 1%", "nosuch_rate < 1%",
                                              "count(ok) == 4"])
    assert [v.status for v in out.result.verdicts] == ["pass", "pass"]
    assert out.result.error is not None and "nosuch_rate" in out.result.error
    assert out.counts == {"ok": 4}


def test_setup_and_args_are_exclusive_and_setup_errors_are_target_errors() -> None:
    with pytest.raises(pg.UsageError):
        pg.burst(lambda x: x, n=2, args=[1, 2], setup=lambda i: i)

    def bad(i: int) -> int:
        raise RuntimeError("no connection")

    with pytest.raises(pg.TargetError, match="setup raised RuntimeError: no connection"):
        pg.burst(lambda x: x, n=2, setup=bad)
