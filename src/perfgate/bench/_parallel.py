"""Sequential vs parallel: the same operation on 1 and on k threads or processes.

Throughput is measured in alternating trials (sequential, parallel, sequential, …) so slow
drifts of the machine hit both sides alike; speedup = parallel ops/s ÷ sequential ops/s,
efficiency = speedup ÷ k.

The interval respects the bound ``speedup ≤ k`` by construction, not by clipping. Each trial
is a pair (one sequential run, k workers at once) and gives one speedup: the k workers'
summed rate — each counted over the span in which all k ran (:func:`overlap_rates`) —
divided by *the rate of one uncontended worker*. That rate is estimated as the
larger of the sequential run and the fastest of the k workers: a worker among k contenders
is never faster than one alone, so when a contended worker outruns the sequential run, the
sequential run was the disturbed one and the faster rate is the better estimate. The sum of
k rates each at most that reference is at most k. The estimate is the geometric mean of the
trials' speedups; its 95 % CI a percentile bootstrap over trials (resampling whole trials,
the independent unit), so every bootstrap value, and both ends of the interval, are ≤ k.
(The former ratio of medians of the two sides, bootstrapped apart, put 5.59 inside the CI
for 2 workers: resampling each side alone breaks the pairing and lets a slow sequential
trial meet a fast parallel one.)

Process workers: a function of a suite file is sent as (file, name) and the worker imports
the file itself (its synthetic module name does not exist in a fresh interpreter). Each
worker says "ready" before every trial's barrier; the parent polls for those messages and
the results while checking that every worker is alive, so one that dies (a failed import,
a SIGKILL, ``os._exit``) is reported within a fraction of a second instead of waited for.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from perfgate._errors import TargetError, UsageError
from perfgate._importer import main_not_rerun, pickles_main, ref_of, resolve
from perfgate.model import Metric, Result

__all__ = ["overlap_rates", "own_rate", "parallel", "speedup_ci", "trial_speedup"]

_SEED = 20261129


Track = list[tuple[float, int]]  # (perf_counter, calls so far), from (start, 0)


def _spin(fn: Callable[[], Any], duration: float) -> Track:
    """Call fn for ~duration seconds; the clock and the count after every batch. The
    clock is ``perf_counter``, one system-wide monotonic clock, so the tracks of threads and
    of worker processes line up."""
    count = 0
    batch = 1
    t0 = time.perf_counter()
    track: Track = [(t0, 0)]
    end = t0 + duration
    while True:
        for _ in range(batch):
            fn()
        count += batch
        now = time.perf_counter()
        track.append((now, count))
        if now >= end:
            return track
        batch = min(batch * 2, 1024)


def own_rate(track: Track) -> float:
    """Calls per second over the track's own span."""
    (t0, _), (t1, n) = track[0], track[-1]
    return n / (t1 - t0) if t1 > t0 else 0.0


def overlap_rates(tracks: Sequence[Track]) -> list[float]:
    """Each worker's calls per second while *all* of them ran (interpolated between
    batches). A worker's own span would not do: the k starts are staggered (a thread waits
    a GIL switch, 5 ms, to leave the barrier), so each runs part of its span alone, and for
    GIL-bound work the summed own rates read 1.2× one thread at 30 ms trials. Workers that
    never all ran at once fall back to their own spans."""
    start = max(t[0][0] for t in tracks)
    end = min(t[-1][0] for t in tracks)
    if end <= start:
        return [own_rate(t) for t in tracks]
    out = []
    for t in tracks:
        ts, ns = np.asarray(t, dtype=np.float64).T
        out.append(float(np.interp(end, ts, ns) - np.interp(start, ts, ns)) / (end - start))
    return out


