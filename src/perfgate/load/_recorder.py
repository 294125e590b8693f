"""Recording: the hot path appends integers to lists; once per tick they become histograms.

Worker side, :class:`Recorder`: every iteration appends its latency in nanoseconds to a list
(about 30 ns), and under the open model its service time to another. A failed iteration
appends its time to a list of its own (``latency_failed``: a refused connection is not a
fast request) and a small tuple describing the error. Once per tick (a second by default)
the lists are drained into :class:`~perfgate.load._histogram.LogHistogram` s with one
vectorised pass and shipped as a :class:`Snapshot`; nothing grows with the run's length.

Parent side, :class:`Aggregator`: merges snapshots from every worker exactly (histogram
counts add), keeps the whole-run histograms and one point per tick for the series
(throughput, errors, p50, p99, in-flight), and forgets each tick's histogram once every
worker has reported it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from perfgate.load._histogram import LogHistogram
from perfgate.load._outcomes import Tally, describe

__all__ = ["Aggregator", "Drained", "PhaseTotals", "Recorder", "SeriesPoint", "Snapshot", "Stream",
           "synthetic"]

FLUSH_AT = 1 << 16  # a VU thread absorbs its samples itself past this many
TICK_QUANTILES = (0.5, 0.9, 0.95, 0.99)

_MAX_SYNTHETIC_PER_SAMPLE = 100_000
CO_THRESHOLD = 5  # correct samples at least this many times the median (stalls, not jitter)
# Synthetic samples are all above the median, so k of them per n real ones move p50 to the
# real p(50·(1+k/n)): at 5 % the corrected p50 is at most the real p52.5.
SYNTHETIC_SHARE = 0.05

ErrorEvent = tuple[str, Any, int]  # (class, status code / exception / message, t in ns)


class Stream:
    """One producer's lists (an event loop's, or one VU thread's): appended without locks,
    drained with a length-bounded slice so an append racing the drain is never lost."""

    __slots__ = ("dropped", "events", "fail", "lat", "phases", "svc")

    def __init__(self) -> None:
        self.lat: list[int] = []
        self.svc: list[int] = []
        self.fail: list[int] = []  # latency of failed iterations
        self.phases: list[tuple[str, int]] = []  # (pg.phase name, ns) inside an iteration
        self.events: list[ErrorEvent] = []
        self.dropped: list[int] = []


def _drain(lst: list[Any]) -> list[Any]:
    n = len(lst)
    chunk = lst[:n]
    del lst[:n]
    return chunk


@dataclass
class Snapshot:
    """What one worker measured during one tick (or, ``final``, the rest of the run)."""

    worker: int
    tick: int
    t_end: float  # seconds from the start at which the covered window ends
    lat: LogHistogram
    svc: LogHistogram | None  # None under the closed model: service time == latency
    tally: Tally
    failed: LogHistogram | None = None  # latency of failed iterations
    dropped: int = 0
    inflight: int = 0
    cpu: float = 0.0  # CPU seconds the worker process used during the window
    lag_max: float = 0.0  # event-loop lag (s)
    lag_mean: float = 0.0
    sched_lag_max: float = 0.0  # open model: how late arrivals were sent, VUs being free
    sched_lag_sum: float = 0.0
    sched_n: int = 0
    final: bool = False
    interrupted: int = 0  # in flight at the end, abandoned after the grace period
    vus: int = 0
    requests: int = -1  # successful iterations (-1: lat.n, nothing synthetic added)
    synthetic: int = 0  # closed-model coordinated-omission samples added to lat
    http: int = -1  # HTTP requests made through HttpClient (-1: not counted)
    resume_wait: float = 0.0  # s responses waited for the generator's loop (HttpClient)
    gaps: tuple[tuple[float, float], ...] = ()  # (start s, length s): nothing completed
    phases: dict[str, LogHistogram] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        """Successful iterations (synthetic samples excluded)."""
        return self.lat.n if self.requests < 0 else self.requests

    @property
    def count(self) -> int:
        """Every completed iteration, failed or not."""
        return self.ok + (self.failed.n if self.failed is not None else 0)


def synthetic(v: NDArray[np.int64], interval: int, threshold: float = CO_THRESHOLD,
              ) -> NDArray[np.int64]:
    """Closed-model coordinated-omission correction (HdrHistogram's
    ``recordValueWithExpectedInterval``): a VU stuck for ``v`` would, at its usual pace,
    have started requests every ``interval``; they would have waited ``v - interval``,
    ``v - 2·interval``, … down to ``interval``. Returns those missing samples, for the
    values at least ``threshold`` intervals long (a stall, not ordinary jitter)."""
    if interval <= 0 or v.size == 0:
        return np.empty(0, dtype=np.int64)
    v = v[v >= threshold * interval]
    k = np.minimum(v // interval - 1, _MAX_SYNTHETIC_PER_SAMPLE)
    k = np.maximum(k, 0)
    total = int(k.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    base = np.repeat(v, k)
    step = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(k) - k, k) + 1
    out: NDArray[np.int64] = base - step * interval
    return out


@dataclass
class Drained:
    """What a :class:`Recorder` held since its last drain."""

    lat: LogHistogram
    svc: LogHistogram | None
    failed: LogHistogram
    tally: Tally
    dropped: int = 0
    phases: dict[str, LogHistogram] = field(default_factory=dict)

    def merge(self, o: Drained) -> None:
        self.lat.merge(o.lat)
        if self.svc is not None and o.svc is not None:
            self.svc.merge(o.svc)
        self.failed.merge(o.failed)
        self.tally.merge(o.tally)
        self.dropped += o.dropped
        for k, h in o.phases.items():
            if k in self.phases:
                self.phases[k].merge(h)
            else:
                self.phases[k] = h


class Recorder:
    """A worker's recording point: one :class:`Stream` per producer.

    ``co_correct`` (closed model only): add HdrHistogram-style synthetic samples for the
    requests a stalled VU did not send, capped at :data:`SYNTHETIC_SHARE` of the real
    successful ones so they cannot move the median; ``svc`` then keeps the real times."""

    def __init__(self, t0_ns: int, open_model: bool, co_correct: bool = False) -> None:
        self.t0_ns = t0_ns
        self.open_model = open_model
        self.co_correct = co_correct and not open_model
        self.raw = LogHistogram.empty()  # closed model with correction: what was measured
        self.streams: list[Stream] = []
        self.main = self.stream()
        self.synthetic = 0
        self.completed = 0  # iterations drained so far (stall detection reads it)
        self._cur: Drained | None = None
        self._lock = threading.Lock()

    def stream(self) -> Stream:
        s = Stream()
        self.streams.append(s)
        return s

    def completions(self) -> int:
        """Iterations completed so far (drained or still in the lists); approximate while
        producers append, exact enough to see that nothing completed."""
        return self.completed + sum(len(s.lat) + len(s.fail) for s in list(self.streams))

    def absorb(self) -> None:
        """Move what the producers appended into this tick's histograms (called often, so
        the lists stay short and memory flat at any rate). Any thread may call it."""
        with self._lock:
            self._absorb()

    def _absorb(self) -> None:
        d = self._collect()
        if self._cur is None:
            self._cur = d
        else:
            self._cur.merge(d)

    def drain(self) -> Drained:
        """Everything recorded since the last drain."""
        with self._lock:
            self._absorb()
            assert self._cur is not None
            out, self._cur = self._cur, None
        return out

    def _collect(self) -> Drained:
        lat = LogHistogram.empty()
        svc = LogHistogram.empty() if self.open_model or self.co_correct else None
        failed = LogHistogram.empty()
        tally = Tally()
        dropped = 0
        raws = []
        phases: dict[str, list[int]] = {}
        for s in list(self.streams):
            if self.co_correct:
                raws.append(np.asarray(_drain(s.lat), dtype=np.int64))
            else:
                chunk = _drain(s.lat)
                self.completed += len(chunk)
                lat.record(chunk)
            if self.open_model and svc is not None:
                svc.record(_drain(s.svc))
            fails = _drain(s.fail)
            self.completed += len(fails)
            failed.record(fails)
            for name, v in _drain(s.phases):
                phases.setdefault(name, []).append(v)
            for cls, detail, t in _drain(s.events):
                if isinstance(detail, BaseException):
                    msg = describe(detail)
                elif isinstance(detail, int):
                    msg = f"HTTP {detail}"
                    tally.add_status(detail)
                else:
                    msg = str(detail)
                tally.add(cls, msg, (t - self.t0_ns) / 1e9)
            dropped += len(_drain(s.dropped))
        if self.co_correct and svc is not None:
            raw = np.concatenate(raws) if raws else np.empty(0, dtype=np.int64)
            self.completed += int(raw.size)
            svc.record(raw)
            self.raw.merge(svc)
            lat.record(raw)
            budget = int(SYNTHETIC_SHARE * self.raw.n) - self.synthetic
            if self.raw.n and budget > 0:
                extra = synthetic(raw, int(self.raw.quantile(0.5)))
                if extra.size > budget:  # keep the longest waits: they are the stall's
                    extra = np.sort(extra)[-budget:]
                lat.record(extra)
                self.synthetic += int(extra.size)
        hist = {k: LogHistogram.of(v) for k, v in phases.items()}
        return Drained(lat, svc, failed, tally, dropped, hist)


@dataclass
class SeriesPoint:
    t: float
    requests: int
    errors: int
    p50: float
    p99: float
    inflight: int
    dropped: int
    span: float  # seconds the point covers
    quantiles: tuple[float, ...] = ()  # TICK_QUANTILES of this tick's latency (s)

    @property
    def rps(self) -> float:
        return self.requests / self.span if self.span > 0 else math.nan


@dataclass
class _Pending:
    lat: LogHistogram
    requests: int = 0
    errors: int = 0
    dropped: int = 0
    inflight: int = 0
    t_end: float = 0.0
    workers: set[int] = field(default_factory=set)


@dataclass
class PhaseTotals:
    """A fault-schedule phase's share of the run: the ticks that ended inside its window."""

    name: str
    start: float
    end: float
    lat: LogHistogram = field(default_factory=LogHistogram.empty)
    svc: LogHistogram | None = None
    tally: Tally = field(default_factory=Tally)
    requests: int = 0
    dropped: int = 0
    t_last: float = 0.0  # the end of the last tick seen (a run cut short ends early)


