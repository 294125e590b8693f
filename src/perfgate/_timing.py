"""The one timing core: clock, warm-up, calibration, rounds, GC handling and the stop rule.

Every way of timing a callable — the benchmark engine, the gate's worker processes and the
pytest-benchmark ``benchmark`` fixture — goes through this module, so a fix to how perfgate
times code is made once. It uses the standard library only: the gate's workers load this
file by its path (a fresh interpreter starts in tens of milliseconds without numpy), and the
numbers it returns are plain lists.

How a benchmark is timed:

1. **warm-up**: the target runs for ``warmup`` seconds (at least once), so caches, lazy
   imports and the specialising interpreter settle before anything is timed;
2. **calibration**: the calls per round grow until a round lasts ``round_time``, and never
   under 1,000 × the clock's measured resolution;
3. **per call or per round**: when one call lasts at least :data:`PER_CALL_RATIO` × the
   cost of reading the clock twice, each call is timed on its own (the cost is subtracted),
   so percentiles describe calls and a rare stall shows in p99. Shorter calls are timed in
   batches and each sample is a round's mean: their percentiles describe round means, and
   the result says so;
4. **rounds**: the garbage collector is paused inside a round (young garbage is collected
   between rounds) unless asked otherwise; rounds go on until the median's 95 % CI is
   within ``precision`` of it, the ``max_time`` budget is spent, or ``rounds`` is reached.

The clock is a protocol: any zero-argument callable returning seconds. Tests inject a fake
one; sweeps inject the thread's CPU clock.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = [
    "PER_CALL_RATIO",
    "Clock",
    "StopRule",
    "calibrate",
    "clock_cost",
    "gc_paused",
    "median_halfwidth",
    "run_queue_wait",
    "sched_times",
    "timer_resolution",
    "warm_up",
]

Clock = Callable[[], float]

# A call is timed on its own when it lasts at least this many times the cost of two clock
# reads: the reads' own jitter is then a few per cent of a call at worst.
PER_CALL_RATIO = 20.0
_Z95 = 1.959963984540054

_RESOLUTION: dict[int, float] = {}
_COST: dict[int, float] = {}


def timer_resolution(clock: Clock = time.perf_counter) -> float:
    """The smallest non-zero step the clock shows, measured (not the advertised value)."""
    key = id(clock)
    if clock is time.perf_counter and key in _RESOLUTION:
        return _RESOLUTION[key]
    steps = []
    for _ in range(50):
        t0 = clock()
        t1 = clock()
        spins = 0
        # A clock that does not move by itself (a test's fake clock) gives up quickly.
        while t1 == t0 and spins < 10_000:
            t1 = clock()
            spins += 1
        if t1 > t0:
            steps.append(t1 - t0)
    res = float(min(steps)) if steps else 1e-9
    if clock is time.perf_counter:
        _RESOLUTION[key] = res
    return res


def clock_cost(clock: Clock = time.perf_counter) -> float:
    """Seconds that a per-call measurement adds to a call that does nothing: two clock reads
    and the loop around them (the minimum of many tries, so it is the floor, not the noise)."""
    key = id(clock)
    if clock is time.perf_counter and key in _COST:
        return _COST[key]
    best = math.inf
    for _ in range(200):
        t0 = clock()
        t1 = clock()
        best = min(best, t1 - t0)
    cost = max(best, 0.0)
    if clock is time.perf_counter:
        _COST[key] = cost
    return cost


def sched_times() -> tuple[float, float] | None:
    """Seconds this thread has spent on a CPU and runnable but waiting for one (Linux's
    scheduler statistics, ``/proc/thread-self/schedstat``), or None where the kernel does
    not say.

    Wall time only grows while a thread waits for a CPU, so the wait over a timed window
    tells how much other processes held its core — what lets a comparison refuse a verdict
    that a busy machine could have made (a run that shared its core looks steady); and wall
    time minus both is the time the thread was blocked (I/O, sleep)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as f:
            on_cpu, waiting = f.read().split()[:2]
        return int(on_cpu) / 1e9, int(waiting) / 1e9
    except (OSError, ValueError):
        return None


