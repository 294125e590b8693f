"""Soak: resident memory of the generator (and of a target process) sampled over the run,
and the leak verdict's number — the slope of RSS after warm-up, with its 95 % CI.

Samples are thinned (every other one dropped, the interval doubled) when the buffer fills,
so a day-long soak holds as few as a minute-long one. The slope is an ordinary least-squares
fit of RSS against time after ``warmup``; its CI is Student's t on the slope's standard
error. Consecutive RSS samples are correlated (allocators grow in steps), so the interval
is a lower bound on the uncertainty: a leak verdict near the limit deserves a longer soak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psutil

__all__ = ["Growth", "RssSampler", "growth"]


def _stats() -> Any:
    """scipy.stats, imported when first needed (``import perfgate`` stays light)."""
    from scipy import stats

    return stats

_MAX_SAMPLES = 2048


@dataclass(frozen=True)
class Growth:
    slope: float  # B/s
    ci_low: float | None
    ci_high: float | None
    n: int
    warmup: float


def growth(t: list[float], rss: list[float], warmup: float) -> Growth | None:
    """Least-squares slope of ``rss`` (B) over ``t`` (s) after ``warmup`` seconds."""
    ta = np.asarray(t, dtype=np.float64)
    ra = np.asarray(rss, dtype=np.float64)
    keep = ta >= warmup
    ta, ra = ta[keep], ra[keep]
    if ta.size < 3 or float(np.ptp(ta)) <= 0:
        return None
    fit = _stats().linregress(ta, ra)
    slope = float(fit.slope)
    se = float(fit.stderr)
    if not math.isfinite(se):
        return Growth(slope, None, None, int(ta.size), warmup)
    half = float(_stats().t.ppf(0.975, ta.size - 2)) * se
    return Growth(slope, slope - half, slope + half, int(ta.size), warmup)


@dataclass
class RssSampler:
    """Samples RSS of the generator's processes and, optionally, of a target PID."""

    pids: list[int]
    target_pid: int | None = None
    interval: float = 0.1
    t: list[float] = field(default_factory=list)
    generator: list[float] = field(default_factory=list)
    target: list[float] = field(default_factory=list)
    target_error: str | None = None
    _next: float = 0.0
    _procs: dict[int, psutil.Process] = field(default_factory=dict)

    def _rss(self, pid: int) -> float | None:
        try:
            p = self._procs.get(pid)
            if p is None:
                p = self._procs[pid] = psutil.Process(pid)
            return float(p.memory_info().rss)
        except (psutil.Error, OSError):
            return None

    def maybe_sample(self, t: float) -> None:
        """Sample if the interval has passed (``t``: seconds since the start)."""
        if t < self._next:
            return
        self._next = t + self.interval
        gen = sum(v for v in (self._rss(p) for p in self.pids) if v is not None)
        tgt: float | None = None
        if self.target_pid is not None:
            tgt = self._rss(self.target_pid)
            if tgt is None and self.target_error is None:
                self.target_error = f"target process {self.target_pid} could not be read " \
                    f"(gone?) at {t:.1f} s"
            if tgt is None:
                return
            self.target.append(tgt)
        self.t.append(t)
        self.generator.append(gen)
        if len(self.t) >= _MAX_SAMPLES:
            self.t, self.generator = self.t[::2], self.generator[::2]
            if self.target:
                self.target = self.target[::2]
            self.interval = max(self.interval * 2, (self.t[-1] - self.t[0]) / len(self.t))

    def watched(self) -> list[float]:
        """The series the leak verdict is about: the target's if a PID was given."""
        return self.target if self.target_pid is not None else self.generator
