"""Comparing two runs: per benchmark and metric, a ratio with its 95 % CI and a status.

The method (docs/history.md has the reasoning):

- **Unit of analysis.** Timings are compared on a log scale (ratios, not differences). When
  each side holds several worker processes (``Metric.extra["process_medians"]``, which the
  interleaved gate writes), the unit is the process: its median round time. Rounds of one
  process are not independent of each other — the process's memory layout, hash seed and
  the machine's state at that moment shift all of them together — so a test on raw rounds
  overstates certainty. With one process per side the rounds are all there is: the
  comparison is made on them and says so (``unit: round``).
- **Test and interval.** Paired processes (the gate's A B / B A pairs): Wilcoxon signed-rank
  test on the log-ratios, Hodges-Lehmann estimate and its exact distribution-free CI.
  Unpaired: Mann-Whitney U, Hodges-Lehmann shift and its CI. Both are rank methods: a
  process hit by a noisy neighbour moves the answer by one rank, not by its size.
- **Multiple comparisons.** Holm's step-down adjustment across every comparison of the run
  keeps the chance of any false regression at ``alpha`` however many benchmarks there are.
- **Minimum effect.** A regression needs the adjusted p < alpha, the whole CI above 1, and
  the estimate at least ``min_effect`` above 1 — so a significant 0.3 % is ``unchanged``.
- **Statuses.** ``regression`` / ``improvement`` (significant and beyond min effect, in the
  metric's bad / good direction), ``unchanged`` (the CI lies inside ± the threshold: no
  change that matters), else ``inconclusive`` (the data cannot tell). The direction comes
  from the metric (lower is better for times and bytes, higher for ops/s), so an improvement
  is never reported as a regression nor the reverse.
- **Levels.** A regression whose estimate reaches the fail threshold is ``fail`` (exit 1);
  one below it, or above the warn level, is ``warn``; everything else is ``ok``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats as _st

from perfgate._errors import UsageError
from perfgate.model import Metric, ResultSet
from perfgate.units import format_value, parse_unit

__all__ = [
    "DEFAULT_THRESHOLDS",
    "HIGHER_IS_BETTER",
    "CompareReport",
    "Comparison",
    "Threshold",
    "compare_metrics",
    "compare_resultsets",
    "compare_samples",
    "finish",
    "hodges_lehmann_paired",
    "hodges_lehmann_unpaired",
    "holm",
    "parse_threshold",
]

CompareStatus = Literal["regression", "improvement", "unchanged", "inconclusive"]
Level = Literal["fail", "warn", "ok"]
Unit = Literal["process", "round", "value"]
FloatArray = NDArray[np.float64]

HIGHER_IS_BETTER = frozenset({"ops", "rps", "speedup", "efficiency", "capacity"})
_MAX_SIDE = 1500  # rounds per side used for the unpaired interval (seeded subsample above)
_SEED = 20261122


# ----------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class Threshold:
    """How much worse a metric may get: ``fail`` (and optionally ``warn``) either as a
    fraction of the baseline (``relative``) or in the metric's unit."""

    fail: float
    warn: float | None = None
    relative: bool = True
    text: str = ""

    def describe(self, unit: str = "1") -> str:
        def one(x: float) -> str:
            return f"{100 * x:g}%" if self.relative else format_value(x, unit)

        return one(self.fail) + (f" (warn {one(self.warn)})" if self.warn is not None else "")


DEFAULT_THRESHOLDS: Mapping[str, Threshold] = {
    "time": Threshold(0.05, text="5%"), "latency": Threshold(0.05, text="5%"),
}


def _amount(text: str, where: str) -> tuple[float, bool]:
    s = text.strip()
    i = 0
    while i < len(s) and (s[i].isdigit() or s[i] in ".+-eE"):
        i += 1
    num, suffix = s[:i], s[i:].strip()
    spec = parse_unit(suffix)
    try:
        value = float(num)
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not an amount (examples: 5%, 0, 1ms, 2kB)"
                         ) from None
    if spec is None:
        raise UsageError(f"{where}: unknown unit {suffix!r} in {text!r}")
    if value < 0 or not math.isfinite(value):
        raise UsageError(f"{where}: a threshold must be ≥ 0, got {text!r}")
    return value * spec[0], suffix == "%"


