"""Capacity search: the highest open-model arrival rate at which every check passes.

The search is pure: it calls an injected ``probe(rate, duration) -> Probe`` and a clock,
so it is tested on a simulated service; :mod:`perfgate.load._capacity` supplies probes that
are real ``perfgate.load`` runs. The method:

1. **Guess** — a ramp (one open-model run whose rate doubles every few seconds, stopped
   once two ticks in a row break the checks, see :func:`ramp_guess`) gives the rate to
   probe first. It is only a guess: ticks are short, and a queue built at one rate spills
   into the next tick, so the ramp sees the knee late.
2. **Bracket** — fixed-rate probes gallop from the guess: up while they pass, down while
   they fail, the step squaring each time (×1.12, ×1.25, ×1.57 …), until a passing rate
   lies below a failing one — or the maximum rate passes, or the minimum fails. A failed
   probe whose goodput fell clearly short of its offered rate measured the service's
   throughput (see :func:`_ceiling`): the next probe goes just below it instead.
3. **Refine** — bisect the bracket in log-rate until ``high / low ≤ 1 + precision`` (or,
   when ``low`` sits at that throughput, probe ``low × (1 + precision)`` to close it), then
   probe ``low`` again until it has passed ``confirm`` times: near the knee a single short
   probe is noise, so the lower bound must hold more than once.

A rate's status pools its probes: any fail makes it fail, otherwise its latest probe decides.
An inconclusive probe (a check's CI straddles its limit) is repeated at the same rate with
twice the duration, whose narrower CIs may decide, up to ``retries`` times; a rate that stays
inconclusive bounds the capacity from above like a failure and is reported as such — it is
never counted as a pass. The service is taken to be monotone: a failure at r means failure
above r, so ``high`` is the lowest rate that did not pass and ``low`` the highest pass below it.

The answer is ``low`` — the highest rate that passed, robustly — with ``[low, high]`` as its
interval. A probe that saturated the load generator stops the search without an answer: its
verdicts describe the generator ("bounded by the generator at N/s"), not the service —
unless the generator already sent that rate cleanly in this search (a noisy neighbour): then
it is repeated, up to ``retries`` times. Such probes never count for the bracket.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from perfgate._errors import ResultFormatError, UsageError
from perfgate.model import Verdict
from perfgate.units import format_value

__all__ = [
    "Probe",
    "ProbeFn",
    "ProbeStatus",
    "RampTick",
    "Search",
    "SearchSettings",
    "StopReason",
    "probe_status",
    "ramp_guess",
    "search",
]

ProbeStatus = Literal["pass", "fail", "inconclusive"]
StopReason = Literal["converged", "max_rate", "min_rate", "generator", "budget",
                     "max_probes", "interrupted", "error"]
_PROBE_STATUSES = ("pass", "fail", "inconclusive")


@dataclass(frozen=True)
class Probe:
    """One fixed-rate load run of the search and what its checks said.

    ``rate`` is the offered arrival rate, ``achieved`` the completed requests per second.
    ``p50``/``p95``/``p99`` (latency from the intended start, s) and ``error_rate`` draw
    the curve. ``saturated`` holds the generator warning when the run was bounded by the
    generator. ``partial`` marks a probe cut short by Ctrl-C: evidence, not counted.
    ``phase`` (bracket, refine, confirm, retry), ``started`` (seconds since the
    search began) and ``wall`` (seconds the probe took with its warm-up and cool-down) are
    filled in by the search.
    """

    rate: float
    duration: float
    status: ProbeStatus
    verdicts: tuple[Verdict, ...] = ()
    achieved: float | None = None
    error_rate: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    requests: int | None = None
    note: str = ""
    saturated: str | None = None
    error: str | None = None
    interrupted: bool = False  # Ctrl-C during or right after it: the search stops
    partial: bool = False  # cut short: kept as evidence, never counted for the bracket
    phase: str = ""
    started: float = 0.0
    wall: float = 0.0

    @property
    def counted(self) -> bool:
        """Whether the bracket may use it: not cut short, not bounded by the generator."""
        return not self.partial and self.saturated is None

    @property
    def goodput(self) -> float | None:
        """Requests answered without error per second."""
        if self.achieved is None:
            return None
        return self.achieved * (1 - (self.error_rate or 0.0))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "rate": self.rate, "duration": self.duration, "status": self.status,
            "phase": self.phase, "started": round(self.started, 3),
            "wall": round(self.wall, 3),
            "checks": [v.to_dict() for v in self.verdicts],
        }
        for k in ("achieved", "error_rate", "p50", "p95", "p99", "requests"):
            v = getattr(self, k)
            if v is not None and (not isinstance(v, float) or math.isfinite(v)):
                d[k] = v
        for k in ("note", "saturated", "error"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        for k in ("interrupted", "partial"):
            if getattr(self, k):
                d[k] = True
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "probe") -> Probe:
        if not isinstance(d, Mapping) or d.get("status") not in _PROBE_STATUSES:
            raise ResultFormatError(f"{where}: needs a 'status' in {_PROBE_STATUSES}")

        def opt(k: str) -> float | None:
            return None if d.get(k) is None else float(d[k])

        try:
            checks = d.get("checks") or []
            return cls(
                rate=float(d["rate"]), duration=float(d["duration"]), status=d["status"],
                verdicts=tuple(Verdict.from_dict(v, f"{where} check {i}")
                               for i, v in enumerate(checks)),
                achieved=opt("achieved"), error_rate=opt("error_rate"), p50=opt("p50"),
                p95=opt("p95"), p99=opt("p99"),
                requests=None if d.get("requests") is None else int(d["requests"]),
                note=str(d.get("note", "")), saturated=d.get("saturated"),
                error=d.get("error"), interrupted=bool(d.get("interrupted", False)),
                partial=bool(d.get("partial", False)),
                phase=str(d.get("phase", "")), started=float(d.get("started", 0.0)),
                wall=float(d.get("wall", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultFormatError(f"{where}: {exc}") from None


def probe_status(verdicts: Sequence[Verdict], dropped: int = 0) -> ProbeStatus:
    """Fail if any check failed (or arrivals were dropped: the service did not take the
    offered rate); inconclusive if any check could not decide; else pass (warn passes)."""
    statuses = {v.status for v in verdicts}
    if "fail" in statuses or dropped > 0:
        return "fail"
    if "inconclusive" in statuses:
        return "inconclusive"
    return "pass"


ProbeFn = Callable[[float, float], Probe]


@dataclass(frozen=True)
class SearchSettings:
    """The knobs of :func:`search` (rates in 1/s, times in s).

    ``start``: the first rate probed (the ramp's guess; default the geometric middle of
    ``min_rate`` and ``max_rate``), ``first_step``: the first galloping factor.
    ``warmup`` and ``cooldown`` only enter the time estimate of a probe against ``budget``.
    """

    max_rate: float
    min_rate: float
    duration: float = 5.0
    warmup: float = 1.0
    cooldown: float = 1.0
    budget: float = 300.0
    precision: float = 0.04
    confirm: int = 2
    retries: int = 1
    max_probes: int = 20
    start: float | None = None
    first_step: float = 1.26

    def __post_init__(self) -> None:
        if not 0 < self.min_rate < self.max_rate:
            raise UsageError(f"need 0 < min rate < max rate, got {self.min_rate:g}/s and "
                             f"{self.max_rate:g}/s")
        if self.duration <= 0 or self.warmup < 0 or self.cooldown < 0 or self.budget <= 0:
            raise UsageError("probe duration and budget must be positive, warm-up and "
                             "cool-down not negative")
        if not 0 < self.precision < 1:
            raise UsageError(f"precision must be between 0 and 1, got {self.precision:g}")
        if self.confirm < 1 or self.retries < 0 or self.max_probes < 1:
            raise UsageError("confirm and max_probes must be ≥ 1, retries ≥ 0")
        if self.first_step <= 1:
            raise UsageError(f"first_step must be above 1, got {self.first_step:g}")


@dataclass(frozen=True)
class Search:
    """What the search found: ``capacity`` (None when it cannot say), the bracket
    ``[low, high]`` (``high`` None: nothing failed up to ``max_rate``), why it stopped, and
    every probe in order."""

    capacity: float | None
    low: float | None
    high: float | None
    confirmed: bool
    stop: StopReason
    message: str
    probes: tuple[Probe, ...]
    elapsed: float
    generator_limit: float | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Bracket:
    low: float | None
    high: float | None
    passes_at_low: int


def _rate_status(probes: Sequence[Probe]) -> dict[float, ProbeStatus]:
    """Any fail makes a rate fail; otherwise its latest probe decides (an inconclusive
    probe retried for longer may pass)."""
    out: dict[float, ProbeStatus] = {}
    for p in probes:
        if p.counted and out.get(p.rate) != "fail":
            out[p.rate] = p.status
    return out


def _bracket(probes: Sequence[Probe]) -> _Bracket:
    status = _rate_status(probes)
    not_ok = [r for r, s in status.items() if s != "pass"]
    high = min(not_ok) if not_ok else None
    ok = [r for r, s in status.items() if s == "pass" and (high is None or r < high)]
    low = max(ok) if ok else None
    n = sum(1 for p in probes if p.rate == low and p.status == "pass" and p.counted)
    return _Bracket(low, high, n)


def _rate(x: float) -> str:
    return format_value(x, "1/s")


@dataclass(frozen=True)
class _Move:
    rate: float
    phase: str
    duration: float
    step: float  # the galloping factor after this move


@dataclass(frozen=True)
class _Stop:
    reason: StopReason
    message: str


def _next(probes: Sequence[Probe], s: SearchSettings, step: float,
          start: float) -> _Move | _Stop:
    """What to probe next, or why to stop."""
    b = _bracket(probes)
    last = probes[-1] if probes else None
    if last is not None and last.saturated is not None:  # transient: see _transient
        return _Move(last.rate, "retry", last.duration, step)
    if last is not None and last.status == "inconclusive" and not last.partial and \
            _retries_at(probes, last.rate) < s.retries:
        return _Move(last.rate, "retry", last.duration * 2, step)
    top = _ceiling(probes)
    if b.low is None and b.high is None:
        return _Move(start, "bracket", s.duration, step)
    if b.low is None:
        assert b.high is not None
        if b.high <= s.min_rate:
            return _Stop("min_rate", f"the checks fail even at the minimum rate "
                                     f"{_rate(s.min_rate)}")
        if top is not None and top * 0.99 < b.high / step:
            # the service's throughput fell short of the offered rate: go just below it
            return _Move(max(s.min_rate, top * 0.99), "bracket", s.duration, step)
        return _Move(max(s.min_rate, b.high / step), "bracket", s.duration, step * step)
    if b.high is None:
        if b.low < s.max_rate:
            return _Move(min(s.max_rate, b.low * step), "bracket", s.duration, step * step)
        if b.passes_at_low >= s.confirm:
            return _Stop("max_rate", f"every check passed at the maximum rate "
                                     f"{_rate(s.max_rate)}: the capacity is at least that "
                                     "(raise the maximum rate to find it)")
        return _Move(b.low, "confirm", s.duration, step)
    if b.high / b.low > 1 + s.precision:
        rate = math.sqrt(b.low * b.high)
        if top is not None and abs(top / b.low - 1) <= s.precision / 2:
            # the low end is at the service's throughput: close the bracket just above it
            rate = min(rate, b.low * (1 + s.precision) * 0.999)
        return _Move(rate, "refine", s.duration, step)
    if b.passes_at_low < s.confirm:
        return _Move(b.low, "confirm", s.duration, step)
    return _Stop("converged", f"between {_rate(b.low)} and {_rate(b.high)} (within "
                              f"{s.precision:.0%}), the lower bound passed "
                              f"{b.passes_at_low}×")


def _ceiling(probes: Sequence[Probe]) -> float | None:
    """The service's throughput where it did not keep up: the highest goodput (requests
    answered without error per second) of a failed probe that fell 3 % or more short of
    its offered rate. Rates much above it cannot pass."""
    tops = [g for p in probes if p.counted and p.status == "fail"
            and (g := p.goodput) is not None and g < 0.97 * p.rate]
    return max(tops) if tops else None


def _transient(probes: Sequence[Probe], s: SearchSettings) -> bool:
    """A probe bounded by the generator at a rate it already sent cleanly, not yet
    retried ``retries`` times: a noisy neighbour, not the generator's limit."""
    last = probes[-1]
    clean = any(p.counted and p.rate >= last.rate for p in probes[:-1])
    again = 0
    for p in reversed(probes):
        if p.rate != last.rate or p.saturated is None:
            break
        again += 1
    return clean and again <= s.retries


