"""Big-O classification of a metric measured at several sizes.

Two methods, chosen by the kind of data:

**Exact counts** (queries, ``counter`` metrics — integers that do not jitter) are classified
exactly: the class is the one whose model ``a + b·g(n)`` reproduces every count (within
half a unit), found by solving for ``a`` and ``b``. Constant counts are ``O(1)``. When several
classes reproduce the counts (two sizes only), or none does, the answer says so.

**Noisy measurements** (time, bytes) are fitted by weighted least squares. Each candidate
class is the model ``a + b·g(n)`` with ``b ≥ 0``; ``O(1)`` is ``a`` alone. The intercept ``a``
is free, negative included: small sizes are often cheaper per item than the asymptote
(CPython's cached small ints, data that fits in L1), and forcing ``a ≥ 0`` then pushes a
linear cost to ``O(n log n)``. (Measured: with ``a ≥ 0`` a linear cost whose items are half
price below n = 300 was classified ``O(n log n)`` 193 times in 200; with ``a`` free, ``O(n)``
200 times.) Each
size's weight is ``1/σ²`` where σ is its measured uncertainty (half the 95 % CI of the
median) but never under ``noise_floor`` (5 % by default) of the value: per-size CIs capture
the noise within a size's rounds, not the drift between sizes (frequency, caches, other
jobs). When the best fit is worse than that noise explains (reduced χ² > 1) every χ² is
scaled down by it, as ``scipy.optimize.curve_fit`` does, so a noisy sweep is judged by its
real noise.

The choice:

1. ``O(1)`` against growth is a nested comparison. Growth is established only when the best
   growing class improves χ² by at least ``LR_GROWTH`` (6.0: a likelihood-ratio test at
   p ≈ 0.014, so noise is rarely taken for growth) and the fitted cost rises across the
   measured range by at least ``MIN_GROWTH_FLOORS`` noise floors (30 %): a machine whose
   speed drifts by 8 % between sizes can fake a significant 15 % "growth" over four decades
   of n. A significant but small rise is ``inconclusive``. Without significance, ``O(1)`` when
   the free power law's exponent is bounded below ``CONST_EXPONENT`` (0.1: at most
   n^0.1 across the range), and ``inconclusive`` otherwise (the data cannot exclude slow
   growth).
2. Among growing classes (two parameters each, so AIC differences are χ² differences) the
   best must beat the runner-up by ``DECISIVE`` (ΔAIC ≥ 4: the runner-up is at most
   e^-2 ≈ 0.14 times as likely). Otherwise: ``inconclusive``, naming both.
3. A decisive winner must also survive one **memory-hierarchy step**: the data outgrowing a
   cache makes every item dearer from some size on (a dict-building loop: 153 ns per item at
   100 and 1,000 items, 205 ns at 10,000), which a smooth class cannot follow and which bends
   a linear cost into "O(n log n)" at three sizes (power law n^1.06). Each other growing
   class is refitted with one rise in its cost per item — a step between two consecutive
   sizes, or a ramp across several, as a miss rate grows while the data pass a cache size:
   ``a + b·g(n) + c·g(n)·r(n)``, ``r`` rising from 0 to 1 in log n from size j to size k
   (consecutive sizes, or any two within ``RAMP_SPAN`` = 10×: a cache is passed within a
   decade of sizes), with ``0 ≤ c ≤ MAX_STEP·b`` (per-item cost at most doubled: sorting
   floats measured 27 → 62 ns per item from 1,000 to 4,000 items on a loaded machine, a
   rise spread over four sizes, ×1.9 beyond n log n's own; the cap keeps n² at
   10/100/1000, ×10 per item, decided); if it then comes
   within ``DECISIVE`` of the winner (its extra parameter costing 2), the answer is
   ``inconclusive`` naming both, so a check whose limit the data allow never fails. (On
   synthetic data: three sizes of n log n are now inconclusive between O(n) and
   O(n log n); a linear cost with a ×1.4 step at eight sizes was O(n log n) 40 times in 40,
   now inconclusive 40 times; n log n over 10 to 10^6 and n² at three sizes still decide.)

An inconclusive answer carries ``suggested_sizes``: a geometric range extended until the two
contending fits differ by more than four noise widths at its top — the sizes that would
decide it. A free power law ``c·n^k`` (fitted in log space, with a 95 % CI for ``k``) is
reported beside every statistical fit as supporting evidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from perfgate._errors import UsageError
from perfgate.analysis.checks import COMPLEXITY_CLASSES
from perfgate.model import Metric
from perfgate.units import format_value

__all__ = [
    "CONST_EXPONENT",
    "DECISIVE",
    "EXACT_METRICS",
    "INCONCLUSIVE",
    "LR_GROWTH",
    "MAX_STEP",
    "MIN_GROWTH_FLOORS",
    "NOISE_FLOOR",
    "RAMP_SPAN",
    "Complexity",
    "classify",
    "classify_exact",
    "classify_metric",
    "is_exact_metric",
]

INCONCLUSIVE = "inconclusive"
NOISE_FLOOR = 0.05
LR_GROWTH = 6.0
DECISIVE = 4.0
CONST_EXPONENT = 0.1
MIN_GROWTH_FLOORS = 6.0
MAX_STEP = 1.0
RAMP_SPAN = 10.0
EXACT_METRICS = frozenset({"queries", "n_plus_one"})

FloatArray = NDArray[np.float64]


def _g_log(n: FloatArray) -> FloatArray:
    out: FloatArray = np.log(n)
    return out


def _g_n(n: FloatArray) -> FloatArray:
    return n


def _g_nlogn(n: FloatArray) -> FloatArray:
    return n * np.log(n)


def _g_n2(n: FloatArray) -> FloatArray:
    return n**2


def _g_n3(n: FloatArray) -> FloatArray:
    return n**3


def _g_2n(n: FloatArray) -> FloatArray:
    # 2^n relative to 2^max(n): no overflow for large sizes, tiny values underflow to 0.
    out: FloatArray = np.exp2(n - n.max())
    return out


_GROWTH: dict[str, Callable[[FloatArray], FloatArray]] = {
    "O(log n)": _g_log,
    "O(n)": _g_n,
    "O(n log n)": _g_nlogn,
    "O(n^2)": _g_n2,
    "O(n^3)": _g_n3,
    "O(2^n)": _g_2n,
}
_TERM = {"O(log n)": "log n", "O(n)": "n", "O(n log n)": "n log n", "O(n^2)": "n^2",
         "O(n^3)": "n^3", "O(2^n)": "2^n"}
assert ("O(1)", *_GROWTH) == COMPLEXITY_CLASSES


@dataclass(frozen=True)
class _Fit:
    cls: str
    a: float
    b: float  # coefficient of g(n) in real units (0 for O(1))
    chi2: float
    params: int
    b_top: float = 0.0  # O(2^n) only: the coefficient of 2^(n - top), which cannot overflow
    top: float = 0.0

    def predict(self, m: FloatArray) -> FloatArray:
        if self.cls == "O(1)":
            return np.full_like(m, self.a)
        if self.cls == "O(2^n)":
            return self.a + self.b_top * np.exp2(np.minimum(m - self.top, 1000.0))
        return self.a + self.b * _GROWTH[self.cls](m)


@dataclass(frozen=True)
class Complexity:
    """The verdict on one metric: ``cls`` is a class name or ``"inconclusive"``."""

    metric: str
    cls: str
    runner_up: str | None
    evidence: str
    method: str  # "exact" or "wls"
    margin: float | None = None  # ΔAIC (or Δχ²) of the runner-up over the chosen class
    coefficients: Mapping[str, float] = field(default_factory=dict)
    r2: float | None = None
    aic: Mapping[str, float] = field(default_factory=dict)
    power_law: Mapping[str, Any] | None = None
    suggested_sizes: tuple[int, ...] | None = None
    candidates: tuple[str, ...] = ()
    fitted: tuple[float, ...] | None = None  # the reported fit's values at the sizes

    @property
    def conclusive(self) -> bool:
        return self.cls != INCONCLUSIVE

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "class": self.cls,
            "runner_up": self.runner_up,
            "evidence": self.evidence,
            "method": self.method,
        }
        if self.margin is not None:
            d["margin"] = _finite(self.margin)
            d["relative_likelihood"] = _finite(math.exp(-min(self.margin, 1400.0) / 2))
        if self.coefficients:
            d["coefficients"] = {k: _finite(v) for k, v in self.coefficients.items()}
        if self.r2 is not None:
            d["r2"] = _finite(self.r2)
        if self.aic:
            d["aic"] = {k: _finite(v) for k, v in self.aic.items()}
        if self.power_law is not None:
            d["power_law"] = dict(self.power_law)
        if self.candidates:
            d["candidates"] = list(self.candidates)
        if self.suggested_sizes is not None:
            d["suggested_sizes"] = list(self.suggested_sizes)
        if self.fitted is not None:
            d["fitted"] = [_finite(v) for v in self.fitted]
        return d


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _check_input(sizes: Sequence[float], values: Sequence[float]) -> tuple[FloatArray, FloatArray]:
    n = np.asarray(sizes, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if n.shape != y.shape or n.ndim != 1:
        raise UsageError("complexity: sizes and values must be two lists of the same length")
    if n.size and (not np.all(np.isfinite(n)) or n.min() < 1):
        raise UsageError("complexity: sizes must be finite and ≥ 1")
    if not np.all(np.isfinite(y)):
        raise UsageError("complexity: values must be finite")
    if np.unique(n).size != n.size:
        raise UsageError("complexity: sizes must be distinct")
    order = np.argsort(n)
    return n[order], y[order]


# --------------------------------------------------------------------------- exact


def classify_exact(
    sizes: Sequence[float], values: Sequence[float], metric: str = "queries"
) -> Complexity:
    """Classify exact counts: the class whose ``a + b·g(n)`` reproduces every count."""
    n, y = _check_input(sizes, values)
    if n.size == 0:
        return Complexity(metric, INCONCLUSIVE, None, "no sizes measured", "exact")
    tol = 0.5 + 1e-9 * float(np.abs(y).max())
    if float(y.max() - y.min()) <= tol:
        return Complexity(
            metric, "O(1)", None, f"{metric} is {_num(y[0])} at every size measured", "exact",
            coefficients={"a": float(np.median(y)), "b": 0.0},
        )
    if n.size < 3:
        return Complexity(
            metric, INCONCLUSIVE, None,
            f"{metric} changes between two sizes; any growing class fits two points",
            "exact", suggested_sizes=_geometric(n.min(), n.max() * 10, 5),
            candidates=tuple(_GROWTH),
        )
    fits: list[tuple[str, float, float, float]] = []  # class, a, b, worst residual
    for cls, g in _GROWTH.items():
        gn = g(n)
        scale = float(np.abs(gn).max())
        if scale == 0:
            continue
        design = np.column_stack([np.ones_like(n), gn / scale])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        a, b = float(coef[0]), float(coef[1]) / scale
        resid = float(np.abs(y - design @ coef).max())
        if b > 0:
            fits.append((cls, a, b, resid))
    # Exactly first; then within half a count (integer division, batching: ⌈n/100⌉ queries).
    strict = 1e-6 * max(1.0, float(np.abs(y).max()))
    fitting = [(c, a, b) for c, a, b, r in fits if r <= strict]
    if not fitting:
        fitting = [(c, a, b) for c, a, b, r in fits if r <= tol]
    counts = ", ".join(f"{_num(v)} at n={_num(s)}" for s, v in zip(n, y, strict=True))
    if len(fitting) == 1:
        cls, a, b = fitting[0]
        return Complexity(
            metric, cls, None,
            f"{metric} = {_num(_tidy(a))} + {_num(_tidy(b))}·{_TERM[cls]} ({counts})",
            "exact", coefficients={"a": _tidy(a), "b": _tidy(b)},
            fitted=tuple(float(v) for v in _tidy(a) + _tidy(b) * _GROWTH[cls](n)),
        )
    if len(fitting) > 1:
        names = tuple(c for c, _, _ in fitting)
        return Complexity(
            metric, INCONCLUSIVE, names[1],
            f"{', '.join(names)} all reproduce the counts ({counts})", "exact",
            candidates=names, suggested_sizes=_geometric(n.min(), n.max() * 10, n.size + 2),
        )
    # No class reproduces the counts: fall back to the statistical fit, and say so.
    fit = classify(n, y, metric=metric, noise_floor=0.01)
    return Complexity(
        **{**fit.__dict__, "method": "wls",
           "evidence": f"no class reproduces the counts exactly ({counts}); "
                       f"nearest by least squares: {fit.evidence}"},
    )


def _tidy(x: float) -> float:
    """Exact fits of counts: 0.9999999999998 is 1."""
    r = round(x)
    return float(r) if abs(x - r) < 1e-6 * max(1.0, abs(x)) else x


def _num(x: float) -> str:
    x = float(x)
    if x.is_integer():
        return f"{int(x):,}"
    return f"{x:.4g}"


# --------------------------------------------------------------------------- statistical


def _fit_all(n: FloatArray, y: FloatArray, sigma: FloatArray) -> dict[str, _Fit]:
    w = 1.0 / sigma
    fits: dict[str, _Fit] = {}
    # O(1): the weighted mean.
    a0 = float(np.sum(y * w**2) / np.sum(w**2))
    chi0 = float(np.sum(((y - a0) * w) ** 2))
    fits["O(1)"] = _Fit("O(1)", a0, 0.0, chi0, 1)
    for cls, g in _GROWTH.items():
        gn = g(n)
        scale = float(np.abs(gn).max())
        if scale == 0 or not math.isfinite(scale):
            continue
        design = np.column_stack([w, (gn / scale) * w])
        coef, *_ = np.linalg.lstsq(design, y * w, rcond=None)
        if coef[1] < 0:  # decreasing: the best non-decreasing fit of this shape is a constant
            coef = np.array([a0, 0.0])
        chi = float(np.sum((design @ coef - y * w) ** 2))
        a, b_scaled = float(coef[0]), float(coef[1])
        if cls == "O(2^n)":
            top = float(n.max())
            b_real = b_scaled * 2.0 ** (-min(top, 1000.0))
            fits[cls] = _Fit(cls, a, b_real, chi, 2, b_top=b_scaled, top=top)
        else:
            fits[cls] = _Fit(cls, a, b_scaled / scale, chi, 2)
    return fits


def _power_law(
    n: FloatArray, y: FloatArray, sigma: FloatArray, scale: float
) -> dict[str, Any] | None:
    if n.size < 2 or y.min() <= 0:
        return None
    x, ly = np.log(n), np.log(y)
    s = np.maximum(sigma / y, 1e-12)
    w = 1.0 / s**2
    sw, sx, sy = w.sum(), (w * x).sum(), (w * ly).sum()
    sxx, sxy = (w * x * x).sum(), (w * x * ly).sum()
    det = sw * sxx - sx * sx
    if det <= 0:
        return None
    k = (sw * sxy - sx * sy) / det
    c = (sy - k * sx) / sw
    se = math.sqrt(sw / det) * math.sqrt(max(scale, 1.0))
    resid = ly - (c + k * x)
    chi = float((w * resid**2).sum())
    if n.size > 2:
        se *= math.sqrt(max(chi / (n.size - 2), 1.0))
    return {"k": float(k), "ci": [float(k - 1.96 * se), float(k + 1.96 * se)],
            "c": float(math.exp(c))}


def _sigmas(y: FloatArray, errors: Sequence[float] | None, floor: float) -> FloatArray:
    base = np.abs(y) * floor
    if errors is not None:
        e = np.asarray(errors, dtype=np.float64)
        if e.shape != y.shape:
            raise UsageError("complexity: errors must match values")
        base = np.maximum(base, np.where(np.isfinite(e), np.abs(e), 0.0))
    tiny = max(float(np.abs(y).max()) * 1e-6, 1e-150)
    return np.maximum(base, tiny)


def classify(
    sizes: Sequence[float] | FloatArray,
    values: Sequence[float] | FloatArray,
    errors: Sequence[float] | None = None,
    *,
    metric: str = "time",
    unit: str = "s",
    noise_floor: float = NOISE_FLOOR,
) -> Complexity:
    """Classify noisy measurements (``errors``: each value's 1-σ uncertainty, optional)."""
    n, y = _check_input(list(sizes), list(values))
    if errors is not None:
        order = np.argsort(np.asarray(sizes, dtype=np.float64))
        errors = [float(e) for e in np.asarray(errors, dtype=np.float64)[order]]
    if n.size < 2:
        return Complexity(
            metric, INCONCLUSIVE, None, f"{n.size} size(s) measured; at least 3 are needed",
            "wls", suggested_sizes=_geometric(n.min() if n.size else 10, 1000, 5),
        )
    sigma = _sigmas(y, errors, noise_floor)
    fits = _fit_all(n, y, sigma)
    growth = sorted((f for f in fits.values() if f.cls != "O(1)"), key=lambda f: f.chi2)
    best_all = min(fits.values(), key=lambda f: f.chi2 + 2 * f.params)
    dof = n.size - best_all.params
    scale = max(1.0, best_all.chi2 / dof) if dof >= 1 else 1.0
    chi = {c: f.chi2 / scale for c, f in fits.items()}
    aic = {c: chi[c] + 2 * f.params for c, f in fits.items()}
    power = _power_law(n, y, sigma, scale)
    if power is not None:
        power["k"] = round(power["k"], 4)
        power["ci"] = [round(v, 4) for v in power["ci"]]
    const = fits["O(1)"]
    top = growth[0]
    lr = chi["O(1)"] - chi[top.cls]
    span = f"n = {_num(n.min())} to {_num(n.max())}, {n.size} sizes"
    pw = ""
    if power is not None:
        pw = f"; power law n^{power['k']:.2f} (95% CI {power['ci'][0]:.2f} to {power['ci'][1]:.2f})"
    noise = f"; residual noise ×{math.sqrt(scale):.1f} the floor" if scale > 1.5 else ""

    def result(cls: str, fit: _Fit, runner: str | None, margin: float | None, why: str,
               suggest: tuple[int, ...] | None = None, cands: tuple[str, ...] = ()) -> Complexity:
        return Complexity(
            metric, cls, runner, why + f" ({span}{pw}{noise})", "wls", margin,
            coefficients={"a": fit.a, "b": fit.b}, r2=_r2(y, sigma, fit.chi2),
            aic=aic, power_law=power, suggested_sizes=suggest, candidates=cands,
            fitted=tuple(float(v) for v in fit.predict(n)),
        )

    ranked = list(_GROWTH)
    # Every growing class the data cannot tell from the best one: a check on an
    # inconclusive fit is still decided when all of these agree.
    near = [g.cls for g in growth if chi[g.cls] - chi[top.cls] < DECISIVE]
    near = sorted(near, key=ranked.index)
    up_to_top = tuple(c for c in ranked if ranked.index(c) <= ranked.index(near[-1]))

    ends = top.predict(np.array([n.min(), n.max()]))
    rise = float(ends[1] - ends[0]) / max(abs(float(ends[0])), 1e-300)
    if lr < LR_GROWTH:
        bounded = power is not None and power["ci"][1] < CONST_EXPONENT
        if power is None:  # values at or below zero: judge growth by the fits alone
            bounded = n.size >= 3
        if bounded:
            return result(
                "O(1)", const, top.cls, lr,
                f"{metric} ≈ {format_value(const.a, unit)} at every size; no growing class "
                f"improves the fit enough (Δχ² {lr:.1f} < {LR_GROWTH:g})",
            )
        return result(
            INCONCLUSIVE, top, "O(1)", lr,
            f"cannot tell O(1) from {top.cls}: growth is not significant (Δχ² {lr:.1f}) "
            "but not excluded either",
            _suggest(n, const, top, noise_floor * math.sqrt(scale)), ("O(1)", *up_to_top),
        )
    if rise < MIN_GROWTH_FLOORS * noise_floor:
        return result(
            INCONCLUSIVE, top, "O(1)", lr,
            f"{metric} rises {rise:.0%} over the range: significant against the noise floor "
            "but within what drift between sizes can fake; a wider range would decide",
            _suggest(n, top, growth[1] if len(growth) > 1 else const,
                     noise_floor * math.sqrt(scale)), ("O(1)", *up_to_top),
        )
    runner = growth[1] if len(growth) > 1 else const
    margin = chi[runner.cls] - chi[top.cls]
    formula = (f"{metric} ≈ {format_value(top.a, unit)} + "
               f"{format_value(top.b, unit)}·{_TERM[top.cls]}")
    if margin >= DECISIVE:
        allowed = _step_allowed(n, y, sigma, top.cls, top.chi2, scale)
        if allowed:
            cands = tuple(sorted({top.cls, *allowed}, key=ranked.index))
            other = next(c for c in cands if c != top.cls)
            return result(
                INCONCLUSIVE, top, other, margin,
                f"{formula} fits best, but {' and '.join(c for c in cands if c != top.cls)} "
                f"{'is' if len(cands) == 2 else 'are'} not excluded: a step in the cost per "
                f"item (the data outgrowing a cache) of up to ×{1 + MAX_STEP:g} between two "
                "sizes explains the difference",
                _suggest(n, top, fits[other], noise_floor * math.sqrt(scale), MAX_STEP), cands,
            )
        return result(
            top.cls, top, runner.cls, margin,
            f"{formula}; beats {runner.cls} by ΔAIC {margin:.1f} and O(1) by Δχ² {lr:.1f}",
        )
    return result(
        INCONCLUSIVE, top, runner.cls, margin,
        f"{top.cls} and {runner.cls} fit about equally well (ΔAIC {margin:.1f} < {DECISIVE:g})",
        _suggest(n, top, runner, noise_floor * math.sqrt(scale)), tuple(near),
    )


def _step_allowed(n: FloatArray, y: FloatArray, sigma: FloatArray, best: str,
                  chi_best: float, scale: float) -> list[str]:
    """Growing classes other than ``best`` that fit as well once the cost per item may rise
    once, by at most ×(1 + ``MAX_STEP``), as the data outgrow a cache: a step between two
    consecutive sizes or a ramp across several (:func:`_ramps`). The model is
    ``a + b·g(n) + c·g(n)·r(n)`` with ``0 ≤ c ≤ MAX_STEP·b``; its extra parameter costs 2
    (AIC), and it is allowed when it comes within ``DECISIVE`` of the best class."""
    w = 1.0 / sigma
    out: list[str] = []
    for cls, g in _GROWTH.items():
        if cls == best:
            continue
        gn = g(n)
        scale_g = float(np.abs(gn).max())
        if scale_g == 0 or not math.isfinite(scale_g):
            continue
        gs = gn / scale_g
        for on in _ramps(n):
            design = np.column_stack([w, gs * w, gs * on * w])
            coef, *_ = np.linalg.lstsq(design, y * w, rcond=None)
            if coef[1] <= 0:
                continue
            c = float(np.clip(coef[2], 0.0, MAX_STEP * coef[1]))
            if c != coef[2]:  # at a bound: refit a and b with the step fixed there
                rest = y * w - c * gs * on * w
                ab, *_ = np.linalg.lstsq(design[:, :2], rest, rcond=None)
                if ab[1] <= 0 or c > MAX_STEP * ab[1] + 1e-12 * abs(ab[1]):
                    continue
                coef = np.array([ab[0], ab[1], c])
            chi = float(np.sum((design @ coef - y * w) ** 2))
            if (chi / scale + 2) - chi_best / scale < DECISIVE:
                out.append(cls)
                break
    return out


def _ramps(n: FloatArray) -> list[FloatArray]:
    """Where a cache can be outgrown: a step between two consecutive sizes, or a ramp over
    several within ``RAMP_SPAN`` (a miss rate rising gradually as the data grow past a
    cache), linear in log n from size j to size k."""
    x = np.log(n)
    out = []
    for j in range(n.size - 1):
        for k in range(j + 1, n.size):
            if k == j + 1 or x[k] - x[j] <= math.log(RAMP_SPAN) + 1e-9:
                out.append(np.clip((x - x[j]) / (x[k] - x[j]), 0.0, 1.0))
    return out


def _r2(y: FloatArray, sigma: FloatArray, chi2: float) -> float:
    w = 1.0 / sigma**2
    mean = float(np.sum(w * y) / np.sum(w))
    total = float(np.sum(w * (y - mean) ** 2))
    return 1.0 - chi2 / total if total > 0 else 1.0


def _geometric(lo: float, hi: float, count: int) -> tuple[int, ...]:
    lo, hi = max(1.0, float(lo)), max(float(lo) + 1, float(hi))
    pts = np.unique(np.round(np.geomspace(lo, hi, max(count, 2))).astype(np.int64))
    return tuple(int(p) for p in pts)


def _suggest(n: FloatArray, f1: _Fit, f2: _Fit, rel_noise: float, step: float = 0.0
             ) -> tuple[int, ...]:
    """Sizes reaching far enough that the two fits differ by four noise widths (and by more
    than a memory-hierarchy ``step`` could explain, when that is what kept them apart)."""
    lo, hi = float(n.min()), float(n.max())
    count = max(5, n.size + 2)
    if "O(2^n)" in (f1.cls, f2.cls):
        steps = [hi + d for d in (2, 4, 8, 16, 32, 64)]
    else:
        steps = [hi * f for f in (2, 4, 10, 30, 100, 300, 1000, 10_000)]
    for top in steps:
        m = np.array([top], dtype=np.float64)
        p1, p2 = float(f1.predict(m)[0]), float(f2.predict(m)[0])
        ref = max(min(abs(p1), abs(p2)), 1e-300)
        if abs(p1 - p2) / ref > (1 + step) * (1 + 4 * max(rel_noise, 1e-3)) - 1:
            return _geometric(lo, top, count)
    return _geometric(lo, steps[-1], count + 3)


# --------------------------------------------------------------------------- metrics


def is_exact_metric(name: str, metrics: Sequence[Metric]) -> bool:
    """Counts that do not jitter: queries (and per-phase queries), counters."""
    if name in EXACT_METRICS or name.startswith("queries."):
        return True
    return bool(metrics) and all(m.kind == "counter" for m in metrics)


def classify_metric(
    name: str,
    sizes: Sequence[int],
    metrics: Sequence[Metric],
    noise_floor: float = NOISE_FLOOR,
) -> Complexity:
    """Classify one metric measured at each size (exactly or statistically, by its kind)."""
    values: list[float] = []
    errors: list[float] = []
    for m in metrics:
        v = m.central
        if v is None:
            raise UsageError(f"complexity: metric {name!r} has no value at some size")
        values.append(float(v))
        if m.ci_low is not None and m.ci_high is not None:
            errors.append((m.ci_high - m.ci_low) / (2 * 1.96))
        else:
            errors.append(0.0)
    if is_exact_metric(name, metrics):
        return classify_exact(sizes, values, metric=name)
    unit = metrics[0].unit if metrics else "1"
    return classify(sizes, values, errors, metric=name, unit=unit, noise_floor=noise_floor)