def parse_threshold(text: str, where: str = "threshold") -> tuple[str, Threshold]:
    """Parse ``[BENCH:]METRIC=FAIL [warn WARN]``: ``time=5%``, ``time=5% warn 2%``,
    ``parse_orders:time=10%``, ``alloc_bytes=0``. Returns (key, Threshold), key being
    ``METRIC`` or ``BENCH:METRIC``."""
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key or not rest.strip():
        raise UsageError(f"{where} {text!r}: expected METRIC=AMOUNT, e.g. time=5%")
    fail_s, _, warn_s = rest.partition("warn")
    fail, rel = _amount(fail_s.strip().rstrip(","), f"{where} {text!r}")
    warn: float | None = None
    if warn_s.strip():
        warn, wrel = _amount(warn_s, f"{where} {text!r}")
        if wrel != rel and fail != 0:
            raise UsageError(f"{where} {text!r}: fail and warn must both be % or both units")
        if warn > fail:
            raise UsageError(f"{where} {text!r}: the warn level must not exceed the fail one")
    return key, Threshold(fail, warn, rel or fail == 0, rest.strip())


def _threshold_for(thresholds: Mapping[str, Threshold], bench: str, metric: str
                   ) -> Threshold | None:
    return thresholds.get(f"{bench}:{metric}") or thresholds.get(metric)


# ----------------------------------------------------------------- statistics