def run_queue_wait() -> float | None:
    """Seconds this thread has waited for a CPU (see :func:`sched_times`), or None."""
    t = sched_times()
    return None if t is None else t[1]


@contextmanager
def gc_paused(pause: bool = True) -> Iterator[None]:
    """The garbage collector off inside the block (when ``pause``); afterwards, young garbage
    is collected if much has piled up, so it is never collected inside a timed round."""
    was = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
    if pause and gc.get_count()[0] > 700:
        gc.collect(0)


def warm_up(call: Callable[[int], object], seconds: float, clock: Clock = time.perf_counter
            ) -> float:
    """Call ``call(1)`` once, then again until ``seconds`` have passed on ``clock``. Returns
    the shortest time one call took when ``call`` returns its elapsed seconds (else nan)."""
    deadline = clock() + seconds
    first = call(1)
    best = first if isinstance(first, float) else math.nan
    while clock() < deadline:
        t = call(1)
        if isinstance(t, float) and not t >= best:
            best = t
    return best


def calibrate(time_batch: Callable[[int], float], target: float, limit: int = 1 << 30) -> int:
    """The smallest number of calls (growing geometrically) whose batch lasts ``target``
    seconds; ``time_batch(n)`` returns the seconds n calls took."""
    n = 1
    while True:
        elapsed = time_batch(n)
        if elapsed >= target or n >= limit:
            return n
        grow = target / elapsed if elapsed > 0 else 10.0
        n = max(n + 1, min(n * 10, math.ceil(n * grow * 1.1)))


def median_halfwidth(samples: list[float]) -> tuple[float, float]:
    """(median, half-width of its distribution-free 95 % CI) — order statistics with the
    normal approximation to the binomial, exact enough for a stopping rule."""
    s = sorted(samples)
    n = len(s)
    if n == 0:
        return math.nan, math.inf
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    half = _Z95 * math.sqrt(n * 0.25)
    lo = s[max(0, math.floor(n / 2 - half) - 1)]
    hi = s[min(n - 1, math.ceil(n / 2 + half))]
    return med, max(med - lo, hi - med)


class StopRule:
    """When to stop taking rounds: a fixed count, or the median precise enough (checked every
    ``check_every`` rounds from ``min_precise`` on), or the budget spent — never before
    ``min_rounds``. (A plain class: ``dataclasses`` would add its import to every gate
    worker's start-up.)"""

    def __init__(self, max_time: float = 1.0, min_rounds: int = 5, max_rounds: int = 100_000,
                 precision: float = 0.005, rounds: int | None = None, check_every: int = 10,
                 min_precise: int = 30) -> None:
        self.max_time = max_time
        self.min_rounds = min_rounds
        self.max_rounds = max_rounds
        self.precision = precision
        self.rounds = rounds
        self.check_every = check_every
        self.min_precise = min_precise
        self._checked = 0

    def fraction(self, count: int, spent: float) -> float:
        """How far along the run is, 0..1, for progress bars."""
        if self.rounds is not None:
            return min(1.0, count / self.rounds)
        return min(1.0, spent / self.max_time) if self.max_time > 0 else 1.0

    def done(self, count: int, spent: float, samples: list[float]) -> bool:
        if self.rounds is not None:
            return count >= self.rounds
        if count < self.min_rounds:
            return False
        if count >= self.max_rounds or spent >= self.max_time:
            return True
        # Each check sorts every sample: with many (per-call timing of short calls) checks
        # grow rarer, so their cost stays a small share of the run.
        gap = self.check_every if len(samples) <= 20_000 else max(self.check_every,
                                                                   self._checked // 2)
        if count >= self.min_precise and count - self._checked >= gap:
            self._checked = count
            med, half = median_halfwidth(samples)
            return med > 0 and half <= self.precision * med
        return False
