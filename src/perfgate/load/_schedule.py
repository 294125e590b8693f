"""The arrival schedule of the open model: when each iteration is *intended* to start.

The rate is piecewise linear in time (a constant rate is one flat piece; ``stages`` ramp it).
The k-th arrival is where the cumulative count ``N(t) = ∫ rate`` reaches ``k + phase``, so
the schedule is exact and deterministic — latencies are measured from these instants, never
from when the generator got round to sending (coordinated omission). Computed in numpy
chunks, it costs nothing per arrival at the rates a Python client can send.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from perfgate.load._executors import Open

__all__ = ["arrivals", "segments"]

_CHUNK = 4096


def segments(ex: Open) -> list[tuple[float, float, float, float]]:
    """(start, duration, rate at start, rate at end) for each piece of the rate curve."""
    if not ex.stages:
        assert ex.duration is not None
        return [(0.0, ex.duration, ex.rate, ex.rate)]
    out = []
    t, r = 0.0, ex.rate
    for dur, target in ex.stages:
        out.append((t, dur, r, target))
        t, r = t + dur, target
    return out


def _offsets(m: NDArray[np.float64], dur: float, r0: float, r1: float) -> NDArray[np.float64]:
    """Time into a piece at which its cumulative count reaches ``m`` (vectorised)."""
    if r0 == r1:
        return m / r0
    a = (r1 - r0) / (2 * dur)
    disc = np.maximum(r0 * r0 + 4 * a * m, 0.0)
    den = r0 + np.sqrt(disc)
    out = np.zeros_like(m)
    np.divide(2 * m, den, out=out, where=den > 0)
    return out


def arrivals(ex: Open) -> Iterator[NDArray[np.int64]]:
    """Intended start offsets in nanoseconds from the run's start, in ascending chunks."""
    count = 0.0  # cumulative arrivals at the start of the piece
    for start, dur, r0, r1 in segments(ex):
        n_piece = (r0 + r1) / 2 * dur
        if n_piece <= 0:
            continue
        first = math.ceil(count - ex.phase)
        last = count + n_piece - ex.phase  # arrivals k with k + phase < count + n_piece
        k = first
        while k + ex.phase < count + n_piece:
            hi = min(k + _CHUNK, math.ceil(last))
            ks = np.arange(k, hi, dtype=np.float64)
            ks = ks[ks + ex.phase < count + n_piece]
            if ks.size == 0:
                break
            m = ks + ex.phase - count
            t = start + _offsets(m, dur, r0, r1)
            yield np.minimum(np.round(t * 1e9), (start + dur) * 1e9).astype(np.int64)
            k = int(ks[-1]) + 1
        count += n_piece