def _proc_worker(
    fn: Any, duration: float, trials: int, barrier: Any, out: Any
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    try:
        fn = resolve(fn)  # a suite file's function: the file is imported here too
        fn()  # warm the fresh interpreter before the first barrier
        for _ in range(trials):
            out.put("ready")
            barrier.wait()  # the parent joins this barrier: every trial starts together
            out.put(_spin(fn, duration))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        out.put(f"error: {type(exc).__name__}: {exc}")


def _threads(fn: Callable[[], Any], k: int, duration: float) -> list[float]:
    barrier = threading.Barrier(k)
    results: list[Track] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            r = _spin(fn, duration)
        except BaseException as exc:  # noqa: BLE001 - the target's failure is recorded, not raised
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(r)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise TargetError(f"parallel worker raised {type(errors[0]).__name__}: {errors[0]}")
    return overlap_rates(results)


class _ProcessPool:
    """k worker processes started once (spawning is slow) and reused for every trial."""

    def __init__(self, fn: Callable[[], Any], k: int, duration: float, trials: int) -> None:
        ctx = mp.get_context("spawn")
        self.k, self.duration = k, duration
        self.ready = 0  # workers that said "ready" for the next trial
        self.barrier = ctx.Barrier(k + 1)
        self.out = ctx.Queue()
        target: Any = ref_of(fn) or fn
        self.procs = [
            ctx.Process(target=_proc_worker,
                        args=(target, duration, trials, self.barrier, self.out))
            for _ in range(k)
        ]
        with main_not_rerun(pickles_main(target)):
            for p in self.procs:
                p.start()

    def _next(self, limit: float) -> Any:
        """The next message of any worker; a dead worker or ``limit`` s of silence is a
        TargetError (polled: a death is noticed within _POLL s)."""
        from perfgate.bench._isolated import _POLL, death

        end = time.monotonic() + limit
        while True:
            try:
                item = self.out.get(timeout=_POLL)
            except queue.Empty:
                item = None
            if isinstance(item, str) and item.startswith("error: "):
                raise TargetError(f"parallel worker raised {item[7:]}")
            if item is not None:
                return item
            dead = [p for p in self.procs if not p.is_alive()]
            if dead:
                raise TargetError(f"parallel: a worker process died ({death(dead[0].exitcode)})")
            if time.monotonic() > end:
                raise TargetError(f"parallel: no word from the workers in {limit:g} s")

    def trial(self) -> list[float]:
        while self.ready < self.k:  # generous: a cold interpreter imports numpy
            if self._next(120) != "ready":
                raise TargetError("parallel: a worker process is out of step")
            self.ready += 1
        self.ready = 0
        try:
            self.barrier.wait(timeout=30)  # every worker is at the barrier or about to be
        except threading.BrokenBarrierError:
            raise TargetError("parallel: a worker process did not reach the barrier") from None
        got: list[Track] = []
        while len(got) < self.k:
            item = self._next(self.duration + 60)
            if item == "ready":  # a fast worker already waits for the next trial
                self.ready += 1
            else:
                got.append(item)
        return overlap_rates(got)

    def close(self) -> None:
        self.barrier.abort()
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.terminate()


def trial_speedup(sequential: float, worker_rates: Sequence[float]) -> float:
    """One trial's speedup, ≤ len(worker_rates): summed rate over one uncontended worker's."""
    alone = max(sequential, *worker_rates)
    return sum(worker_rates) / alone if alone > 0 else 0.0


def speedup_ci(per_trial: Sequence[float], conf: float = 0.95, draws: int = 2000
               ) -> tuple[float, float, float]:
    """Geometric mean of the trials' speedups and its percentile-bootstrap CI over trials."""
    x = np.log(np.maximum(np.asarray(per_trial, dtype=np.float64), 1e-300))
    est = float(np.exp(x.mean()))
    if x.size < 2:
        return est, est, est
    rng = np.random.default_rng(_SEED)
    means = x[rng.integers(0, x.size, (draws, x.size))].mean(axis=1)
    a = (1 - conf) / 2
    lo, hi = np.exp(np.quantile(means, [a, 1 - a]))
    return est, float(lo), float(hi)


def parallel(
    fn: Callable[[], Any],
    workers: int = 2,
    *,
    mode: Literal["thread", "process"] = "thread",
    duration: float = 0.2,
    trials: int = 5,
    name: str | None = None,
) -> Result:
    """Compare fn's throughput on one worker and on ``workers`` threads or processes.

    For ``mode="process"`` fn must be picklable (a module-level function).
    """
    if workers < 1 or trials < 1 or duration <= 0:
        raise UsageError("parallel: need workers ≥ 1, trials ≥ 1, duration > 0")
    if mode not in ("thread", "process"):
        raise UsageError(f"parallel: mode must be 'thread' or 'process', not {mode!r}")
    label = name or getattr(fn, "__qualname__", None) or repr(fn)
    seq: list[float] = []
    par: list[float] = []
    per_trial: list[float] = []
    try:
        fn()
    except Exception as exc:
        raise TargetError(f"{label}: {type(exc).__name__}: {exc}") from exc
    pool = _ProcessPool(fn, workers, duration, trials) if mode == "process" else None
    try:
        for _ in range(trials):
            seq.append(own_rate(_spin(fn, duration)))
            rates = pool.trial() if pool else _threads(fn, workers, duration)
            par.append(sum(rates))
            per_trial.append(trial_speedup(seq[-1], rates))
    finally:
        if pool is not None:
            pool.close()
    speedup, lo, hi = speedup_ci(per_trial)
    metrics = {
        "ops.sequential": Metric.gauge(float(np.median(seq)), "1/s", trials=seq),
        "ops.parallel": Metric.gauge(float(np.median(par)), "1/s", trials=par),
        "speedup": Metric.gauge(speedup, "1", (lo, hi)),
        "efficiency": Metric.gauge(speedup / workers, "1", (lo / workers, hi / workers)),
    }
    return Result(
        name=label, kind="bench",
        params={"workers": workers, "mode": mode, "trials": trials, "duration": duration},
        extra={"speedup_per_trial": per_trial},
        metrics=metrics,
    )

