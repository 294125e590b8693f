"""A log-linear (HDR-style) latency histogram on numpy: fixed memory, exact merge.

Values are non-negative integers (nanoseconds). Values below ``2**(SUB_BITS+1)`` get one
bucket each; above, every power-of-two range is split into ``2**SUB_BITS`` equal buckets,
so a bucket's width is at most ``1 / 2**SUB_BITS`` of its lower edge (0.8 % with 7 bits:
two and a half significant digits, like HdrHistogram with ``significant_figures=2``).

The bucket of ``v`` is ``e * HALF + (v >> e)`` with ``e = max(0, bit_length(v) - SUB_BITS - 1)``:
one vectorised expression for a whole batch, then one ``np.bincount``. Two histograms merge
exactly by adding their count arrays; count, sum, min and max are kept exactly beside.
Values above :data:`MAX_VALUE` (about 2.4 hours) land in the last bucket.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAX_VALUE", "SUB_BITS", "LogHistogram"]


def _stats() -> Any:
    """scipy.stats, imported when first needed (``import perfgate`` stays light)."""
    from scipy import stats

    return stats

SUB_BITS = 7
HALF = 1 << SUB_BITS  # buckets per power of two
_TOP_BITS = 43  # 2**43 ns ≈ 2.4 h
MAX_VALUE = (1 << _TOP_BITS) - 1
N_BUCKETS = (_TOP_BITS - SUB_BITS - 1) * HALF + 2 * HALF

IntArray = NDArray[np.int64]


def bucket_index(values: IntArray) -> IntArray:
    """The bucket of each value (values clipped to [0, MAX_VALUE])."""
    v = np.clip(values, 0, MAX_VALUE).astype(np.int64, copy=False)
    _, exp = np.frexp(v.astype(np.float64))  # exp == bit_length(v) for v < 2**53
    e = np.maximum(exp.astype(np.int64) - (SUB_BITS + 1), 0)
    idx: IntArray = e * HALF + (v >> e)
    return idx


def _edges(idx: IntArray) -> tuple[IntArray, IntArray]:
    """[low, high) value range of each bucket index."""
    idx = np.asarray(idx, dtype=np.int64)
    e = np.maximum(idx // HALF - 1, 0)
    low = (idx - e * HALF) << e
    return low, low + (np.int64(1) << e)


@dataclass
class LogHistogram:
    """Counts of nanosecond values in log-linear buckets, plus exact n, sum, min, max."""

    counts: IntArray
    n: int = 0
    total: float = 0.0  # sum of values (float: exact to 2**53 ns of sum per merge step)
    sumsq: float = 0.0
    vmin: int = 0
    vmax: int = 0

    @classmethod
    def empty(cls) -> LogHistogram:
        return cls(np.zeros(N_BUCKETS, dtype=np.int64))

    @classmethod
    def of(cls, values: Sequence[int] | IntArray) -> LogHistogram:
        h = cls.empty()
        h.record(values)
        return h

    # ------------------------------------------------------------------ recording

    def record(self, values: Sequence[int] | IntArray) -> None:
        """Record a batch of values (a list of ints or an int array) in one pass."""
        a = np.asarray(values, dtype=np.int64)
        if a.size == 0:
            return
        a = np.maximum(a, 0)
        self.counts += np.bincount(bucket_index(a), minlength=N_BUCKETS)[:N_BUCKETS]
        lo, hi = int(a.min()), int(a.max())
        af = a.astype(np.float64)
        self.vmin = lo if self.n == 0 else min(self.vmin, lo)
        self.vmax = hi if self.n == 0 else max(self.vmax, hi)
        self.n += int(a.size)
        self.total += float(af.sum())
        self.sumsq += float(np.dot(af, af))

    def merge(self, other: LogHistogram) -> None:
        """Add ``other`` into this histogram (exact: bucket counts add)."""
        if other.n == 0:
            return
        self.counts += other.counts
        self.vmin = other.vmin if self.n == 0 else min(self.vmin, other.vmin)
        self.vmax = other.vmax if self.n == 0 else max(self.vmax, other.vmax)
        self.n += other.n
        self.total += other.total
        self.sumsq += other.sumsq

    def copy(self) -> LogHistogram:
        return LogHistogram(self.counts.copy(), self.n, self.total, self.sumsq,
                            self.vmin, self.vmax)

    # ------------------------------------------------------------------ transport

    def to_sparse(self) -> dict[str, Any]:
        """A compact, JSON- and pickle-friendly form: non-empty buckets only."""
        nz = np.flatnonzero(self.counts)
        return {
            "scheme": f"log2-sub{SUB_BITS}-ns", "n": self.n, "sum": self.total,
            "sumsq": self.sumsq, "min": self.vmin, "max": self.vmax,
            "buckets": [[int(i), int(self.counts[i])] for i in nz],
        }

    @classmethod
    def from_sparse(cls, d: dict[str, Any]) -> LogHistogram:
        if d.get("scheme") != f"log2-sub{SUB_BITS}-ns":
            raise ValueError(f"unknown histogram scheme {d.get('scheme')!r}")
        h = cls.empty()
        for i, c in d["buckets"]:
            h.counts[int(i)] += int(c)
        h.n, h.total, h.sumsq = int(d["n"]), float(d["sum"]), float(d["sumsq"])
        h.vmin, h.vmax = int(d["min"]), int(d["max"])
        return h

    # ------------------------------------------------------------------ reading

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def stdev(self) -> float:
        if self.n < 2:
            return 0.0 if self.n == 1 else math.nan
        var = (self.sumsq - self.total * self.total / self.n) / (self.n - 1)
        return math.sqrt(max(var, 0.0))

    def value_at_rank(self, rank: int) -> float:
        """The value of the ``rank``-th smallest sample (0-based), to bucket precision:
        the bucket's midpoint, clamped to the exact min and max."""
        if self.n == 0:
            return math.nan
        rank = min(max(rank, 0), self.n - 1)
        cum = np.cumsum(self.counts)
        idx = int(np.searchsorted(cum, rank + 1))
        low, high = _edges(np.array([idx]))
        mid = (float(low[0]) + float(high[0]) - 1) / 2
        return min(max(mid, float(self.vmin)), float(self.vmax))

    def _edge_at_rank(self, rank: int, upper: bool, cum: IntArray) -> float:
        rank = min(max(rank, 0), self.n - 1)
        idx = int(np.searchsorted(cum, rank + 1))
        low, high = _edges(np.array([idx]))
        v = float(high[0] - 1) if upper else float(low[0])
        return min(max(v, float(self.vmin)), float(self.vmax))

    def quantile(self, q: float) -> float:
        """The q-quantile (0 ≤ q ≤ 1), nearest-rank, to bucket precision."""
        if self.n == 0:
            return math.nan
        return self.value_at_rank(max(0, math.ceil(q * self.n) - 1))

    def quantiles(self, qs: Iterable[float]) -> list[float]:
        return [self.quantile(q) for q in qs]

    def quantile_ci(self, q: float, conf: float = 0.95) -> tuple[float, float] | None:
        """Distribution-free CI of the q-quantile from order statistics (as
        :func:`perfgate.analysis.stats.quantile_ci` does for raw samples), read off the
        histogram and widened outward to the bucket edges. Assumes independent samples.
        None below 20 samples."""
        if self.n < 20:
            return None
        alpha = 1.0 - conf
        lo_rank = int(_stats().binom.ppf(alpha / 2, self.n, q))
        hi_rank = int(_stats().binom.ppf(1 - alpha / 2, self.n, q))
        cum = np.cumsum(self.counts)
        lo = self._edge_at_rank(max(lo_rank - 1, 0), upper=False, cum=cum)
        hi = self._edge_at_rank(hi_rank, upper=True, cum=cum)
        return lo, hi