def search(probe: ProbeFn, s: SearchSettings,
           clock: Callable[[], float] = time.monotonic) -> Search:
    """Run the search (see the module docstring); never raises for what a probe found."""
    t0 = clock()
    probes: list[Probe] = []
    step = s.first_step
    overhead = 0.0  # seconds a probe took beyond its planned time (process start-up …)
    start = s.start if s.start is not None else math.sqrt(s.min_rate * s.max_rate)
    start = min(max(start, s.min_rate), s.max_rate)

    def done(stop: StopReason, message: str, gen: float | None = None) -> Search:
        return _answer(stop, message, probes, clock() - t0, s, gen)

    while True:
        # Everything between two probes is inside too: a Ctrl-C lands as often while a
        # probe's line is printed (when the user sees it) as during a probe, and what ran
        # before must be kept either way.
        try:
            move = _next(probes, s, step, start)
            if isinstance(move, _Stop):
                return done(move.reason, move.message)
            if len(probes) >= s.max_probes:
                return done("max_probes", f"stopped after {len(probes)} probes (max_probes)")
            cost = move.duration + s.warmup + s.cooldown + overhead
            if clock() - t0 + cost > s.budget:
                return done("budget", f"the time budget ({s.budget:g} s) does not leave room "
                                      f"for another {cost:.0f} s probe")
            step = move.step
            began = clock()
            got = probe(move.rate, move.duration)
            probes.append(replace(got, phase=move.phase, started=began - t0))  # kept first
            wall = clock() - began
            probes[-1] = p = replace(probes[-1], wall=wall)
            overhead = max(overhead, wall - move.duration - s.warmup - s.cooldown)
            if p.interrupted:
                return done("interrupted", "interrupted: the answer covers the probes so far")
            if p.error is not None:
                return done("error", f"probe at {_rate(p.rate)}: {p.error}")
            if p.saturated is not None and not _transient(probes, s):
                sent = f" ({_rate(p.achieved)} sent)" if p.achieved is not None else ""
                why = p.saturated.split(": ", 1)[-1]  # the warning's reasons
                return done("generator", f"bounded by the generator at {_rate(p.rate)} "
                                         f"offered{sent}: {why}; the service's capacity was "
                                         "not measured there (use more --processes)", p.rate)
        except KeyboardInterrupt:
            return done("interrupted", "interrupted: the answer covers the probes so far")


