"""The HDR-style histogram: bounded relative error, exact merge, fixed memory."""

from __future__ import annotations

import numpy as np
import pytest

from perfgate.load._histogram import HALF, MAX_VALUE, N_BUCKETS, LogHistogram, bucket_index


def test_small_values_have_a_bucket_each() -> None:
    v = np.arange(0, 2 * HALF, dtype=np.int64)
    assert (bucket_index(v) == v).all()


def test_relative_error_is_bounded() -> None:
    rng = np.random.default_rng(1)
    v = rng.integers(1, 10**12, size=200_000, dtype=np.int64)
    h = LogHistogram.of(v)
    for q in (0.01, 0.25, 0.5, 0.9, 0.99, 0.999):
        exact = float(np.sort(v)[int(np.ceil(q * v.size)) - 1])
        assert abs(h.quantile(q) - exact) / exact < 1 / HALF


def test_quantiles_of_a_lognormal_sample_match_numpy() -> None:
    rng = np.random.default_rng(2)
    v = (rng.lognormal(mean=13, sigma=1.0, size=50_000)).astype(np.int64)
    h = LogHistogram.of(v)
    for q in (0.5, 0.9, 0.99):
        assert h.quantile(q) == pytest.approx(np.quantile(v, q), rel=0.01)
    assert h.n == v.size
    assert h.vmin == v.min() and h.vmax == v.max()
    assert h.mean == pytest.approx(v.mean())
    assert h.stdev == pytest.approx(v.std(ddof=1), rel=1e-6)


def test_merge_is_exact() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 10**9, size=10_000, dtype=np.int64)
    b = rng.integers(10**6, 10**11, size=7_000, dtype=np.int64)
    whole = LogHistogram.of(np.concatenate([a, b]))
    merged = LogHistogram.of(a)
    merged.merge(LogHistogram.of(b))
    assert (merged.counts == whole.counts).all()
    assert (merged.n, merged.vmin, merged.vmax) == (whole.n, whole.vmin, whole.vmax)
    assert merged.total == whole.total
    for q in (0.1, 0.5, 0.99):
        assert merged.quantile(q) == whole.quantile(q)


def test_sparse_round_trip() -> None:
    h = LogHistogram.of([5, 500, 5_000_000, 5_000_000])
    back = LogHistogram.from_sparse(h.to_sparse())
    assert (back.counts == h.counts).all() and back.n == 4 and back.vmax == 5_000_000
    with pytest.raises(ValueError, match="scheme"):
        LogHistogram.from_sparse({**h.to_sparse(), "scheme": "other"})


def test_memory_is_fixed_whatever_the_count() -> None:
    h = LogHistogram.empty()
    size = h.counts.nbytes
    rng = np.random.default_rng(4)
    for _ in range(20):
        h.record(rng.integers(0, MAX_VALUE * 2, size=100_000, dtype=np.int64))
    assert h.counts.nbytes == size == N_BUCKETS * 8
    assert h.n == 2_000_000
    assert h.vmax <= MAX_VALUE * 2  # exact max kept; the bucket is clipped


def test_quantile_ci_covers_the_truth() -> None:
    rng = np.random.default_rng(5)
    v = rng.exponential(1e6, size=5_000).astype(np.int64)
    h = LogHistogram.of(v)
    lo, hi = h.quantile_ci(0.99) or (0, 0)
    assert lo <= 1e6 * np.log(100) <= hi
    assert lo <= h.quantile(0.99) <= hi
    assert LogHistogram.of([1, 2, 3]).quantile_ci(0.5) is None


def test_empty_histogram() -> None:
    h = LogHistogram.empty()
    assert np.isnan(h.quantile(0.5)) and h.n == 0
    h.record([])
    assert h.n == 0
