"""The coordinator: starts the workers, gives them one start instant, merges their snapshots,
samples memory, reports live progress, and survives workers that fail or a Ctrl-C.

Workers are threads of this process (``processes=1``) or spawned processes, each with its
own event loop; both talk through the same messages (see :mod:`._engine`). Another
backend (:mod:`._dask`: Dask workers on other hosts) is a :class:`Starter`: another way to
start workers and carry those messages, sharing the merging and aggregation here.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from perfgate._importer import main_not_rerun, pickles_main
from perfgate.faults._schedule import Phase, PhaseDriver, PhaseRecord, windows
from perfgate.load._engine import WorkerPlan, process_main, run_worker
from perfgate.load._executors import Closed, Executor, Open
from perfgate.load._histogram import LogHistogram
from perfgate.load._recorder import Aggregator, Snapshot
from perfgate.load._soak import RssSampler
from perfgate.load._targets import Target

__all__ = ["LiveStats", "RunOutcome", "WorkerLive", "coordinate"]

_READY_TIMEOUT_S = 120.0
_START_DELAY_NS = 20_000_000


@dataclass(frozen=True)
class WorkerLive:
    """One worker's run so far, as live exporters need it (cumulative, so a scrape that
    misses ticks loses nothing). Replaced, never mutated: a reader on another thread (a
    Prometheus scrape) always sees one consistent state."""

    index: int
    requests: int = 0
    errors: Mapping[str, int] = field(default_factory=dict)  # by outcome class
    dropped: int = 0
    inflight: int = 0  # at the end of the last tick
    vus: int = 0
    cpu_seconds: float = 0.0
    loop_lag: float = 0.0  # max event-loop lag (s) in the last tick
    latency: LogHistogram = field(default_factory=LogHistogram.empty)

    def advanced(self, s: Snapshot) -> WorkerLive:
        lat = self.latency.copy()
        lat.merge(s.lat)
        errors = dict(self.errors)
        for cls, n in s.tally.errors.items():
            errors[cls] = errors.get(cls, 0) + n
        return WorkerLive(
            index=self.index, requests=self.requests + s.count, errors=errors,
            dropped=self.dropped + s.dropped, inflight=s.inflight, vus=s.vus,
            cpu_seconds=self.cpu_seconds + s.cpu, loop_lag=s.lag_max, latency=lat,
        )


@dataclass(frozen=True)
class LiveStats:
    """What a progress callback is told once per tick (and once more, ``final``, when every
    worker's last numbers are in: the totals then equal the Result's exactly)."""

    elapsed: float
    fraction: float | None  # of the planned duration; None for an iterations budget
    rps: float
    errors: int  # in the last tick
    p99: float  # s, last tick
    requests: int  # whole run so far
    total_errors: int
    inflight: int
    workers: tuple[WorkerLive, ...] = ()  # per worker, cumulative: for live exporters
    rss: float = 0.0  # B, the generator's processes, last sample
    final: bool = False


@dataclass
class RunOutcome:
    agg: Aggregator
    sampler: RssSampler
    failures: list[str] = field(default_factory=list)
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)  # from a starter: a saturated host…
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the Result's extra
    processes: int = 1
    phases: list[PhaseRecord] = field(default_factory=list)  # a fault schedule's record


class _Worker:
    def __init__(self, plan: WorkerPlan, inbox: queue.Queue[Any], in_process: bool) -> None:
        self.plan = plan
        self.proc: Any = None
        self.pid: int | None = os.getpid()
        if in_process:
            self.to_worker: queue.Queue[Any] = queue.Queue()
            self.thread = threading.Thread(
                target=run_worker, args=(plan, inbox.put, self.to_worker.get),
                name=f"perfgate-worker-{plan.index}", daemon=True,
            )
            self.thread.start()
        else:
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            self.conn = parent
            self.proc = ctx.Process(target=process_main, args=(plan, child), daemon=True,
                                    name=f"perfgate-worker-{plan.index}")
            with main_not_rerun(pickles_main(plan)):
                self.proc.start()
            child.close()
            self.pid = self.proc.pid
            threading.Thread(target=self._pump, args=(inbox,), daemon=True).start()

    def _pump(self, inbox: queue.Queue[Any]) -> None:
        while True:
            try:
                inbox.put(self.conn.recv())
            except (EOFError, OSError):
                inbox.put(("gone", self.plan.index))
                return

    def tell(self, msg: Any) -> None:
        try:
            if self.proc is None:
                self.to_worker.put(msg)
            else:
                self.conn.send(msg)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        if self.proc is not None:
            self.proc.join(timeout=2)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(timeout=2)
            self.conn.close()


class WorkerHandle(Protocol):
    """The coordinator's end of one started worker."""

    pid: int | None  # a process of this machine whose memory is sampled (None: remote)

    def tell(self, msg: Any) -> None: ...

    def close(self) -> None: ...


class Starter(Protocol):
    """Starts workers elsewhere. Their messages (and ``("gone", index, why)`` for a worker
    lost on the way) go to ``inbox``; ``finish`` adds what it knows to the outcome."""

    start_delay_ns: int  # from the ``start`` message to the common start instant

    def start(self, plans: list[WorkerPlan], inbox: queue.Queue[Any]) -> list[WorkerHandle]:
        ...

    def finish(self, out: RunOutcome) -> None: ...


def split(executor: Executor, processes: int) -> list[Executor]:
    if isinstance(executor, Closed):
        parts = [executor.split(processes, i) for i in range(processes)]
        return [p for p in parts if p.peak_vus > 0] or [executor]
    assert isinstance(executor, Open)
    return [executor.split(processes, i) for i in range(processes)]


