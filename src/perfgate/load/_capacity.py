"""The capacity engine: find the highest rate a target takes while every check passes.

``pg.capacity(...)`` (in :mod:`perfgate._api`) builds a :class:`~perfgate.spec.CapacitySpec`
and the runner calls :func:`capacity`; the spec's own checks (``require``: on the capacity
itself) are applied by the runner like any result's. Each probe is an ordinary open-model
load run (:func:`perfgate.load._api.run_load`) at a fixed rate — a warm-up
run at that rate (discarded), then the measured run whose checks are applied — followed by
a cool-down so that a queue built by one probe does not spill into the next. The ramp
before them is one open-model run whose rate doubles every ``ramp_doubling`` seconds; it is
stopped as soon as two ticks in a row break the checks (the progress callback interrupts
the run), so the service is overloaded only briefly. The search itself is
:func:`perfgate.analysis.capacity.search`; see docs/capacity.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from perfgate._errors import Interrupted, UnitError, UnknownMetricError, UsageError
from perfgate.analysis.capacity import (
    Probe,
    RampTick,
    Search,
    SearchSettings,
    probe_status,
    ramp_guess,
    search,
)
from perfgate.analysis.capacity_result import Ramp, build_result
from perfgate.analysis.checks import (
    Check,
    evaluate,
    judge,
    parse_checks,
    validate_units,
)
from perfgate.bench._calls import is_async
from perfgate.load._api import make_executor, run_load
from perfgate.load._executors import Open, parse_rate
from perfgate.load._result import GENERATOR_WARNING
from perfgate.load._run import LiveStats
from perfgate.load._targets import CallTarget, takes_argument
from perfgate.model import Result
from perfgate.units import format_value, parse_duration

__all__ = ["capacity", "probe_from_result", "ramp_limits", "sent_late"]

_RAMP_TICK = 0.25


def _secs(x: float | str, what: str) -> float:
    if isinstance(x, int | float):
        return float(x)
    try:
        return parse_duration(x)
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None


def ramp_limits(checks: Sequence[Check]) -> tuple[float | None, float | None]:
    """(error-rate limit, latency limit) of the checks a ramp tick can judge: upper limits
    on ``error_rate`` and on latency percentiles or statistics."""
    err: list[float] = []
    lat: list[float] = []
    for c in checks:
        if c.op not in ("<", "<="):
            continue
        if c.subject == "metric" and c.metric == "error_rate":
            err.append(c.limit)
        elif c.metric in (None, "latency") and c.stat != "n" and \
                c.subject in ("quantile", "stat", "metric"):
            lat.append(c.limit)
    return (min(err) if err else None), (min(lat) if lat else None)


@dataclass
class _RampWatch:
    """Progress callback of the ramp: turns ticks into :class:`RampTick` and stops the
    run (a KeyboardInterrupt the coordinator handles like Ctrl-C) once it has a guess."""

    rate_at: Callable[[float], float]
    error_limit: float | None
    latency_limit: float | None
    ticks: list[RampTick] = field(default_factory=list)
    guess: float | None = None
    _t: float = 0.0
    _n: int = 0
    _e: int = 0

    @property
    def elapsed(self) -> float:
        return self._t

    def __call__(self, s: LiveStats) -> None:
        if s.elapsed <= self._t or self.guess is not None:
            return
        start, self._t = self._t, s.elapsed
        n, e = s.requests - self._n, s.total_errors - self._e
        self._n, self._e = s.requests, s.total_errors
        self.ticks.append(RampTick(self.rate_at(start), n, e, s.p99))
        self.guess = ramp_guess(self.ticks, self.error_limit, self.latency_limit)
        if self.guess is not None:
            raise KeyboardInterrupt  # stop the ramp: the coordinator keeps what it has


def _ramp_executor(r0: float, r1: float, doubling: float, max_vus: int,
                   max_wait: float) -> tuple[Open, Callable[[float], float]]:
    total = doubling * math.log2(r1 / r0)
    n = max(1, math.ceil(total / _RAMP_TICK))
    piece = total / n
    stages = tuple((piece, r0 * (r1 / r0) ** ((i + 1) / n)) for i in range(n))

    def rate_at(t: float) -> float:
        return float(r0 * 2 ** (min(t, total) / doubling))

    return Open(rate=r0, max_vus=max_vus, max_wait=max_wait, stages=stages), rate_at


_LATE_SHARE = 0.1  # of the tightest latency limit: arrivals this late are the generator's


def sent_late(r: Result, checks: Sequence[Check]) -> bool:
    """Whether every failed check is a latency check that passes on ``service_time``
    while VUs were to spare: the requests were sent late, not served slowly."""
    failed = [c for c, v in zip(checks, r.verdicts, strict=False) if v.status == "fail"]
    if not failed or "service_time" not in r.metrics:
        return False
    gen = r.extra.get("generator")
    peak = gen.get("peak_vus") if isinstance(gen, Mapping) else None
    max_vus = r.params.get("max_vus")
    if not isinstance(peak, int) or not isinstance(max_vus, int) or peak >= max_vus:
        return False  # arrivals waited for a VU: the service held them (Little's law)
    for c in failed:
        if c.metric not in (None, "latency") or c.subject not in ("quantile", "stat"):
            return False
        try:
            if evaluate(replace(c, metric="service_time"), r).status not in ("pass", "warn"):
                return False
        except (UnknownMetricError, UnitError):
            return False
    return True


def _busy_machine(gen: Any) -> str:
    """A hint when the generator fell behind without using its core: other processes had
    the CPU (a busy machine), which more processes will not cure."""
    cpu = gen.get("cpu") if isinstance(gen, Mapping) else None
    shares = [v for v in cpu.values() if isinstance(v, int | float)] \
        if isinstance(cpu, Mapping) else []
    if not shares or max(shares) >= 0.75:
        return ""
    return (f" (its CPU was only {max(shares):.0%} of a core: other processes held the CPU, "
            "a busy machine)")


def probe_from_result(rate: float, duration: float, r: Result,
                      latency_limit: float | None = None,
                      checks: Sequence[Check] = ()) -> Probe:
    """A probe record from one fixed-rate load Result whose ``checks`` were applied.

    The probe counts as bounded by the generator when the load Result says so, or when —
    stricter tests than the load engine's, because latency counts from the intended start
    and the generator's lateness alone could fail a latency check the service would pass —
    its arrivals went out late (while VUs were free) by a tenth of ``latency_limit`` on
    average, or its failed checks all pass on service time (:func:`sent_late`).
    """
    def value(name: str) -> float | None:
        m = r.metrics.get(name)
        return None if m is None else m.value

    lat = r.metrics.get("latency")
    requests = value("requests")
    dropped = int(value("dropped") or 0)
    saturated = next((w.split(" — ")[0] for w in r.warnings if GENERATOR_WARNING in w), None)
    gen = r.extra.get("generator")
    late = gen.get("schedule_lag_mean") if isinstance(gen, Mapping) else None
    if saturated is None and latency_limit is not None and isinstance(late, int | float) \
            and late >= _LATE_SHARE * latency_limit:
        saturated = (f"{GENERATOR_WARNING}: arrivals went out {format_value(late, 's')} late "
                     f"on average, over {_LATE_SHARE:.0%} of the "
                     f"{format_value(latency_limit, 's')} latency limit")
    if saturated is None and r.error is None and sent_late(r, checks):
        saturated = (f"{GENERATOR_WARNING}: the failed checks pass on service time — the "
                     "requests were sent late, not served slowly")
    if saturated is not None:
        saturated += _busy_machine(gen)
    error = r.error
    status = probe_status(r.verdicts, dropped) if error is None else "fail"
    note = f"{dropped} arrival(s) dropped: every VU was busy for max_wait" if dropped else ""
    return Probe(
        rate=rate, duration=duration, status=status, verdicts=r.verdicts,
        achieved=value("rps"), error_rate=value("error_rate"),
        p50=lat.p50 if lat is not None else None, p95=lat.p95 if lat is not None else None,
        p99=lat.p99 if lat is not None else None,
        requests=None if requests is None else int(requests), note=note,
        saturated=saturated, error=error,
    )


def _noop_sync() -> None:
    """The null twin of an in-process sync target (see :func:`null_twin`)."""


async def _noop_async() -> None:
    """The null twin of an in-process async target."""


def null_twin(target: Any) -> Callable[[], Any] | None:
    """A target that does nothing, driven the way ``target`` is (sync or async), for an
    in-process callable without arguments; None for URLs and client scenarios.

    A probe of such a target that fails is probed again with its null twin at the same
    rate: when doing nothing fails the checks too, the failure was the generator's (the
    event loop or the threads that send the arrivals share the process with the target,
    and a busy machine slows both) and the search stops with "bounded by the generator"
    — lateness and service-time signals alone missed that on a busy machine, and an
    instant function got a "capacity" of 150k/s."""
    if isinstance(target, CallTarget) or not callable(target) or takes_argument(target):
        return None
    return _noop_async if is_async(target) else _noop_sync


def load(target: Any, *, rate: float | None = None, duration: float | None = None,
         executor: Any = None, checks: Sequence[Check] = (), max_vus: int = 1000,
         max_wait: float = 1.0, progress: Callable[[LiveStats], None] | None = None,
         **options: Any) -> Result:
    """One probe (or the ramp): a load run whose checks are the search's criteria — judged
    here because they decide the search, not the result."""
    ex = executor or make_executor(rate=rate, duration=duration, max_vus=max_vus,
                                   max_wait=max_wait)
    r = run_load(target, ex, progress=progress, **options)
    return judge(r, checks)


def capacity(
    target: Any,
    *,
    checks: Sequence[str | Check] = (),
    max_rate: float | str = "10000/s",
    min_rate: float | str | None = None,
    duration: float | str = "5s",
    warmup: float | str = "1s",
    cooldown: float | str = "1s",
    budget: float | str = "5min",
    precision: float = 0.04,
    confirm: int = 2,
    retries: int = 1,
    max_probes: int = 20,
    ramp: bool = True,
    ramp_doubling: float = 1.5,
    processes: int = 1,
    max_vus: int = 1000,
    max_wait: float | str = 1.0,
    require: Sequence[str | Check] = (),
    name: str | None = None,
    progress: Callable[[Probe], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **request: Any,
) -> Result:
    """Find the highest open-model arrival rate at which every check passes, and return a
    Result of kind ``capacity`` (see docs/capacity.md).

    ``checks`` apply to each probe (a ``perfgate.load`` run at a fixed rate); ``require``
    applies to the capacity itself (``"capacity >= 500/s"``). Each probe runs ``warmup`` then
    ``duration`` at its rate, followed by ``cooldown``; the search stops when the bracket is
    within ``precision`` and its lower bound passed ``confirm`` times, or at ``budget``,
    ``max_probes``, ``max_rate`` (default 10000/s) or ``min_rate`` (default max_rate/1000).
    A probe bounded by the load generator stops the search and the Result carries no
    capacity (``error`` says "bounded by the generator at N/s"); ``processes`` (generator
    processes, default 1: each probe starts them afresh, twice) raises that bound.
    ``request`` passes the HTTP options of :func:`perfgate.load` (method, headers, body,
    timeout …). ``progress`` is told of each probe as it finishes. ``target`` may be a
    ``@pg.scenario`` function: its checks (when ``checks`` is empty), name and client options
    are used, its executor is not.
    """
    target, checks, request, name = scenario_parts(target, checks, request, name)
    parsed = [c if isinstance(c, Check) else parse_checks([c])[0] for c in checks]
    if not parsed:
        raise UsageError("a capacity search needs at least one check (--check), e.g. "
                         "'p(95) < 300ms'")
    for c in parsed:
        validate_units(c, "load")
    gate = [c if isinstance(c, Check) else parse_checks([c])[0] for c in require]
    for c in gate:
        validate_units(c, "capacity")
    top = parse_rate(max_rate)
    bottom = parse_rate(min_rate) if min_rate is not None else top / 1000
    dur, wu, cd = (_secs(duration, "duration"), _secs(warmup, "warmup"),
                   _secs(cooldown, "cooldown"))
    wait = _secs(max_wait, "max_wait")
    tick = min(1.0, max(0.1, dur / 10))  # ≥ 10 ticks: batch CIs for the percentiles
    common: dict[str, Any] = dict(request, processes=processes, max_vus=max_vus,
                                  max_wait=wait, tick=tick)
    base = SearchSettings(max_rate=top, min_rate=bottom, duration=dur, warmup=wu,
                          cooldown=cd, budget=_secs(budget, "budget"), precision=precision,
                          confirm=confirm, retries=retries, max_probes=max_probes)
    if ramp_doubling <= 0:
        raise UsageError(f"ramp_doubling must be positive, got {ramp_doubling:g}")
    label = name or _label(target)
    t0 = time.monotonic()

    err_lim, lat_lim = ramp_limits(parsed)
    null = null_twin(target)

    def probe(rate: float, seconds: float) -> Probe:
        try:
            if wu > 0:
                load(target, rate=rate, duration=wu, name=label, **common)
            r = load(target, rate=rate, duration=seconds, checks=parsed, name=label, **common)
        except Interrupted as exc:  # keep what the cut-short run measured, as evidence
            cut = Probe(rate=rate, duration=seconds, status="inconclusive")
            if exc.results and exc.results[0].verdicts:
                cut = probe_from_result(rate, seconds, exc.results[0], lat_lim, parsed)
            return replace(cut, interrupted=True, partial=True,
                           note="cut short by Ctrl-C: not counted")
        p = probe_from_result(rate, seconds, r, lat_lim, parsed)
        # An inconclusive probe bounds the capacity from above like a failure, so it gets
        # the same test: beside a busy loop the generator's own p99 sat on a 20 ms limit,
        # and unchecked inconclusive probes gave a do-nothing function a "capacity" of 65k/s.
        if p.status != "pass" and p.saturated is None and p.error is None and null is not None:
            n = probe_from_result(rate, seconds, load(null, rate=rate, duration=seconds,
                                                      checks=parsed, name=label, **common),
                                  lat_lim, parsed)
            if n.status != "pass":
                how = "fails" if n.status == "fail" else "does not pass"
                p = replace(p, saturated=(
                    f"{GENERATOR_WARNING}: a target that does nothing {how} the same checks "
                    f"at this rate too (p99 {format_value(n.p99 or math.nan, 's')})"))
        try:
            if progress is not None:
                progress(p)
            sleep(cd)
        except KeyboardInterrupt:  # the probe is complete: keep it, then stop
            return replace(p, interrupted=True)
        return p

    ramp_rec: Ramp | None = None
    start, step = None, 2.0  # without a ramp: gallop from the middle in doublings
    if ramp and (err_lim is not None or lat_lim is not None):
        ramp_rec = _run_ramp(target, label, max(bottom, top / 100), top, ramp_doubling,
                             err_lim, lat_lim, common, max_vus, wait)
        try:
            if not ramp_rec.interrupted:
                sleep(cd)
        except KeyboardInterrupt:
            ramp_rec = replace(ramp_rec, interrupted=True)
        if ramp_rec.interrupted:  # Ctrl-C during the ramp
            found = Search(capacity=None, low=None, high=None, confirmed=False,
                           stop="interrupted", message="interrupted during the ramp",
                           probes=(), elapsed=time.monotonic() - t0)
            raise Interrupted([_finish(label, found, ramp_rec, t0, gate, _params(
                target, parsed, gate, base, processes, max_vus))])
        # Probe the guess first, then gallop by one ramp tick's growth: the knee is
        # usually within a tick or two of the guess (later for a queueing service).
        start = ramp_rec.guess or top
        step = 2 ** (_RAMP_TICK / ramp_doubling)
    settings = replace(base, start=start, first_step=step,
                       budget=max(1e-9, base.budget - (time.monotonic() - t0)))
    found = search(probe, settings)
    result = _finish(label, found, ramp_rec, t0, gate,
                     _params(target, parsed, gate, base, processes, max_vus))
    if found.stop == "interrupted":
        raise Interrupted([result])
    return result


def scenario_parts(target: Any, checks: Sequence[str | Check], request: dict[str, Any],
                    name: str | None
                    ) -> tuple[Any, Sequence[str | Check], dict[str, Any], str | None]:
    """A ``@pg.scenario`` function brings its callable, its checks (unless others are
    given), its name and its client options; its executor is replaced by the search's."""
    spec = next((s for s in getattr(target, "__perfgate__", ())
                 if getattr(s, "kind", None) == "load"), None)
    if spec is None:
        return target, checks, request, name
    opts = {k: getattr(spec, k) for k in ("base_url", "timeout", "verify", "ca_file",
                                          "allow_remote")
            if getattr(spec, k, None) not in (None, "")}
    return (spec.target, checks or tuple(spec.checks), {**opts, **request},
            name or getattr(spec, "name", None))


