"""Comparing two runs: per benchmark and metric, a ratio with its 95 % CI and a status.

The method (docs/history.md has the reasoning):

- **Unit of analysis.** Timings are compared on a log scale (ratios, not differences). When
  each side holds several worker processes (``Metric.extra["process_medians"]``, which the
  interleaved gate writes), the unit is the process: its median round time. Rounds of one
  process are not independent of each other — the process's memory layout, hash seed and
  the machine's state at that moment shift all of them together — so a test on raw rounds
  overstates certainty. Two *saved* runs of several processes each are compared by a
  log-linear model of their processes that takes out each process's wait for a CPU and
  adds the run-to-run noise that their processes share
  (:mod:`perfgate.analysis.saved_processes`); the gate's interleaved pairs need neither.
- **One process per side** (a saved baseline against a later run): the rounds cannot show
  how far the next run would land, so the round-level estimate is kept but its CI and
  p-value come from the run-to-run spread of the headline value (``unit: run``). That
  spread is either measured — :class:`RunNoise`, from the stored history of the same
  benchmark on the same machine (SD of successive log differences, so steps and drifts in
  the history do not inflate it; a t interval with the estimate's degrees of freedom) — or,
  without history, assumed conservatively (a 6 % SD per run): then only a large change
  (≳ 18 %) is called and anything smaller is ``inconclusive``, with a sentence that says
  what would decide it. A side whose own rounds show that the machine disturbed it (its
  middle 80 % of rounds spread wider than 1.28×) adds half that spread to the noise: on a
  2-core machine at load 10, every run's rounds spread 13–50× and one run in ten had its
  median several times the true time, so such a median says little about the next run.
  These widenings, and the CPU-wait one, live in :mod:`perfgate.analysis.run_noise`.
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
- **What is compared.** ``time``, every phase ``time.<phase>`` and every metric a threshold
  names; a sweep at every size measured on both sides, as ``time[n=1000]``,
  ``time.parse[n=1000]`` … (:func:`compared_metrics`). A metric's threshold is the most
  specific that applies (:func:`metric_family`): ``time.parse[n=1000]``, then
  ``time.parse``, then ``time`` — so ``time=5%`` gates phases and sizes too unless they
  have their own; ``*`` wildcards (``time.*=10%``) match names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray
from scipy import stats as _st

from perfgate._errors import UsageError
from perfgate.analysis.comparison import (
    DEFAULT_THRESHOLDS,
    CompareReport,
    CompareStatus,
    Comparison,
    Level,
    Threshold,
    Unit,
    base_metric,
    size_metric,
)
from perfgate.analysis.run_noise import (
    MIN_HISTORY,
    RunNoise,
    noise_interval,
    run_noise,
    with_cpu_wait,
    with_run_noise,
)
from perfgate.analysis.saved_processes import compare_saved_processes
from perfgate.model import Metric, Result, ResultSet
from perfgate.units import parse_unit

__all__ = [
    "DEFAULT_THRESHOLDS",
    "HIGHER_IS_BETTER",
    "MIN_HISTORY",
    "CompareReport",
    "CompareStatus",
    "Comparison",
    "Level",
    "RunNoise",
    "Threshold",
    "base_metric",
    "compare_metrics",
    "compare_resultsets",
    "compare_samples",
    "compared_metrics",
    "finish",
    "hodges_lehmann_paired",
    "hodges_lehmann_unpaired",
    "holm",
    "metric_family",
    "noise_interval",
    "parse_threshold",
    "run_noise",
    "size_metric",
    "threshold_for",
    "threshold_matches",
    "unmatched_thresholds",
    "with_run_noise",
]

FloatArray = NDArray[np.float64]

HIGHER_IS_BETTER = frozenset({"ops", "rps", "speedup", "efficiency", "capacity"})
_MAX_SIDE = 1500  # rounds per side used for the unpaired interval (seeded subsample above)
_SEED = 20261122


# ----------------------------------------------------------------- thresholds


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
    ``parse_orders:time=10%``, ``alloc_bytes=0``, ``time.*=10%``, ``time[n=1000]=3%``.
    Returns (key, Threshold), key being ``METRIC`` or ``BENCH:METRIC``; ``*`` in either
    part matches any run of characters."""
    depth, cut = 0, -1
    for i, ch in enumerate(text):  # the first '=' outside brackets: time[n=1000]=10%
        depth += (ch == "[") - (ch == "]")
        if ch == "=" and depth == 0:
            cut = i
            break
    key, sep, rest = (text[:cut], "=", text[cut + 1:]) if cut >= 0 else (text, "", "")
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