def _retries_at(probes: Sequence[Probe], rate: float) -> int:
    """How many retries of an inconclusive probe at ``rate`` ran since it last decided."""
    n = 0
    for p in reversed(probes):
        if p.rate != rate or p.status != "inconclusive":
            break
        n += 1
    return n - 1


def _answer(stop: StopReason, message: str, probes: Sequence[Probe], elapsed: float,
            s: SearchSettings, gen: float | None) -> Search:
    b = _bracket(probes)
    confirmed = b.low is not None and b.passes_at_low >= s.confirm
    warnings: list[str] = []
    capacity: float | None = b.low
    if stop == "generator":
        capacity = None
        if b.low is not None:
            message += f"; it is at least {_rate(b.low)}"
    elif stop == "min_rate":
        capacity = 0.0
    elif stop in ("budget", "max_probes", "interrupted", "error"):
        if b.low is None:
            capacity = None
        else:
            width = "" if b.high is None else f", bracket {_rate(b.low)} to {_rate(b.high)}"
            warnings.append(f"the search did not finish ({stop}){width}: the capacity is "
                            "known less precisely than asked")
    if capacity and not confirmed:
        warnings.append(f"the lower bound {_rate(capacity)} passed only "
                        f"{b.passes_at_low}× (wanted {s.confirm})")
    if stop in ("max_rate", "min_rate"):
        warnings.append(message)
    incon = sorted(r for r, st in _rate_status(probes).items() if st == "inconclusive")
    if incon:
        warnings.append("inconclusive at " + ", ".join(_rate(r) for r in incon)
                        + ": counted as not passing")
    return Search(capacity=capacity, low=b.low, high=b.high, confirmed=confirmed, stop=stop,
                  message=message, probes=tuple(probes), elapsed=elapsed,
                  generator_limit=gen, warnings=tuple(warnings))


