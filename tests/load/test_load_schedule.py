"""Executors and the open model's arrival schedule (deterministic: no clock involved)."""

from __future__ import annotations

import numpy as np
import pytest

import perfgate as pg
from perfgate.load import make_executor
from perfgate.load._executors import Closed, Open, parse_rate, parse_stages
from perfgate.load._schedule import arrivals


def _all(ex: Open) -> np.ndarray:
    chunks = list(arrivals(ex))
    return np.concatenate(chunks) if chunks else np.array([], dtype=np.int64)


def test_constant_rate_is_evenly_spaced() -> None:
    t = _all(pg.open(rate="1000/s", duration="2s"))
    assert t.size == 2000
    assert (np.diff(t) == 1_000_000).all()
    assert t[0] == 0 and (np.diff(t) >= 0).all()


def test_split_schedules_merge_into_the_single_one() -> None:
    ex = pg.open(rate=300, duration=1.5, max_vus=10)
    whole = _all(ex)
    parts = np.sort(np.concatenate([_all(ex.split(3, i)) for i in range(3)]))
    assert parts.size == whole.size
    assert np.abs(parts - whole).max() <= 1  # rounding to the nanosecond
    assert sum(ex.split(3, i).max_vus for i in range(3)) == 10


def test_ramp_follows_the_integral_of_the_rate() -> None:
    ex = pg.open(stages=[("1s", "100/s"), ("1s", "100/s"), ("1s", 0)])
    t = _all(ex) / 1e9
    assert t.size == pytest.approx(50 + 100 + 50, abs=1)
    assert ((t >= 0) & (t <= 3)).all()
    # arrivals get denser during the ramp up: fewer in the first half-second
    assert (t < 0.5).sum() < (t[(t >= 0.5) & (t < 1.0)]).size


def test_rates_and_stages_parse() -> None:
    assert parse_rate("200/s") == 200
    assert parse_rate("1200/min") == 20
    assert parse_rate(5) == 5
    assert parse_stages("10s:50,5s:0", rate=False) == ((10.0, 50.0), (5.0, 0.0))
    assert parse_stages("1s:100/s", rate=True) == ((1.0, 100.0),)
    for bad in ("fast", "-3/s", "10/parsec"):
        with pytest.raises(pg.UsageError):
            parse_rate(bad)
    with pytest.raises(pg.UsageError, match="DURATION:TARGET"):
        parse_stages("10s", rate=False)


def test_closed_vus_ramp_and_split() -> None:
    ex = pg.closed(stages=[("1s", 10), ("1s", 10), ("1s", 0)])
    assert ex.vus_at(0) == 0 and ex.vus_at(0.5) == 5 and ex.vus_at(1.5) == 10
    assert ex.vus_at(2.5) == 5 and ex.vus_at(9) == 0
    assert ex.total_duration == 3
    c = pg.closed(vus=5, iterations=11)
    parts = [c.split(2, i) for i in range(2)]
    assert [p.vus for p in parts] == [3, 2] and sum(p.iterations or 0 for p in parts) == 11


def test_executor_from_keywords() -> None:
    assert isinstance(make_executor(rate="10/s", duration=1), Open)
    assert isinstance(make_executor(vus=3, duration=1), Closed)
    assert isinstance(make_executor(stages="1s:10/s"), Open)
    assert isinstance(make_executor(stages="1s:10"), Closed)
    with pytest.raises(pg.UsageError, match="not both"):
        make_executor(vus=1, rate=5, duration=1)
    with pytest.raises(pg.UsageError, match="max_vus"):
        make_executor(vus=1, duration=1, max_vus=3)
    with pytest.raises(pg.UsageError, match="duration"):
        pg.closed(vus=2)
    with pytest.raises(pg.UsageError, match="rate"):
        pg.open(duration=1)