def _params(target: Any, parsed: Sequence[Check], gate: Sequence[Check], s: SearchSettings,
            processes: int, max_vus: int) -> dict[str, Any]:
    p: dict[str, Any] = {
        "target": _label(target), "model": "open", "checks": [c.text for c in parsed],
        "max_rate": s.max_rate, "min_rate": s.min_rate, "duration": s.duration,
        "warmup": s.warmup, "cooldown": s.cooldown, "budget": s.budget,
        "precision": s.precision, "confirm": s.confirm, "max_vus": max_vus,
        "processes": processes,
    }
    if gate:
        p["require"] = [c.text for c in gate]
    return p


def _finish(label: str, found: Search, ramp_rec: Ramp | None, t0: float, gate: Sequence[Check],
            params: dict[str, Any]) -> Result:
    result = build_result(label, found, params, ramp_rec, seconds=time.monotonic() - t0)
    return judge(result, gate)


def _run_ramp(target: Any, label: str, r0: float, r1: float, doubling: float,
              err_lim: float | None, lat_lim: float | None, common: dict[str, Any],
              max_vus: int, wait: float) -> Ramp:
    ex, rate_at = _ramp_executor(r0, r1, doubling, max_vus, wait)
    watch = _RampWatch(rate_at, err_lim, lat_lim)
    opts = {k: v for k, v in common.items() if k not in ("max_vus", "max_wait", "tick")}
    began = time.monotonic()
    try:
        r: Result | None = load(target, executor=ex, name=label, tick=_RAMP_TICK,
                                progress=watch, **opts)
    except Interrupted as exc:
        if watch.guess is None:  # a real Ctrl-C
            return Ramp(r0, rate_at(watch.elapsed), time.monotonic() - began, None,
                        tuple(watch.ticks), interrupted=True)
        r = exc.results[0] if exc.results else None
    warnings = tuple(w for w in (r.warnings if r is not None else ())
                     if GENERATOR_WARNING in w)
    end = watch.ticks[-1].rate if watch.guess is not None and watch.ticks else r1
    return Ramp(r0, end, time.monotonic() - began, watch.guess, tuple(watch.ticks), warnings)


def _label(target: Any) -> str:
    if isinstance(target, str):
        return target
    qualname = getattr(target, "__qualname__", None)
    if qualname:
        module = getattr(target, "__module__", None)
        return f"{module}:{qualname}" if module else str(qualname)
    return str(getattr(target, "url", None) or type(target).__name__)