# --------------------------------------------------------------------------- the ramp


@dataclass(frozen=True)
class RampTick:
    """One tick of the ramp: the offered rate at its start and what came back in it."""

    rate: float
    requests: int
    errors: int
    p99: float  # s, latency from the intended start; NaN if nothing completed


_MIN_TICK_REQUESTS = 20


def ramp_guess(ticks: Sequence[RampTick], error_limit: float | None,
               latency_limit: float | None, bad_in_a_row: int = 2) -> float | None:
    """The offered rate at the first of ``bad_in_a_row`` consecutive ticks that break the
    limits (tick error fraction ≥ ``error_limit``, tick p99 ≥ ``latency_limit``), or None.

    A tick's p99 stands for every latency percentile the checks name: for p(95) it errs
    low (the ramp stops early and the probes gallop up), which costs a probe, not accuracy.
    Ticks with fewer than 20 requests are skipped; so is everything when no limit applies.
    """
    if error_limit is None and latency_limit is None:
        return None
    run: list[RampTick] = []
    for t in ticks:
        if t.requests < _MIN_TICK_REQUESTS:
            continue
        bad = (error_limit is not None and t.errors / t.requests >= error_limit) or (
            latency_limit is not None and math.isfinite(t.p99) and t.p99 >= latency_limit)
        run = [*run, t] if bad else []
        if len(run) >= bad_in_a_row:
            return run[0].rate
    return None
