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


def _z(p: float) -> float:
    """The standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
         3.754408661907416e00)
    if p < 0.02425:
        r = math.sqrt(-2 * math.log(p))
        return (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1)
    if p > 1 - 0.02425:
        return -_z(1 - p)
    r = p - 0.5
    t = r * r
    return (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * r / (
        ((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1)


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
    alpha = 1.0 - conf
    if n * q * (1 - q) >= 5:
        # Normal approximation to the binomial: exact enough here, and it keeps scipy.stats
        # (~0.3 s to import) out of the benchmark loop's stopping rule and of worker processes.
        z = _z(1 - alpha / 2)
        half = z * math.sqrt(n * q * (1 - q))
        lo_rank = max(0, math.floor(n * q - half) - 1)
        hi_rank = min(n - 1, math.ceil(n * q + half))
    else:
        from scipy import stats as _st

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
    samples: Sequence[float] | FloatArray,
    unit: str = "s",
    keep_samples: bool = True,
    ci: tuple[float, float] | None = None,
) -> Metric:
    """A distribution :class:`Metric` with every summary field and the median's 95 % CI
    (``ci`` when the caller has a better one, e.g. across processes)."""
    a = _arr(samples)
    if a.size == 0:
        return Metric(unit=unit, kind="distribution", n=0)
    p = np.quantile(a, [0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
    lo, hi = ci if ci is not None else median_ci(a)
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
