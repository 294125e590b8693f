"""Issue 10.3: comparing load results uses per-tick replication (batch means), says
``inconclusive`` when nothing supports a decision, and never fails on point values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from perfgate.analysis.compare import DEFAULT_THRESHOLDS, compare_resultsets, finish
from perfgate.analysis.compare_load import batch_means, compare_load
from perfgate.cli import main
from perfgate.model import Environment, Metric, Result, ResultSet, write_json


def _load(ticks: int, scale: float, seed: int, rho: float = 0.5) -> Result:
    """A load result whose per-tick p50/p99/rps wander as an AR(1) process (autocorrelated
    like a real run's seconds), 2 % noise per tick."""
    rng = np.random.default_rng(seed)
    e = np.zeros(ticks)
    for i in range(1, ticks):
        e[i] = rho * e[i - 1] + rng.normal(0, 0.02)
    t = np.arange(ticks, dtype=float)
    p50 = 0.001 * scale * np.exp(e)
    p99 = 0.004 * scale * np.exp(e + rng.normal(0, 0.03, ticks))
    rps = 5000 / scale * np.exp(-e)
    ser = {k: Metric(unit=u, kind="series", points=tuple(zip(t.tolist(), v.tolist(),
                                                             strict=True)))
           for k, u, v in (("series.p50", "s", p50), ("series.p99", "s", p99),
                           ("series.rps", "1/s", rps))}
    return Result(name="GET /", kind="load", params={"model": "closed"}, metrics={
        **ser, "latency": Metric(unit="s", kind="distribution", n=1000, median=float(p50.mean()),
                                 p50=float(p50.mean()), p99=float(p99.mean())),
        "rps": Metric.gauge(float(rps.mean()), unit="1/s")})


def _rs(results: tuple[Result, ...]) -> ResultSet:
    return ResultSet(environment=Environment(git_commit="c"), results=results)


def _decide(base: Result, cur: Result) -> list[tuple[str, str, str]]:
    cs = finish(compare_load(base, cur, DEFAULT_THRESHOLDS), 0.05, 0.01)
    return [(c.metric, c.status, c.level) for c in cs]


def test_batch_means_grow_until_autocorrelation_is_small() -> None:
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(size=64)) * 0.1 + 5  # strongly autocorrelated
    means, b = batch_means(x)
    assert b > 1 and means.size == 64 // b
    iid, b1 = batch_means(rng.normal(size=64))
    assert b1 == 1 and iid.size == 64


@pytest.mark.slow
def test_a_a_comparisons_rarely_fail_and_a_20_percent_slower_server_is_caught() -> None:
    aa_fail = caught = 0
    trials = 100
    for i in range(trials):
        base = _load(30, 1.0, 2 * i)
        same = _load(30, 1.0, 2 * i + 1)
        slow = _load(30, 1.2, 2 * i + 1)
        aa_fail += any(lvl == "fail" for _, _, lvl in _decide(base, same))
        got = {m: (s, lvl) for m, s, lvl in _decide(base, slow)}
        caught += got["latency p50"] == ("regression", "fail")
    assert aa_fail <= 1
    assert caught >= 95


def test_too_few_ticks_is_inconclusive_not_a_point_value_verdict() -> None:
    base, cur = _load(3, 1.0, 1), _load(3, 1.5, 2)  # 50 % slower, but only 3 ticks each
    for c in finish(compare_load(base, cur, DEFAULT_THRESHOLDS), 0.05, 0.01):
        assert c.status == "inconclusive" and c.level == "ok" and c.ratio is None
        assert "fewer than 5 ticks" in c.evidence


def test_compare_resultsets_dispatches_load_results() -> None:
    rep = compare_resultsets(_rs(results=(_load(20, 1.0, 1),)),
                             _rs(results=(_load(20, 1.3, 2),)))
    by = {c.metric: c for c in rep.comparisons}
    assert set(by) == {"latency p50", "latency p99", "rps"}
    assert by["latency p50"].status == "regression" and rep.failed
    assert by["rps"].higher_is_better and by["rps"].status == "regression"
    assert "batch" in by["latency p50"].evidence


def test_cli_compare_of_two_load_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_json(a, _rs(results=(_load(20, 1.0, 1),)))
    write_json(b, _rs(results=(_load(20, 1.0, 2),)))
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "--json", str(tmp_path / "c.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "c.json").read_text())
    assert {c["status"] for c in doc["comparisons"]} <= {"unchanged", "inconclusive"}


@pytest.mark.slow
def test_two_real_runs_against_one_server_do_not_fail(tmp_path: Path) -> None:
    from tests._load_servers import Server, always

    import perfgate as pg

    with Server(always()) as s:
        runs = [pg.load(s.url, vus=4, duration=3.0, processes=1, tick=0.25) for _ in range(2)]
    rep = compare_resultsets(_rs(results=(runs[0],)), _rs(results=(runs[1],)))
    assert len(rep.comparisons) == 3 and not rep.failed, [c.to_dict() for c in rep.comparisons]


def test_a_run_bounded_by_the_generator_is_not_judged() -> None:
    from dataclasses import replace

    from perfgate.analysis import compare_load as cl
    from perfgate.load import _result

    assert cl.GENERATOR_WARNING == _result.GENERATOR_WARNING
    slow = replace(_load(20, 1.5, 2), warnings=("bounded by the generator: its CPU was 99%",))
    for c in finish(compare_load(_load(20, 1.0, 1), slow, DEFAULT_THRESHOLDS), 0.05, 0.01):
        assert c.status == "inconclusive" and c.level == "ok"
        assert "not judged" in c.evidence and "current run was bounded" in c.evidence


def test_runs_measured_in_different_conditions_are_not_judged() -> None:
    from dataclasses import replace

    quiet = replace(_load(20, 1.0, 1), extra={"generator": {"loop_lag_mean": 0.0004}})
    busy = replace(_load(20, 1.5, 2), extra={"generator": {"loop_lag_mean": 0.008}})
    for c in finish(compare_load(quiet, busy, DEFAULT_THRESHOLDS), 0.05, 0.01):
        assert c.status == "inconclusive" and "loop lag changed" in c.evidence
    calm = replace(_load(20, 1.5, 2), extra={"generator": {"loop_lag_mean": 0.0005}})
    got = {c.metric: c.status for c in
           finish(compare_load(quiet, calm, DEFAULT_THRESHOLDS), 0.05, 0.01)}
    assert got["latency p50"] == "regression"  # alike conditions: judged