def metric_family(metric: str) -> list[str]:
    """The names whose threshold governs ``metric``, most specific first:
    ``time.parse[n=1000]`` → ``time.parse[n=1000]``, ``time.parse``, ``time``. So the
    threshold of ``time`` applies to its phases and to every size unless one is given."""
    out = [metric]
    name = base_metric(metric)
    while True:
        if name not in out:
            out.append(name)
        if "." not in name:
            return out
        name = name.rsplit(".", 1)[0]


def _glob(pattern: str, text: str) -> bool:
    """``*`` matches any run of characters; everything else (``[``, ``.``) is literal."""
    if "*" not in pattern:
        return pattern == text
    rx = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(rx, text) is not None


def threshold_matches(key: str, bench: str, metric: str) -> bool:
    """Whether the threshold ``key`` (``METRIC`` or ``BENCH:METRIC``, ``*`` wildcards)
    applies to ``metric`` of ``bench``."""
    b, sep, m = key.rpartition(":")
    if sep and not _glob(b, bench):
        return False
    return any(_glob(m, name) for name in metric_family(metric))


def threshold_for(thresholds: Mapping[str, Threshold], bench: str, metric: str
                  ) -> Threshold | None:
    """The threshold governing ``metric`` of ``bench``: the most specific that applies."""
    for name in metric_family(metric):
        exact = thresholds.get(f"{bench}:{name}") or thresholds.get(name)
        if exact is not None:
            return exact
        for bench_first in (True, False):
            for key, th in thresholds.items():
                b, sep, m = key.rpartition(":")
                if bool(sep) == bench_first and "*" in key and (
                        not sep or _glob(b, bench)) and _glob(m, name):
                    return th
    return None


_threshold_for = threshold_for


def unmatched_thresholds(keys: Iterable[str], present: Iterable[tuple[str, str]]
                         ) -> list[str]:
    """The threshold keys that apply to no (benchmark, metric) pair of ``present``."""
    pairs = list(present)
    return [k for k in keys if not any(threshold_matches(k, b, m) for b, m in pairs)]


def compared_metrics(result: Result) -> dict[str, Metric]:
    """The metrics of a result as a comparison sees them: a sweep's at every size
    (``time[n=100]``, ``time.parse[n=100]`` …) instead of its largest size alone."""
    by_size = result.extra.get("by_size") if result.kind == "sweep" else None
    if not isinstance(by_size, list) or not by_size:
        return dict(result.metrics)
    out: dict[str, Metric] = {}
    seen: set[str] = set()
    top = by_size[-1].get("n") if isinstance(by_size[-1], Mapping) else None
    for point in by_size:
        n, ms = point.get("n"), point.get("metrics")
        if not isinstance(n, int) or not isinstance(ms, Mapping):
            continue
        for k, d in ms.items():
            seen.add(k)
            m = Metric.from_dict(d, f"{result.name} by_size n={n} {k}")
            if m.kind == "distribution" and not m.samples:
                # Files from before per-size samples: the largest size has them at the top
                # level; the other sizes hold a median only and are not compared.
                if n != top or k not in result.metrics:
                    continue
                m = result.metrics[k]
            out[size_metric(k, n)] = m
    for k, m in result.metrics.items():  # run-wide metrics (n_plus_one) stay as they are
        if k not in seen:
            out[k] = m
    return out


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


def _badness(ratio: float, lo: float, hi: float, higher_better: bool
             ) -> tuple[float, float, float]:
    if higher_better:
        return 1 / ratio, 1 / hi, 1 / lo
    return ratio, lo, hi


