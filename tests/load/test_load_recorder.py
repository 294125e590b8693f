"""Recording, merging snapshots, outcomes and the soak slope — with synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest

import perfgate as pg
from perfgate.load._histogram import LogHistogram
from perfgate.load._outcomes import EXAMPLES_PER_CLASS, Tally, classify_exception, status_class
from perfgate.load._recorder import Aggregator, Recorder, Snapshot, synthetic
from perfgate.load._soak import RssSampler, growth


def _snap(worker: int, tick: int, lat: list[int], errors: int = 0, final: bool = False,
          t_end: float | None = None) -> Snapshot:
    tally = Tally()
    if errors:
        tally.add("http_5xx", "HTTP 500", 0.0, errors)
    return Snapshot(worker=worker, tick=tick, t_end=t_end if t_end is not None else tick + 1.0,
                    lat=LogHistogram.of(lat), svc=None, tally=tally, inflight=2, final=final)


def test_aggregator_merges_workers_per_tick() -> None:
    agg = Aggregator(workers=2, tick=1.0)
    agg.add(_snap(0, 0, [1_000_000] * 10))
    assert agg.points == []  # waits for worker 1's tick 0
    agg.add(_snap(1, 0, [3_000_000] * 10, errors=2))
    assert len(agg.points) == 1
    p = agg.points[0]
    assert (p.requests, p.errors, p.inflight) == (20, 2, 4)
    assert p.rps == 20
    agg.add(_snap(0, 1, [1_000_000] * 5, final=True, t_end=1.5))
    agg.add(_snap(1, 1, [1_000_000] * 5, final=True, t_end=1.5))
    agg.finish()
    assert [pt.t for pt in agg.points] == [0.0, 1.0]
    assert agg.points[1].rps == pytest.approx(20)  # 10 requests over the half-second left
    assert agg.requests == 30 and agg.tally.total == 2 and agg.done == {0, 1}


def test_a_dead_worker_does_not_hold_back_the_series() -> None:
    agg = Aggregator(workers=2, tick=1.0)
    agg.add(_snap(0, 0, [1]))
    agg.done.add(1)  # worker 1 failed
    agg.add(_snap(0, 1, [1]))
    agg.finish()
    assert len(agg.points) == 2


def test_recorder_drains_every_stream() -> None:
    rec = Recorder(t0_ns=0, open_model=True)
    s = rec.stream()
    rec.main.lat.extend([10, 20])
    rec.main.svc.extend([5, 6])
    s.lat.append(30)
    s.svc.append(7)
    s.events.append(("ValueError", ValueError("bad"), 2_000_000_000))
    rec.main.events.append(("http_5xx", 503, 1))
    s.dropped.append(1)
    s.fail.append(40)
    d = rec.drain()
    assert d.lat.n == 3 and d.svc is not None and d.svc.n == 3 and d.dropped == 1
    assert d.failed.n == 1 and d.failed.vmax == 40  # a failure is not a request's latency
    assert d.tally.errors == {"ValueError": 1, "http_5xx": 1}
    assert d.tally.examples["ValueError"][0] == {"message": "ValueError: bad", "t": 2.0}
    assert d.tally.statuses == {503: 1}
    assert rec.drain().lat.n == 0 and rec.completed == 4


def test_outcome_classes() -> None:
    assert status_class(200) == "ok" and status_class(302) == "ok"
    assert status_class(404) == "http_4xx" and status_class(503) == "http_5xx"
    assert classify_exception(TimeoutError()) == "timeout"
    assert classify_exception(ConnectionRefusedError()) == "ConnectionRefusedError"
    with pytest.raises(pg.ExpectationFailed, match="status") as info:
        pg.expect(False, "status was 500")
    assert classify_exception(info.value) == "expect"
    pg.expect(True)


def test_tally_keeps_a_few_examples() -> None:
    t = Tally()
    for i in range(10):
        t.add("E", f"message {i}", float(i))
    other = Tally()
    other.add("E", "late", 99.0)
    t.merge(other)
    assert t.errors["E"] == 11 and len(t.examples["E"]) == EXAMPLES_PER_CLASS


def test_growth_slope_and_ci() -> None:
    rng = np.random.default_rng(7)
    t = list(np.arange(0, 60, 0.5))
    rss = [100e6 + 2000 * x + rng.normal(0, 5e3) for x in t]
    g = growth(t, rss, warmup=10)
    assert g is not None and g.ci_low is not None and g.ci_high is not None
    assert g.ci_low < 2000 < g.ci_high and g.slope == pytest.approx(2000, rel=0.1)
    assert g.n == sum(1 for x in t if x >= 10)
    assert growth([0, 1], [1, 2], warmup=0) is None


def test_sampler_thins_to_a_fixed_size() -> None:
    s = RssSampler(pids=[], interval=0.0)
    for i in range(5000):
        s.maybe_sample(float(i))
    assert len(s.t) < 2048 and s.interval > 0


def test_closed_model_correction_adds_what_a_stalled_vu_missed() -> None:
    v = np.array([10, 10, 100, 10], dtype=np.int64)
    extra = synthetic(v, interval=10, threshold=5)
    assert sorted(extra.tolist()) == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert synthetic(np.array([30], dtype=np.int64), 10, threshold=5).size == 0  # jitter
    rec = Recorder(0, open_model=False, co_correct=True)
    rec.main.lat.extend([10] * 199 + [100])
    d = rec.drain()
    assert d.svc is not None and d.svc.n == 200 and d.lat.n == 209 and rec.synthetic == 9


def test_the_correction_is_bounded_and_cannot_move_the_median() -> None:
    # bimodal: 90 % at 1 ms, 10 % at 200 ms — uncapped, the correction would add ~20 000
    # samples per 1 000 real ones and put the "p50" in the hundreds of ms
    rec = Recorder(0, open_model=False, co_correct=True)
    real = [1_000_000] * 900 + [200_000_000] * 100
    rec.main.lat.extend(real)
    d = rec.drain()
    assert d.svc is not None and d.svc.n == 1000
    assert rec.synthetic == 50  # 5 % of the real samples
    assert d.lat.quantile(0.5) == pytest.approx(1e6, rel=0.01)
    assert synthetic(np.asarray(real, dtype=np.int64), 1_000_000).size > 10_000


def test_a_saturated_generator_is_labelled() -> None:
    from perfgate.load._result import GENERATOR_WARNING, build_result
    from perfgate.load._run import RunOutcome

    agg = Aggregator(workers=1, tick=1.0)
    snap = _snap(0, 0, [1_000_000] * 100, final=True, t_end=2.0)
    snap.cpu = 1.9  # CPU seconds in 2 s: 95 % of a core
    agg.add(snap)
    agg.finish()
    run = RunOutcome(agg, RssSampler(pids=[]))
    r = build_result("x", run, {}, cpu_bound_is_target=False)
    assert any(w.startswith(GENERATOR_WARNING) and "95%" in w for w in r.warnings)
    calm = build_result("x", run, {}, cpu_bound_is_target=True)  # in-process callables
    assert not any(w.startswith(GENERATOR_WARNING) for w in calm.warnings)
    assert r.metrics["requests"].value == 100 and r.extra["generator"]["cpu"] == {"0": 0.95}


def test_percentile_cis_cover_tick_to_tick_variation() -> None:
    from perfgate.load._result import distribution

    agg = Aggregator(workers=1, tick=1.0)
    for k in range(8):  # the service slows down second after second
        base = 1_000_000 + k * 50_000
        lat = np.linspace(base, base + 1_000_000, 500).astype(np.int64).tolist()
        agg.add(_snap(0, k, lat, final=k == 7))
    agg.finish()
    iid = distribution(agg.lat)
    batch = distribution(agg.lat, agg.points)
    lo_i, hi_i = iid.extra["ci"]["p50"]
    lo_b, hi_b = batch.extra["ci"]["p50"]
    assert lo_b <= lo_i and hi_b >= hi_i and (hi_b - lo_b) > (hi_i - lo_i)
    assert batch.ci_low == lo_b and batch.ci_high == hi_b
    assert batch.median is not None and lo_b <= batch.median <= hi_b