class Aggregator:
    """Merges every worker's snapshots: whole-run totals and one series point per tick."""

    def __init__(self, workers: int, tick: float) -> None:
        self.workers = workers
        self.tick = tick
        self.done: set[int] = set()
        self.lat = LogHistogram.empty()
        self.svc = LogHistogram.empty()
        self.failed = LogHistogram.empty()
        self.has_svc = False
        self.count = 0
        self.ok = 0
        self.http = 0
        self.http_counted = False
        self.resume_wait = 0.0
        self.gaps: dict[int, list[tuple[float, float]]] = {}
        self.phases: dict[str, LogHistogram] = {}
        self.synthetic = 0
        self.tally = Tally()
        self.dropped = 0
        self.interrupted = 0
        self.cpu: dict[int, float] = {}
        self.lag_max = 0.0
        self.lag_means: list[float] = []
        self.sched_lag_max = 0.0
        self.sched_lag_sum = 0.0
        self.sched_n = 0
        self.peak_vus: dict[int, int] = {}
        self.elapsed = 0.0
        self.points: list[SeriesPoint] = []
        self._pending: dict[int, _Pending] = {}
        self.last: SeriesPoint | None = None
        self.fault_phases: list[PhaseTotals] = []  # with a fault schedule (docs/faults.md)

    def set_phases(self, windows: list[tuple[str, float, float]]) -> None:
        """Also keep totals per phase: ``(name, start, end)`` in seconds from the start."""
        self.fault_phases = [PhaseTotals(n, s, e) for n, s, e in windows]

    def _add_to_phase(self, s: Snapshot) -> None:
        # a tick belongs to the phase holding its middle (phases are whole ticks)
        start = s.tick * self.tick
        mid = (start + max(start, min(s.t_end, start + self.tick))) / 2
        fp = self.fault_phases
        ph = next((p for p in fp if p.start <= mid < p.end), None)
        if ph is None:
            ph = fp[-1] if mid >= fp[-1].end else fp[0]
        ph.lat.merge(s.lat)
        if s.svc is not None:
            if ph.svc is None:
                ph.svc = LogHistogram.empty()
            ph.svc.merge(s.svc)
        ph.tally.merge(s.tally)
        ph.requests += s.count
        ph.dropped += s.dropped
        ph.t_last = max(ph.t_last, min(s.t_end, ph.end))

    def add(self, s: Snapshot) -> None:
        self.lat.merge(s.lat)
        if s.svc is not None:
            self.has_svc = True
            self.svc.merge(s.svc)
        self.tally.merge(s.tally)
        self.count += s.count
        self.ok += s.ok
        if s.failed is not None:
            self.failed.merge(s.failed)
        if s.http >= 0:
            self.http_counted = True
            self.http += s.http
        self.resume_wait += s.resume_wait
        self.gaps.setdefault(s.worker, []).extend(s.gaps)
        for k, h in s.phases.items():
            if k in self.phases:
                self.phases[k].merge(h)
            else:
                self.phases[k] = h.copy()
        self.synthetic += s.synthetic
        self.dropped += s.dropped
        self.interrupted += s.interrupted
        self.cpu[s.worker] = self.cpu.get(s.worker, 0.0) + s.cpu
        self.lag_max = max(self.lag_max, s.lag_max)
        if s.lag_mean > 0:
            self.lag_means.append(s.lag_mean)
        self.sched_lag_max = max(self.sched_lag_max, s.sched_lag_max)
        self.sched_lag_sum += s.sched_lag_sum
        self.sched_n += s.sched_n
        self.peak_vus[s.worker] = max(self.peak_vus.get(s.worker, 0), s.vus)
        self.elapsed = max(self.elapsed, s.t_end)
        if self.fault_phases:
            self._add_to_phase(s)
        p = self._pending.get(s.tick)
        if p is None:
            p = self._pending[s.tick] = _Pending(LogHistogram.empty())
        p.lat.merge(s.lat)
        p.requests += s.http if s.http >= 0 else s.count  # series.rps = rps: HTTP requests
        p.errors += s.tally.total
        p.dropped += s.dropped
        p.inflight += s.inflight
        p.t_end = max(p.t_end, s.t_end)
        p.workers.add(s.worker)
        if s.final:
            self.done.add(s.worker)
        self._flush(final=False)

    def finish(self) -> None:
        """Close every pending tick (workers that died never report theirs)."""
        self._flush(final=True)

    def _flush(self, final: bool) -> None:
        for k in sorted(self._pending):
            p = self._pending[k]
            complete = len(p.workers | self.done) >= self.workers
            if not (complete or final):
                break
            del self._pending[k]
            start = k * self.tick
            span = max(p.t_end - start, 1e-9)
            if self.points and start < self.points[-1].t + self.points[-1].span - 1e-9:
                # a final partial window of one worker overlapping another's tick: fold in
                prev = self.points[-1]
                merged = _merge_points(prev, p, start)
                self.points[-1] = merged
                self.last = merged
                continue
            pt = SeriesPoint(
                t=start, requests=p.requests, errors=p.errors,
                p50=p.lat.quantile(0.5) / 1e9, p99=p.lat.quantile(0.99) / 1e9,
                inflight=p.inflight, dropped=p.dropped, span=span,
                quantiles=tuple(p.lat.quantile(q) / 1e9 for q in TICK_QUANTILES)
                if p.lat.n else (),
            )
            self.points.append(pt)
            self.last = pt

    @property
    def requests(self) -> int:
        return self.count

    def stalls(self) -> list[tuple[float, float]]:
        """Windows (start, length in s) in which no worker completed anything while work
        was in flight: the intersection of every worker's gaps."""
        if not self.gaps or len(self.gaps) < self.workers:
            return []
        acc: list[tuple[float, float]] | None = None
        for gaps in self.gaps.values():
            iv = sorted((a, a + n) for a, n in gaps)
            if acc is None:
                acc = iv
                continue
            out = []
            for a0, a1 in acc:
                for b0, b1 in iv:
                    lo, hi = max(a0, b0), min(a1, b1)
                    if hi > lo:
                        out.append((lo, hi))
            acc = out
        return [(a, b - a) for a, b in (acc or [])]


def _merge_points(prev: SeriesPoint, p: _Pending, start: float) -> SeriesPoint:
    span = max(prev.span, p.t_end - prev.t)
    return SeriesPoint(
        t=prev.t, requests=prev.requests + p.requests, errors=prev.errors + p.errors,
        p50=prev.p50 if p.lat.n == 0 else max(prev.p50, p.lat.quantile(0.5) / 1e9),
        p99=prev.p99 if p.lat.n == 0 else max(prev.p99, p.lat.quantile(0.99) / 1e9),
        inflight=prev.inflight + p.inflight, dropped=prev.dropped + p.dropped, span=span,
    )