TICK_RUN_NOISE = 0.03  # load runs: run-to-run allowance beside the per-tick CI


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
        # per-tick CIs of one load run per side hold the run's own noise, not the next
        # run's: a change is called only when the whole CI clears this allowance
        noise = TICK_RUN_NOISE if c.unit_of_analysis == "tick" else 0.0
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
        how = (f"{a.size} vs {b.size} {unit_of_analysis}"
               f"{'es' if unit_of_analysis == 'process' else 's'}, Mann-Whitney U, "
               "Hodges-Lehmann CI")
        if unit_of_analysis == "round":
            how += ("; one process per side: process-to-process variation is not in this "
                    "CI — use `perfgate compare --against` for a gate")
    dist = (0.0, 0.0)
    if unit_of_analysis == "round":
        dist = (float(np.log(np.quantile(a, 0.9) / np.quantile(a, 0.1))),
                float(np.log(np.quantile(b, 0.9) / np.quantile(b, 0.1))))
    return replace(empty, base=float(np.median(a)), current=float(np.median(b)),
                   ratio=math.exp(est), ci=(math.exp(lo), math.exp(hi)),
                   p_value=p, p_adjusted=p, evidence=how, disturbance=dist)


def _units(m: Metric) -> tuple[list[float] | None, Unit]:
    pm = m.extra.get("process_medians") if m.extra else None
    if isinstance(pm, list) and len(pm) >= 3:
        return [float(x) for x in pm], "process"
    if m.samples and len(m.samples) >= 3:
        return list(m.samples), "round"
    return None, "value"


def _process_floats(m: Metric, key: str) -> list[float] | None:
    pw = m.extra.get(key) if m.extra else None
    if isinstance(pw, list) and all(isinstance(w, int | float) for w in pw):
        return [float(w) for w in pw]
    return None


def _process_waits(m: Metric) -> list[float] | None:
    return _process_floats(m, "process_waits")


def _waited(m: Metric) -> float:
    w = m.extra.get("cpu_wait") if m.extra else None
    return float(w) if isinstance(w, int | float) and 0 <= w < 1 else 0.0


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
                      evidence="instructions per call: repeatable counts, compared as "
                      "they are (no process-level noise estimate needed)"
                      if metric == "instructions" else
                      "single values (no samples): compared as they are")


def finish(raw: Iterable[Comparison], alpha: float, min_effect: float) -> list[Comparison]:
    """Holm-adjust the p-values of ``raw`` together, then decide each status and level."""
    items = [with_cpu_wait(with_run_noise(c, None)) for c in raw]  # rounds alone never decide
    adj = holm([c.p_value if c.p_value is not None else math.nan for c in items])
    done = []
    for c, p in zip(items, adj, strict=True):
        c2 = replace(c, p_adjusted=None if math.isnan(p) else p)
        done.append(_decide(c2, alpha, min_effect))
    return done


def compare_metrics(name: str, base: Mapping[str, Metric], current: Mapping[str, Metric],
                    thresholds: Mapping[str, Threshold], metrics: Iterable[str] | None = None,
                    noise: Mapping[tuple[str, str], RunNoise] | None = None
                    ) -> list[Comparison]:
    """Undecided comparisons of one benchmark of two saved runs: the timing metrics, plus
    every metric named by a threshold (or exactly ``metrics`` when given). ``noise``: the
    measured run-to-run noise per (benchmark, metric)."""
    if metrics is None:
        wanted = [k for k in current if k in base and (
            base_metric(k) in ("time", "latency", "capacity") or k.startswith("time.")
            or _threshold_for(thresholds, name, k) is not None)]
    else:
        chosen = set(metrics)
        wanted = [k for k in current if k in base
                  and (k in chosen or base_metric(k) in chosen)]
    noise = noise or {}
    out = []
    for k in wanted:
        bm, cm = base[k], current[k]
        th = _threshold_for(thresholds, name, k)
        bu, bunit = _units(bm)
        cu, cunit = _units(cm)
        waited = (_waited(bm), _waited(cm))
        if bu is not None and cu is not None and bunit == cunit == "process":
            bw, cw = _process_waits(bm), _process_waits(cm)
            c = compare_saved_processes(name, k, bm.unit, bu, bw, cu, cw, threshold=th,
                                        higher_is_better=k in HIGHER_IS_BETTER,
                                        noise=noise.get((name, k)),
                                        base_refs=_process_floats(bm, "process_references"),
                                        current_refs=_process_floats(cm, "process_references"))
            # each process's wait is in the model; a run-level widening would count it twice
            out.append(replace(c, waited=(0.0, 0.0) if bw and cw else waited))
        elif bu is not None and cu is not None:
            c = compare_samples(name, k, bm.unit, list(bm.samples or bu),
                                list(cm.samples or cu), paired=False,
                                unit_of_analysis="round", threshold=th)
            out.append(with_run_noise(replace(c, waited=waited), noise.get((name, k))))
        elif k == "ops" and "time" in base and "time" in current:
            out.append(_ops_from_time(name, bm, cm, th, base["time"], current["time"],
                                      noise))
        elif _timing_headline(k, bm, cm):
            # a timing with its headline only (a pytest-benchmark file saved without
            # --benchmark-save-data): one run per side, judged against run-to-run noise
            c = _value_comparison(name, k, bm, cm, th)
            c = replace(c, unit_of_analysis="round", waited=waited, evidence=(
                "headline values only (the files hold no rounds or processes)"))
            out.append(with_run_noise(c, noise.get((name, k))))
        else:
            out.append(_value_comparison(name, k, bm, cm, th))
    return out


