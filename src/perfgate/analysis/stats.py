"""Summary statistics with the uncertainty attached.

Confidence intervals:
- median: percentile bootstrap (2,000 resamples, fixed seed so a result is reproducible) up
  to ``BOOTSTRAP_MAX_N`` samples; above that, the distribution-free order-statistic interval,
  which the bootstrap converges to and which costs nothing.
- other quantiles: the distribution-free order-statistic (binomial) interval.
- mean: Student's t interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from perfgate.model import Metric

__all__ = [
    "BOOTSTRAP_MAX_N",
    "count_outliers",
    "mean_ci",
    "median_ci",
    "quantile_ci",
    "ratio_ci",
    "summarize",
]

BOOTSTRAP_MAX_N = 2000
_N_BOOT = 2000
_SEED = 20261122

FloatArray = NDArray[np.float64]


def _arr(samples: Sequence[float] | FloatArray) -> FloatArray:
    a = np.asarray(samples, dtype=np.float64)
    return a[np.isfinite(a)]


def quantile_ci(
    samples: Sequence[float] | FloatArray, q: float, conf: float = 0.95
) -> tuple[float, float]:
    """Distribution-free CI for the q-quantile from order statistics (binomial)."""
    a = np.sort(_arr(samples))
    n = a.size
    if n == 0:
        return math.nan, math.nan
    if n == 1:
        return float(a[0]), float(a[0])
    from scipy import stats as _st  # lazy: scipy.stats costs ~0.3 s to import

    alpha = 1.0 - conf
    lo_rank = int(_st.binom.ppf(alpha / 2, n, q))  # 0-based index of lower bound
    hi_rank = int(_st.binom.ppf(1 - alpha / 2, n, q))
    lo_rank = max(0, min(n - 1, lo_rank - 1 if lo_rank > 0 else 0))
    hi_rank = max(0, min(n - 1, hi_rank))
    return float(a[lo_rank]), float(a[hi_rank])


def median_ci(samples: Sequence[float] | FloatArray, conf: float = 0.95) -> tuple[float, float]:
    """95 % CI of the median: bootstrap for n ≤ BOOTSTRAP_MAX_N, order statistics above."""
    a = _arr(samples)
    n = a.size
    if n == 0:
        return math.nan, math.nan
    if n == 1:
        return float(a[0]), float(a[0])
    if n > BOOTSTRAP_MAX_N:
        return quantile_ci(a, 0.5, conf)
    rng = np.random.default_rng(_SEED)
    # Chunk the resamples to bound memory at ~8 MB whatever n is.
    chunk = max(1, min(_N_BOOT, 1_000_000 // n))
    meds: list[FloatArray] = []
    done = 0
    while done < _N_BOOT:
        k = min(chunk, _N_BOOT - done)
        idx = rng.integers(0, n, size=(k, n))
        meds.append(np.median(a[idx], axis=1))
        done += k
    m = np.concatenate(meds)
    alpha = (1.0 - conf) / 2
    return float(np.quantile(m, alpha)), float(np.quantile(m, 1 - alpha))


def mean_ci(samples: Sequence[float] | FloatArray, conf: float = 0.95) -> tuple[float, float]:
    a = _arr(samples)
    n = a.size
    if n == 0:
        return math.nan, math.nan
    mean = float(a.mean())
    if n == 1:
        return mean, mean
    from scipy import stats as _st

    half = float(_st.t.ppf(0.5 + conf / 2, n - 1)) * float(a.std(ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def count_outliers(samples: Sequence[float] | FloatArray) -> int:
    """Samples outside Tukey's fences (1.5 IQR beyond the quartiles)."""
    a = _arr(samples)
    if a.size < 4:
        return 0
    q1, med, q3 = np.quantile(a, [0.25, 0.5, 0.75])
    # A floor on the fence width: identical samples differing by float rounding are not
    # outliers of one another.
    reach = max(1.5 * (q3 - q1), 1e-9 * abs(med))
    return int(np.count_nonzero((a < q1 - reach) | (a > q3 + reach)))


def summarize(
    samples: Sequence[float] | FloatArray, unit: str = "s", keep_samples: bool = True
) -> Metric:
    """A distribution :class:`Metric` with every summary field and the median's 95 % CI."""
    a = _arr(samples)
    if a.size == 0:
        return Metric(unit=unit, kind="distribution", n=0)
    p = np.quantile(a, [0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
    lo, hi = median_ci(a)
    return Metric(
        unit=unit,
        kind="distribution",
        n=int(a.size),
        min=float(a.min()),
        max=float(a.max()),
        mean=float(a.mean()),
        median=float(p[1]),
        stdev=float(a.std(ddof=1)) if a.size > 1 else 0.0,
        iqr=float(p[2] - p[0]),
        p50=float(p[1]),
        p90=float(p[3]),
        p95=float(p[4]),
        p99=float(p[5]),
        ci_low=lo,
        ci_high=hi,
        outliers=count_outliers(a),
        samples=tuple(float(x) for x in a) if keep_samples else None,
    )


def ratio_ci(
    num: Sequence[float] | FloatArray,
    den: Sequence[float] | FloatArray,
    conf: float = 0.95,
) -> tuple[float, float, float]:
    """Ratio of medians num/den with a bootstrap 95 % CI: (ratio, low, high)."""
    a, b = _arr(num), _arr(den)
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan, math.nan
    ratio = float(np.median(a) / np.median(b))
    rng = np.random.default_rng(_SEED)
    ra = np.median(a[rng.integers(0, a.size, size=(_N_BOOT, min(a.size, 500)))], axis=1)
    rb = np.median(b[rng.integers(0, b.size, size=(_N_BOOT, min(b.size, 500)))], axis=1)
    # Resampling min(n, 500) of n keeps memory bounded; for n > 500 this widens the CI
    # slightly (conservative), never narrows it.
    r = ra / rb
    alpha = (1.0 - conf) / 2
    return ratio, float(np.quantile(r, alpha)), float(np.quantile(r, 1 - alpha))