def coordinate(
    target: Target,
    executor: Executor,
    *,
    processes: int = 1,
    tick: float = 1.0,
    grace: float = 2.0,
    target_pid: int | None = None,
    starter: Starter | None = None,  # where workers run (default: this machine's)
    progress: Callable[[LiveStats], None] | None = None,
    co_correct: bool = False,
    phases: Sequence[Phase] | None = None,
) -> RunOutcome:
    """Run the load to its end (or Ctrl-C: ``interrupted`` set, nothing measured lost).

    ``phases``: a fault schedule (:mod:`perfgate.faults`); its faults are entered and left
    on the run's clock and every tick is also merged into its phase's totals."""
    shares = split(executor, max(1, processes))
    inbox: queue.Queue[Any] = queue.Queue()
    in_process = len(shares) == 1
    plans = [WorkerPlan(i, target, ex, tick, grace, co_correct) for i, ex in enumerate(shares)]
    workers: list[WorkerHandle] = (
        [_Worker(p, inbox, in_process) for p in plans] if starter is None
        else starter.start(plans, inbox))
    start_delay = _START_DELAY_NS if starter is None else starter.start_delay_ns
    pids = sorted({os.getpid(), *(w.pid for w in workers if w.pid is not None)})
    agg = Aggregator(len(workers), tick)
    sampler = RssSampler(pids, target_pid)
    out = RunOutcome(agg, sampler, processes=len(workers))
    driver = PhaseDriver(phases) if phases else None
    if driver is not None:
        agg.set_phases(windows(driver.phases))
    total = executor.total_duration
    finished: set[int] = set()
    # per-worker cumulative numbers, kept only for a live listener (one histogram copy per
    # snapshot, off the workers' hot path)
    per: dict[int, WorkerLive] | None = {} if progress is not None else None

    def handle(msg: Any) -> Snapshot | None:
        kind = msg[0]
        if kind in ("tick", "final"):
            snap: Snapshot = msg[1]
            agg.add(snap)
            if per is not None:
                per[snap.worker] = per.get(snap.worker, WorkerLive(snap.worker)).advanced(snap)
            if kind == "final":
                finished.add(snap.worker)
            return snap
        if kind == "error":
            out.failures.append(f"worker {msg[1]}: {msg[2].strip().splitlines()[0]}")
            finished.add(msg[1])
            agg.done.add(msg[1])
        elif kind == "gone" and msg[1] not in finished:
            why = msg[2] if len(msg) > 2 else "process exited without its results"
            out.failures.append(f"worker {msg[1]}: {why}")
            finished.add(msg[1])
            agg.done.add(msg[1])
        return None

    try:
        ready: set[int] = set()
        limit = time.monotonic() + _READY_TIMEOUT_S
        while len(ready | finished) < len(workers):
            try:
                msg = inbox.get(timeout=max(0.01, limit - time.monotonic()))
            except queue.Empty:
                out.failures.append("workers did not become ready in time")
                break
            if msg[0] == "ready":
                ready.add(msg[1])
            else:
                handle(msg)
        t0 = time.perf_counter_ns() + start_delay
        for w in workers:
            w.tell(("start", t0))
        if driver is not None:
            driver.start(t0)
        hard_end = None if total is None else t0 + int((total + grace + 15) * 1e9)
        while len(finished) < len(workers):
            try:
                msg = inbox.get(timeout=0.05)
            except queue.Empty:
                msg = None
            now = time.perf_counter_ns()
            sampler.maybe_sample(max(0.0, (now - t0) / 1e9))
            if msg is not None:
                snap = handle(msg)
                if snap is not None and progress is not None and agg.last is not None:
                    progress(_live(agg, total, per, sampler))
            if hard_end is not None and now > hard_end:
                out.failures.append("workers did not finish in time; their last tick is lost")
                break
    except KeyboardInterrupt:
        out.interrupted = True
        for w in workers:
            w.tell(("stop",))
        end = time.monotonic() + 5
        while len(finished) < len(workers) and time.monotonic() < end:
            with contextlib.suppress(queue.Empty):
                handle(inbox.get(timeout=0.1))
    finally:
        if driver is not None:  # faults off first: nothing is left broken behind the run
            driver.stop()
            out.phases = driver.records
            out.failures.extend(driver.failures)
        for w in workers:
            w.tell(("stop",))
        for w in workers:
            w.close()
        if starter is not None:  # its per-worker report (agg.elapsed is final by now)
            starter.finish(out)
        agg.finish()
    if progress is not None and not out.interrupted:
        try:  # every snapshot merged: the totals a Result will report
            progress(_live(agg, total, per, sampler, final=True))
        except KeyboardInterrupt:  # Ctrl-C (or a callback's stop) at the last tick
            out.interrupted = True
    return out


def _live(agg: Aggregator, total: float | None, per: dict[int, WorkerLive] | None,
          sampler: RssSampler, *, final: bool = False) -> LiveStats:
    p = agg.last
    elapsed = p.t + p.span if p is not None and not final else agg.elapsed
    return LiveStats(
        elapsed=elapsed, fraction=min(1.0, elapsed / total) if total else None,
        rps=p.rps if p is not None else 0.0, errors=p.errors if p is not None else 0,
        p99=p.p99 if p is not None else math.nan, requests=agg.requests,
        total_errors=agg.tally.total, inflight=p.inflight if p is not None else 0,
        workers=tuple(per[k] for k in sorted(per)) if per else (),
        rss=sampler.generator[-1] if sampler.generator else 0.0, final=final,
    )