def _exact_signed_rank_cdf(n: int) -> FloatArray:
    """P(T ≤ t) for t = 0 … n(n+1)/2 under the null (no ties)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        shifted = np.zeros_like(counts)
        shifted[k:] = counts[:-k]
        counts = counts + shifted
    return np.cumsum(counts) / 2.0**n


def _cut(cdf_le: FloatArray, alpha: float) -> int:
    """Largest t with P(T ≤ t) ≤ alpha/2: the Walsh averages below index t+1 are cut."""
    ok = np.nonzero(cdf_le <= alpha / 2)[0]
    return int(ok[-1]) if ok.size else -1


def hodges_lehmann_paired(d: Sequence[float] | FloatArray, conf: float = 0.95
                          ) -> tuple[float, float, float, float]:
    """Paired differences ``d``: (estimate, ci_low, ci_high, two-sided Wilcoxon p)."""
    a = np.asarray(d, dtype=np.float64)
    a = a[np.isfinite(a)]
    n = a.size
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    if np.all(a == 0):
        return 0.0, 0.0, 0.0, 1.0
    i, j = np.triu_indices(n)
    walsh = np.sort((a[i] + a[j]) / 2)
    est = float(np.median(walsh))
    m = walsh.size
    if n <= 60:
        c = _cut(_exact_signed_rank_cdf(n), 1 - conf)
    else:
        z = float(_st.norm.ppf(1 - (1 - conf) / 2))
        c = math.floor(m / 2 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)) - 1
    if c < 0:
        lo, hi = float(walsh[0]), float(walsh[-1])
    else:
        lo, hi = float(walsh[c]), float(walsh[m - 1 - c])
    nz = a[a != 0]
    p = 1.0 if nz.size == 0 else float(_st.wilcoxon(nz, alternative="two-sided").pvalue)
    return est, lo, hi, p


def hodges_lehmann_unpaired(x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray,
                            conf: float = 0.95) -> tuple[float, float, float, float]:
    """Shift of y relative to x: (estimate, ci_low, ci_high, two-sided Mann-Whitney p)."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    p = float(_st.mannwhitneyu(b, a, alternative="two-sided").pvalue) if (
        np.ptp(np.concatenate([a, b])) > 0) else 1.0
    rng = np.random.default_rng(_SEED)
    if a.size > _MAX_SIDE:
        a = rng.choice(a, _MAX_SIDE, replace=False)
    if b.size > _MAX_SIDE:
        b = rng.choice(b, _MAX_SIDE, replace=False)
    diffs = np.sort((b[:, None] - a[None, :]).ravel())
    est = float(np.median(diffs))
    m, n = a.size, b.size
    total = m * n
    z = float(_st.norm.ppf(1 - (1 - conf) / 2))
    c = math.floor(total / 2 - z * math.sqrt(m * n * (m + n + 1) / 12)) - 1
    if c < 0:
        lo, hi = float(diffs[0]), float(diffs[-1])
    else:
        lo, hi = float(diffs[c]), float(diffs[total - 1 - c])
    return est, lo, hi, p


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count)."""
    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


# ----------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class Comparison:
    """One benchmark's metric, current against base."""

    name: str
    metric: str
    unit: str
    base: float | None  # headline value of each side (median of the analysis units)
    current: float | None
    ratio: float | None  # current / base (Hodges-Lehmann estimate for samples)
    ci: tuple[float, float] | None  # 95 % CI of the ratio
    p_value: float | None
    p_adjusted: float | None  # Holm-adjusted across the report
    status: CompareStatus
    level: Level
    unit_of_analysis: Unit
    n_base: int
    n_current: int
    threshold: Threshold | None = None
    higher_is_better: bool = False
    evidence: str = ""

    @property
    def change(self) -> float | None:
        """Relative change, signed so that + is worse (slower, bigger, fewer ops/s)."""
        if self.ratio is None or not math.isfinite(self.ratio) or self.ratio <= 0:
            return None
        return (1 / self.ratio - 1) if self.higher_is_better else self.ratio - 1

    def to_dict(self) -> dict[str, Any]:
        def fin(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else x

        return {
            "name": self.name, "metric": self.metric, "unit": self.unit,
            "base": fin(self.base), "current": fin(self.current), "ratio": fin(self.ratio),
            "ci": [fin(self.ci[0]), fin(self.ci[1])] if self.ci else None,
            "p_value": fin(self.p_value), "p_adjusted": fin(self.p_adjusted),
            "status": self.status, "level": self.level,
            "unit_of_analysis": self.unit_of_analysis,
            "n_base": self.n_base, "n_current": self.n_current,
            "threshold": self.threshold.text if self.threshold else None,
            "higher_is_better": self.higher_is_better, "evidence": self.evidence,
        }


@dataclass(frozen=True)
class CompareReport:
    """Every comparison of two runs, and the settings that produced the statuses."""

    comparisons: tuple[Comparison, ...]
    alpha: float
    min_effect: float
    base_label: str = "base"
    current_label: str = "current"
    missing: tuple[str, ...] = ()  # benchmarks on one side only
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(c.level == "fail" for c in self.comparisons)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.comparisons:
            out[c.status] = out.get(c.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": 1, "kind": "comparison", "base": self.base_label,
            "current": self.current_label, "alpha": self.alpha, "min_effect": self.min_effect,
            "failed": self.failed, "missing": list(self.missing),
            "comparisons": [c.to_dict() for c in self.comparisons], **dict(self.extra),
        }


def _badness(ratio: float, lo: float, hi: float, higher_better: bool
             ) -> tuple[float, float, float]:
    if higher_better:
        return 1 / ratio, 1 / hi, 1 / lo
    return ratio, lo, hi


# One process per side: its rounds cannot show how far the next process would land (a few
# per cent on a shared machine), so a change is only called when the whole CI clears this.
ROUND_PROCESS_NOISE = 0.03


def _decide(c: Comparison, alpha: float, min_effect: float) -> Comparison:
    """Status and level from the estimate, the CI, the adjusted p and the threshold."""
    if c.ratio is None or not math.isfinite(c.ratio) or c.ratio <= 0:
        return replace(c, status="inconclusive", level="ok",
                       evidence=c.evidence or "no usable values on one side")
    th = c.threshold
    if c.unit_of_analysis == "value":
        # No spread to test: a change under the minimum effect is "unchanged", except
        # under an explicit zero threshold (``alloc_bytes=0``), where any increase counts.
        worse = c.change or 0.0
        tol = 1e-12 if th is not None and th.fail == 0 else min_effect
        status: CompareStatus = ("unchanged" if abs(worse) < tol
                                 else "regression" if worse > 0 else "improvement")
    else:
        assert c.ci is not None
        b, b_lo, b_hi = _badness(c.ratio, c.ci[0], c.ci[1], c.higher_is_better)
        sig = c.p_adjusted is not None and c.p_adjusted < alpha
        eq = max(min_effect, th.fail if th is not None and th.relative else 0.0)
        noise = ROUND_PROCESS_NOISE if c.unit_of_analysis == "round" else 0.0
        if sig and b_lo > 1 + noise and b >= 1 + min_effect:
            status = "regression"
        elif sig and b_hi < 1 / (1 + noise) and b <= 1 / (1 + min_effect):
            status = "improvement"
        elif b_lo >= 1 / (1 + eq) and b_hi <= 1 + eq:
            status = "unchanged"
        else:
            status = "inconclusive"
    level: Level = "ok"
    if status == "regression":
        if th is not None and _crosses(c, th.fail, th.relative):
            level = "fail"
        elif th is None or th.warn is None or _crosses(c, th.warn, th.relative):
            level = "warn"
    return replace(c, status=status, level=level)


def _crosses(c: Comparison, limit: float, relative: bool) -> bool:
    if relative:
        return (c.change or 0.0) >= limit if limit > 0 else (c.change or 0.0) > 0
    if c.base is None or c.current is None:
        return False
    delta = (c.base - c.current) if c.higher_is_better else (c.current - c.base)
    return delta >= limit if limit > 0 else delta > 0


def compare_samples(name: str, metric: str, unit: str, base: Sequence[float],
                    current: Sequence[float], *, paired: bool, unit_of_analysis: Unit,
                    threshold: Threshold | None = None, conf: float = 0.95) -> Comparison:
    """A comparison before Holm adjustment and decision (status ``inconclusive``)."""
    a = np.asarray(base, dtype=np.float64)
    b = np.asarray(current, dtype=np.float64)
    a, b = a[np.isfinite(a) & (a > 0)], b[np.isfinite(b) & (b > 0)]
    hib = metric in HIGHER_IS_BETTER
    empty = Comparison(name=name, metric=metric, unit=unit, base=None, current=None,
                       ratio=None, ci=None, p_value=None, p_adjusted=None,
                       status="inconclusive", level="ok", unit_of_analysis=unit_of_analysis,
                       n_base=int(a.size), n_current=int(b.size), threshold=threshold,
                       higher_is_better=hib, evidence="no samples on one side")
    if a.size == 0 or b.size == 0:
        return empty
    if paired:
        k = min(a.size, b.size)
        est, lo, hi, p = hodges_lehmann_paired(np.log(b[:k]) - np.log(a[:k]), conf)
        how = f"{k} paired processes, Wilcoxon signed-rank, Hodges-Lehmann CI"
    else:
        est, lo, hi, p = hodges_lehmann_unpaired(np.log(a), np.log(b), conf)
        how = (f"{a.size} vs {b.size} {unit_of_analysis}s, Mann-Whitney U, "
               "Hodges-Lehmann CI")
        if unit_of_analysis == "round":
            how += ("; one process per side: process-to-process variation is not in this "
                    "CI — use `perfgate compare --against` for a gate")
    return replace(empty, base=float(np.median(a)), current=float(np.median(b)),
                   ratio=math.exp(est), ci=(math.exp(lo), math.exp(hi)),
                   p_value=p, p_adjusted=p, evidence=how)


def _units(m: Metric) -> tuple[list[float] | None, Unit]:
    pm = m.extra.get("process_medians") if m.extra else None
    if isinstance(pm, list) and len(pm) >= 3:
        return [float(x) for x in pm], "process"
    if m.samples and len(m.samples) >= 3:
        return list(m.samples), "round"
    return None, "value"


def _value_comparison(name: str, metric: str, bm: Metric, cm: Metric,
                      th: Threshold | None) -> Comparison:
    bv, cv = bm.central, cm.central
    ratio = None
    if bv is not None and cv is not None:
        ratio = cv / bv if bv != 0 else (1.0 if cv == 0 else math.inf)
    return Comparison(name=name, metric=metric, unit=bm.unit, base=bv, current=cv,
                      ratio=ratio, ci=None, p_value=None, p_adjusted=None,
                      status="inconclusive", level="ok", unit_of_analysis="value",
                      n_base=1, n_current=1, threshold=th,
                      higher_is_better=metric in HIGHER_IS_BETTER,
                      evidence="single values (no samples): compared as they are")


def finish(raw: Iterable[Comparison], alpha: float, min_effect: float) -> list[Comparison]:
    """Holm-adjust the p-values of ``raw`` together, then decide each status and level."""
    items = list(raw)
    adj = holm([c.p_value if c.p_value is not None else math.nan for c in items])
    done = []
    for c, p in zip(items, adj, strict=True):
        c2 = replace(c, p_adjusted=None if math.isnan(p) else p)
        done.append(_decide(c2, alpha, min_effect))
    return done


def compare_metrics(name: str, base: Mapping[str, Metric], current: Mapping[str, Metric],
                    thresholds: Mapping[str, Threshold], metrics: Iterable[str] | None = None
                    ) -> list[Comparison]:
    """Undecided comparisons of one benchmark: the timing metrics, plus every metric named
    by a threshold (or exactly ``metrics`` when given)."""
    if metrics is None:
        wanted = [k for k in current if k in base and (
            k in ("time", "latency", "capacity") or k.startswith("time.")
            or _threshold_for(thresholds, name, k) is not None)]
    else:
        wanted = [k for k in metrics if k in base and k in current]
    out = []
    for k in wanted:
        bm, cm = base[k], current[k]
        th = _threshold_for(thresholds, name, k)
        bu, bunit = _units(bm)
        cu, cunit = _units(cm)
        if bu is not None and cu is not None:
            uoa: Unit = "process" if bunit == cunit == "process" else "round"
            if uoa == "round":
                bu, cu = list(bm.samples or bu), list(cm.samples or cu)
            out.append(compare_samples(name, k, bm.unit, bu, cu, paired=False,
                                       unit_of_analysis=uoa, threshold=th))
        else:
            out.append(_value_comparison(name, k, bm, cm, th))
    return out


def compare_resultsets(base: ResultSet, current: ResultSet, *,
                       thresholds: Mapping[str, Threshold] | None = None,
                       alpha: float = 0.05, min_effect: float = 0.01,
                       metrics: Iterable[str] | None = None,
                       base_label: str = "base", current_label: str = "current"
                       ) -> CompareReport:
    """Compare every benchmark present in both runs (matched by name)."""
    if not 0 < alpha < 1:
        raise UsageError(f"alpha must be in (0, 1), got {alpha}")
    if min_effect < 0:
        raise UsageError("the minimum effect must be ≥ 0")
    th = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    base_by = {r.name: r for r in base.results if r.error is None}
    raw: list[Comparison] = []
    metric_list = list(metrics) if metrics is not None else None
    for r in current.results:
        b = base_by.get(r.name)
        if b is None or r.error is not None:
            continue
        raw.extend(compare_metrics(r.name, b.metrics, r.metrics, th, metric_list))
    cur_names = {r.name for r in current.results}
    missing = tuple(sorted(cur_names.symmetric_difference(base_by)))
    return CompareReport(tuple(finish(raw, alpha, min_effect)), alpha, min_effect,
                         base_label, current_label, missing)