def _ops_from_time(name: str, bm: Metric, cm: Metric, th: Threshold | None,
                   bt: Metric, ct: Metric, noise: Mapping[tuple[str, str], RunNoise]
                   ) -> Comparison:
    """Operations per second are 1 / time per call: judged as the time comparison is, with
    its noise and its CI inverted. Compared as two numbers, two runs of the same code
    8 % apart in ops failed a `--threshold ops=5%` with no noise estimate at all."""
    (c,) = compare_metrics(name, {"time": bt}, {"time": ct}, {}, ["time"], noise)
    c = with_cpu_wait(with_run_noise(c, None))  # all that finish() does to a time
    if c.ratio is None or not c.ratio > 0 or c.ci is None:
        return _value_comparison(name, "ops", bm, cm, th)
    lo, hi = c.ci
    ci = (1 / hi if hi > 0 else 0.0, 1 / lo if lo > 0 else math.inf)
    return replace(c, metric="ops", unit=bm.unit, base=bm.central, current=cm.central,
                   ratio=1 / c.ratio, ci=ci,
                   threshold=th, higher_is_better=True, waited=(0.0, 0.0),
                   evidence=f"1 / time per call, judged with the time's noise: {c.evidence}")


def _timing_headline(key: str, bm: Metric, cm: Metric) -> bool:
    """A timing distribution known only by its headline value on either side: it varies
    from run to run like any timing, so comparing it "as it is" would call noise a
    change (two pytest-benchmark files 8 % apart failed with no noise estimate at all)."""
    return (base_metric(key) in ("time", "latency") and bm.kind == cm.kind == "distribution"
            and bm.central is not None and cm.central is not None)


def compare_resultsets(base: ResultSet, current: ResultSet, *,
                       thresholds: Mapping[str, Threshold] | None = None,
                       alpha: float = 0.05, min_effect: float = 0.01,
                       metrics: Iterable[str] | None = None,
                       base_label: str = "base", current_label: str = "current",
                       noise: Mapping[tuple[str, str], RunNoise] | None = None
                       ) -> CompareReport:
    """Compare every benchmark present in both runs (matched by name). ``noise`` gives the
    measured run-to-run noise per (benchmark, metric), for sides of one process each."""
    if not 0 < alpha < 1:
        raise UsageError(f"alpha must be in (0, 1), got {alpha}")
    if min_effect < 0:
        raise UsageError("the minimum effect must be ≥ 0")
    th = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    base_by = {r.name: r for r in base.results if r.error is None}
    raw: list[Comparison] = []
    metric_list = list(metrics) if metrics is not None else None
    one_side: list[str] = []
    for r in current.results:
        b = base_by.get(r.name)
        if b is None or r.error is not None:
            continue
        if r.kind == b.kind == "load":  # per-tick replication: analysis/compare_load.py
            from perfgate.analysis.compare_load import compare_load

            raw.extend(compare_load(b, r, th, metric_list))
            continue
        bm, cm = compared_metrics(b), compared_metrics(r)
        one_side.extend(f"{r.name} {k}" for k in sorted(set(bm) ^ set(cm))
                        if "[n=" in k and base_metric(k) == "time")
        # saved runs: what one run cannot show of the next one's noise (history, or assumed)
        raw.extend(compare_metrics(r.name, bm, cm, th, metric_list, noise))
    cur_names = {r.name for r in current.results}
    missing = tuple(sorted(cur_names.symmetric_difference(base_by))) + tuple(one_side)
    return CompareReport(tuple(finish(raw, alpha, min_effect)), alpha, min_effect,
                         base_label, current_label, missing)
