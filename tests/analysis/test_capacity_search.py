"""The capacity search on a simulated service: offered rate → latency and errors, with
seeded noise and CIs, and a fake clock — the algorithm is checked exactly, without timing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.conftest import FakeClock

from perfgate._errors import UsageError
from perfgate.analysis.capacity import (
    Probe,
    RampTick,
    SearchSettings,
    probe_status,
    ramp_guess,
    search,
)
from perfgate.analysis.capacity_result import CapacityEvidence, Ramp, build_result, curve
from perfgate.analysis.checks import parse_check, verdict_for
from perfgate.load._capacity import ramp_limits
from perfgate.model import Environment, Result, ResultSet, Verdict

ERRORS = parse_check("error_rate < 1%")
P95 = parse_check("p(95) < 50ms")


class Service:
    """A service of capacity R/s. ``mode="reject"``: the excess is refused, error rate
    1 − R/λ; ``mode="queue"``: p95 climbs as the queue grows over the probe. Each probe
    moves the fake clock by its warm-up, duration and cool-down."""

    def __init__(self, capacity: float, clock: FakeClock, *, mode: str = "reject",
                 seed: int = 0, noise: float = 0.05, generator_limit: float = math.inf,
                 warmup: float = 1.0, cooldown: float = 1.0) -> None:
        self.capacity = capacity
        self.clock = clock
        self.mode = mode
        self.rng = np.random.default_rng(seed)
        self.noise = noise
        self.generator_limit = generator_limit
        self.extra = warmup + cooldown
        self.calls: list[tuple[float, float]] = []

    def __call__(self, rate: float, duration: float) -> Probe:
        self.calls.append((rate, duration))
        self.clock.advance(duration + self.extra)
        n = int(rate * duration)
        over = max(0.0, rate / self.capacity - 1)
        wobble = 1 + self.noise * float(self.rng.standard_normal())
        verdicts: list[Verdict] = []
        refused = 1 - 1 / (1 + over) if self.mode == "reject" else 0.0
        err = min(1.0, max(0.0, refused * wobble))
        half = 1.96 * math.sqrt(max(err * (1 - err), 1 / n) / n)
        verdicts.append(verdict_for(ERRORS, err, (max(0.0, err - half), err + half), "1",
                              "error_rate"))
        p95 = 0.005 * wobble
        if self.mode == "queue":
            p95 += 0.95 * over * duration * wobble  # the queue's wait at the 95th request
            verdicts.append(verdict_for(P95, p95, (0.9 * p95, 1.1 * p95), "s", "p95"))
        saturated = None
        if rate > self.generator_limit:
            saturated = "bounded by the generator: its CPU was 100% of a core"
        achieved = min(rate, self.generator_limit)
        if self.mode == "queue":  # the queue serves R/s; the rest waits past the run
            achieved = min(achieved, self.capacity * (1 + 0.002 * wobble))
        return Probe(rate=rate, duration=duration, status=probe_status(verdicts),
                     verdicts=tuple(verdicts), achieved=achieved,
                     error_rate=err, p95=p95, requests=n, saturated=saturated)


def settings(**kw: float) -> SearchSettings:
    base: dict[str, float] = {"max_rate": 20000.0, "min_rate": 20.0}
    base.update(kw)
    return SearchSettings(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["reject", "queue"])
@pytest.mark.parametrize("true", [500.0, 1500.0, 3000.0])
@pytest.mark.parametrize("guess", [0.9, 1.0, 1.2])  # the ramp's guess / the truth
@pytest.mark.parametrize("seed", [1, 2])
def test_finds_a_sharp_knee_within_5_percent_in_8_probes(
        mode: str, true: float, guess: float, seed: int, clock: FakeClock) -> None:
    svc = Service(true, clock, mode=mode, seed=seed)
    found = search(svc, settings(start=true * guess, first_step=1.12), clock)
    assert found.stop == "converged"
    assert found.capacity is not None and found.high is not None
    assert abs(found.capacity / true - 1) <= 0.05
    knee = true / 0.99  # where the error rate reaches 1 %
    assert found.capacity <= knee  # never above the truth …
    undecided = {p.rate for p in found.probes if p.status == "inconclusive"}
    # … and the truth is bracketed, unless the upper bound is a rate the checks could not
    # decide (counted as not passing), which is then close below the truth
    assert knee <= found.high * 1.0001 or (found.high in undecided and found.high > 0.98 * knee)
    assert found.high / found.capacity <= 1.04 + 1e-9
    assert found.confirmed
    retries = sum(p.phase == "retry" for p in found.probes)
    assert len(found.probes) - retries <= 8  # a longer retry of an undecided probe is extra
    assert retries <= 2


@pytest.mark.parametrize("mode", ["reject", "queue"])
def test_a_late_guess_jumps_to_the_service_throughput(mode: str, clock: FakeClock) -> None:
    svc = Service(1500.0, clock, mode=mode, seed=4)
    found = search(svc, settings(start=1800.0, first_step=1.12), clock)
    assert found.probes[0].status == "fail"
    # the failed probe's goodput (answers without error per second) is the service's
    # throughput: the next probe goes just below it rather than one step down
    assert found.probes[1].rate == pytest.approx(0.99 * found.probes[0].goodput)
    assert 0.95 * 1500 < found.probes[1].rate < 1500
    assert found.stop == "converged" and len(found.probes) <= 5
    assert found.capacity is not None and abs(found.capacity / 1500 - 1) <= 0.05


def test_a_latency_failure_without_a_throughput_shortfall_bisects(clock: FakeClock) -> None:
    def probe(rate: float, duration: float) -> Probe:
        clock.advance(duration)
        return Probe(rate, duration, "pass" if rate < 1000 else "fail", achieved=rate)

    found = search(probe, settings(start=1800.0, first_step=1.12), clock)
    assert found.probes[1].rate == pytest.approx(1800.0 / 1.12)
    assert found.capacity is not None and 0.96 * 1000 <= found.capacity < 1000


def test_a_misleading_throughput_costs_probes_not_accuracy(clock: FakeClock) -> None:
    def probe(rate: float, duration: float) -> Probe:  # answers 20 % fewer than offered
        clock.advance(duration)
        return Probe(rate, duration, "pass" if rate < 1000 else "fail",
                     achieved=0.8 * rate)

    found = search(probe, settings(start=1100.0, first_step=1.12), clock)
    assert found.probes[1].rate == pytest.approx(0.99 * 0.8 * 1100)  # misled once …
    assert found.stop == "converged" and len(found.probes) <= 8  # … then bisection
    assert found.capacity is not None and 960 <= found.capacity < 1000


def test_generator_trouble_at_a_rate_it_already_sent_is_retried(clock: FakeClock) -> None:
    hiccup = {"left": 1}

    def probe(rate: float, duration: float) -> Probe:
        clock.advance(duration)
        saturated = None
        if 900 < rate < 1000 and hiccup["left"]:
            hiccup["left"] -= 1  # a noisy neighbour, once
            saturated = "bounded by the generator: event-loop lag mean 30 ms"
        return Probe(rate, duration, "pass" if rate < 1000 else "fail", achieved=rate,
                     saturated=saturated)

    found = search(probe, settings(start=1100.0, first_step=1.12), clock)
    hit = [i for i, p in enumerate(found.probes) if p.saturated]
    assert len(hit) == 1
    again = found.probes[hit[0] + 1]
    assert again.phase == "retry" and again.rate == found.probes[hit[0]].rate
    assert found.stop == "converged" and found.capacity is not None
    assert 960 <= found.capacity < 1000


def test_without_a_guess_gallops_from_the_middle(clock: FakeClock) -> None:
    svc = Service(2500.0, clock)
    found = search(svc, settings(first_step=2.0), clock)
    assert found.stop == "converged"
    assert found.capacity is not None and abs(found.capacity / 2500 - 1) <= 0.05
    phases = [p.phase for p in found.probes]
    assert phases[0] == "bracket" and "refine" in phases and phases[-1] == "confirm"


def test_every_probe_is_recorded_with_its_phase_time_and_checks(clock: FakeClock) -> None:
    svc = Service(1000.0, clock)
    found = search(svc, settings(start=900.0), clock)
    assert [(p.rate, p.duration) for p in found.probes] == svc.calls
    starts = [p.started for p in found.probes]
    assert starts == sorted(starts) and starts[0] == 0.0
    assert all(p.wall == p.duration + 2.0 for p in found.probes)
    assert all(p.verdicts and p.verdicts[0].check == "error_rate < 1%" for p in found.probes)
    assert found.elapsed == clock.now


def test_an_inconclusive_probe_is_retried_longer_and_never_counted_as_a_pass(
        clock: FakeClock) -> None:
    # errors of exactly 1 % ± noise at the probed rate: the CI straddles the limit
    true = 1000.0
    svc = Service(true, clock, noise=0.0)
    knee = true / 0.99
    found = search(svc, settings(start=knee, first_step=1.1), clock)
    first = found.probes[0]
    assert first.status == "inconclusive"
    retry = found.probes[1]
    assert retry.phase == "retry" and retry.rate == first.rate
    assert retry.duration == 2 * first.duration
    passed = {p.rate for p in found.probes if p.status == "pass"}
    for p in found.probes:
        if p.status == "inconclusive" and p.rate not in passed:
            assert found.capacity is not None and found.capacity < p.rate
    assert any("inconclusive" in w for w in found.warnings)


def test_a_rate_that_stays_inconclusive_bounds_the_capacity(clock: FakeClock) -> None:
    verdict = Verdict("p(95) < 50ms", "inconclusive", 0.05, 0.05, "straddles", "s")

    def probe(rate: float, duration: float) -> Probe:
        clock.advance(duration)
        status = "pass" if rate < 1000 else "inconclusive"
        return Probe(rate, duration, status, (verdict,) if status != "pass" else ())

    found = search(probe, settings(start=1000.0, retries=2, warmup=0, cooldown=0), clock)
    at_1000 = [p for p in found.probes if p.rate == 1000.0]
    assert [p.duration for p in at_1000] == [5.0, 10.0, 20.0]  # retried twice, longer
    assert found.high == 1000.0 and found.capacity is not None and found.capacity < 1000


def test_a_failed_confirmation_lowers_the_bound(clock: FakeClock) -> None:
    seen: dict[float, int] = {}

    def probe(rate: float, duration: float) -> Probe:
        clock.advance(duration)
        seen[rate] = seen.get(rate, 0) + 1
        # truly fails from 950/s, but a lucky first probe at a failing rate passes
        ok = rate < 950 or (seen[rate] == 1 and 950 <= rate < 1000)
        return Probe(rate, duration, "pass" if ok else "fail")

    found = search(probe, settings(start=800.0, first_step=1.26, warmup=0, cooldown=0),
                   clock)
    assert found.stop == "converged" and found.confirmed
    assert found.capacity is not None and found.capacity < 950
    lucky = [p.rate for p in found.probes if p.phase == "confirm" and p.status == "fail"]
    assert lucky and all(r >= 950 for r in lucky)


def test_generator_saturation_stops_without_a_number(clock: FakeClock) -> None:
    svc = Service(50000.0, clock, generator_limit=8000.0)
    found = search(svc, settings(start=5000.0, max_rate=100000.0), clock)
    assert found.stop == "generator"
    assert found.capacity is None
    assert found.generator_limit is not None and found.generator_limit > 8000
    assert "bounded by the generator at" in found.message
    assert "at least" in found.message  # what it does know: the rates that passed
    assert found.probes[-1].saturated


def test_saturation_result_has_no_capacity_metric_and_an_error(clock: FakeClock) -> None:
    svc = Service(50000.0, clock, generator_limit=8000.0)
    found = search(svc, settings(start=10000.0, max_rate=100000.0), clock)
    r = build_result("svc", found, {"target": "x"})
    assert "capacity" not in r.metrics
    assert r.error is not None and "bounded by the generator at 10 k/s" in r.error
    assert r.status == "error"


def test_max_rate_passing_gives_a_lower_bound(clock: FakeClock) -> None:
    svc = Service(1e9, clock)
    found = search(svc, settings(start=5000.0, max_rate=8000.0), clock)
    assert found.stop == "max_rate"
    assert found.capacity == 8000.0 and found.high is None and found.confirmed
    r = build_result("svc", found, {})
    m = r.metric("capacity")
    assert m.ci_low == 8000.0 and m.ci_high is None
    assert any("at least" in w for w in r.warnings)


def test_min_rate_failing_gives_zero(clock: FakeClock) -> None:
    svc = Service(1.0, clock)
    found = search(svc, settings(start=100.0), clock)
    assert found.stop == "min_rate"
    assert found.capacity == 0.0 and found.high == 20.0
    assert "minimum rate" in found.message


def test_budget_stops_before_a_probe_that_would_not_fit(clock: FakeClock) -> None:
    svc = Service(1000.0, clock)
    found = search(svc, settings(start=600.0, budget=20.0), clock)
    assert found.stop == "budget"
    assert clock.now <= 20.0 and len(found.probes) == 2  # 7 s each with warm-up/cool-down
    assert any("did not finish" in w for w in found.warnings)


def test_max_probes(clock: FakeClock) -> None:
    found = search(Service(1000.0, clock), settings(start=100.0, max_probes=3), clock)
    assert found.stop == "max_probes" and len(found.probes) == 3
    assert found.capacity is not None and found.high is None  # a lower bound only


def test_a_probe_error_stops_the_search(clock: FakeClock) -> None:
    def probe(rate: float, duration: float) -> Probe:
        return Probe(rate, duration, "fail", error="connection refused")

    found = search(probe, settings(), clock)
    assert found.stop == "error" and "connection refused" in found.message
    assert found.capacity is None


def test_interrupted_probe_stops_with_what_is_known(clock: FakeClock) -> None:
    calls = []

    def probe(rate: float, duration: float) -> Probe:
        calls.append(rate)
        if len(calls) == 3:  # cut short at a low rate: evidence, but it bounds nothing
            return Probe(100.0, duration, "inconclusive", interrupted=True, partial=True)
        return Probe(rate, duration, "pass" if rate < 1000 else "fail")

    found = search(probe, settings(start=900.0), clock)
    assert found.stop == "interrupted" and len(found.probes) == 3
    assert found.probes[-1].partial
    assert found.capacity == 900.0 and found.high is not None and found.high > 1000
    assert not any("inconclusive" in w for w in found.warnings)


def test_ctrl_c_between_runs_keeps_the_probes(clock: FakeClock) -> None:
    def probe(rate: float, duration: float) -> Probe:
        if rate > 1000:
            raise KeyboardInterrupt
        return Probe(rate, duration, "pass")

    found = search(probe, settings(start=900.0), clock)
    assert found.stop == "interrupted" and [p.rate for p in found.probes] == [900.0]
    assert found.capacity == 900.0 and found.high is None


def test_ctrl_c_between_probes_keeps_the_probes(clock: FakeClock) -> None:
    """The signal lands after a probe returned (its line just printed), before the next
    one: the finished probe is kept and the answer covers it (a CI run beside busy loops
    lost every probe of a `perfgate capacity` this way: exit 130, no JSON)."""
    armed: list[bool] = []

    class Tripwire(FakeClock):
        def __call__(self) -> float:
            if armed:
                armed.pop()  # one Ctrl-C, once
                raise KeyboardInterrupt
            return self.now

    def probe(rate: float, duration: float) -> Probe:
        armed.append(True)  # the search's next look at the clock meets a Ctrl-C
        return Probe(rate, duration, "pass")

    found = search(probe, settings(start=900.0), Tripwire())
    assert found.stop == "interrupted" and [p.rate for p in found.probes] == [900.0]
    assert found.capacity == 900.0


@pytest.mark.parametrize("kw", [
    {"min_rate": 0.0}, {"min_rate": 30000.0}, {"duration": 0.0}, {"precision": 1.5},
    {"confirm": 0}, {"first_step": 1.0}, {"budget": -1.0},
])
def test_bad_settings_are_usage_errors(kw: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        settings(**kw)


def test_probe_status() -> None:
    ok = Verdict("a", "pass", 1, 2, "")
    warn = Verdict("a", "warn", 1, 2, "")
    inc = Verdict("a", "inconclusive", 1, 2, "")
    bad = Verdict("a", "fail", 3, 2, "")
    assert probe_status([ok, warn]) == "pass"
    assert probe_status([ok, inc]) == "inconclusive"
    assert probe_status([inc, bad]) == "fail"
    assert probe_status([ok], dropped=3) == "fail"


def test_ramp_guess_needs_two_bad_ticks_in_a_row() -> None:
    ticks = [RampTick(100, 50, 0, 0.002), RampTick(120, 60, 5, 0.002),  # one bad tick
             RampTick(140, 70, 0, 0.002), RampTick(160, 80, 0, 0.09),
             RampTick(180, 90, 0, 0.2)]
    assert ramp_guess(ticks, 0.01, 0.05) == 160
    assert ramp_guess(ticks, 0.01, None) is None
    assert ramp_guess(ticks, None, None) is None
    few = [RampTick(10, 5, 5, 1.0), RampTick(12, 6, 6, 1.0)]  # too few requests to judge
    assert ramp_guess(few, 0.01, 0.05) is None


def test_ramp_limits_read_upper_limits_on_errors_and_latency() -> None:
    cs = [parse_check(t) for t in ("p(95) < 300ms", "error_rate < 1%", "median < 100ms",
                                   "rps > 10", "p(99) < 1s", "count(ok) > 5")]
    assert ramp_limits(cs) == (0.01, 0.1)
    assert ramp_limits([parse_check("rps > 10")]) == (None, None)


def test_result_round_trips_through_json(clock: FakeClock) -> None:
    found = search(Service(1000.0, clock, mode="queue"), settings(start=900.0), clock)
    ramp = Ramp(20.0, 1200.0, 6.5, 1100.0, (RampTick(20.0, 5, 0, math.nan),
                                            RampTick(1100.0, 275, 0, 0.09)))
    r = build_result("svc", found, {"target": "http://127.0.0.1/"}, ramp)
    rs = ResultSet.from_json(ResultSet(environment=Environment(), results=(r,)).to_json())
    back = rs.results[0]
    assert isinstance(back, Result) and back.kind == "capacity"
    ev = CapacityEvidence.of(back)
    assert ev is not None and ev == CapacityEvidence.of(r)
    assert ev.probes == found.probes and ev.ramp is not None and ev.ramp.guess == 1100.0
    assert back.metric("capacity").value == found.capacity
    rates = [p.rate for p in curve(ev.probes)]
    assert rates == sorted(set(rates))
