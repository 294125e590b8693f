"""Change points in a benchmark's history: where its level stepped, and where it drifted.

The method is binary segmentation with a rank statistic and a permutation test — the
nonparametric cousin of E-divisive means (MongoDB, Apache Otava), chosen by measurement
(``benchmarks/changepoints_accuracy.py`` prints both beside ``ruptures``):

1. Values are compared on a log scale (a step is a ratio). Within a segment, every split
   point t is scored by the standardised Mann-Whitney statistic of the values before t
   against those after (one cumulative sum of the ranks gives all of them at once). Ranks
   make a single wild run move the score by one rank, not by its size, so **an outlier is
   not a change point**.
2. Significance: the largest |Z| against the same maximum over the segment's values
   randomly permuted (``perms`` times, seeded, stopped early once it cannot reach
   ``alpha``). The permutation test is exact for any noise distribution and accounts for
   having searched every t. Where the change lies is then the split of least squares
   (segments up to 400 runs; the largest |Z| beyond) on the series with each run clipped to
   within 3 robust SDs of its 5-run neighbourhood's median — least squares places a step
   more exactly than ranks or absolute deviations, and the clipping keeps an outlier run
   from pulling it; after segmentation each change is placed again between its neighbours
   the same way. (Measured on the synthetic benchmark: least absolute deviation found 94 %
   of the ≥ 5 % steps within ±2 runs with 13.9 % of changes off a true step; clipped least
   squares with alpha 0.005 finds more and places them better — figures in
   docs/history.md.)
3. A significant split is kept and both sides are searched again, until no segment holds a
   significant split (each side must keep ``min_size`` runs). Then a change whose two
   neighbouring segments do not differ at its own place (Mann-Whitney, p > ``alpha``) is
   dropped, one at a time.
4. **Drift or step.** Consecutive changes in the same direction are fitted as steps (one
   level per segment) and as one ramp (flat, a straight line over ≥ 8 runs, flat); when
   the ramp's BIC beats the steps' by ``DRIFT_MARGIN`` (strong evidence), they are one
   drift, reported with its Theil-Sen slope per run. Both fits use the clipped series: one
   wild run would otherwise add the same huge residual to both and hide their difference.
   A lower margin calls more drifts but merged real steps into drifts in the synthetic
   benchmark (recall of ≥ 5 % steps 95 % instead of 96 %).
5. Each step's size is the Hodges-Lehmann ratio of the segment after to the one before,
   with its distribution-free 95 % CI; its ``p_value`` is the permutation p.
6. Where a step lies is uncertain by as much as it is small against the noise: its
   ``located`` interval (95 %) resamples the residuals around the two fitted levels and
   places each resample by least squares. On the synthetic benchmark the intervals held
   the true step for 97-99 % of the steps found; they bound the commits to bisect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats as _st

from perfgate._errors import UsageError
from perfgate.analysis.compare import (
    HIGHER_IS_BETTER,
    MIN_HISTORY,
    Comparison,
    Threshold,
    hodges_lehmann_unpaired,
    noise_interval,
    run_noise,
)
from perfgate.analysis.run_noise import both_readings, machine_level, steady_runs

__all__ = ["Change", "detect_changes", "newest_step", "split_statistic"]

FloatArray = NDArray[np.float64]
_SEED = 20261129
_BATCH = 100
_THEIL_MAX = 400
_PLACE_MAX = 400  # segments up to this long are split where the cost is least (quadratic)
_CLIP = 3.0  # robust SDs: a run further from its neighbours' median counts as this far
_SIGMA_FLOOR = 1e-4
_LOCATE_BOOT = 400
_LOCATE_SPAN = 300  # runs either side of a step that its location interval looks at
DRIFT_MARGIN = 6.0  # BIC points ("strong evidence") by which a ramp must beat the steps
MIN_DRIFT = 8  # runs: a shorter ramp is a step as far as a history can tell
RECENT = 5  # runs on a new level during which the gate still compares it with the old one


@dataclass(frozen=True)
class Change:
    """A step (``start == end``: the first run of the new level) or a drift (runs
    ``start`` … ``end`` move steadily) in a series; indices count from its oldest run."""

    kind: Literal["step", "drift"]
    start: int
    end: int
    ratio: float  # level after / level before (a drift: its total over start … end)
    ci: tuple[float, float]  # 95 % CI of the ratio
    p_value: float
    slope: float | None = None  # a drift: relative change per run
    # a step: 95 % interval of its first run (where a bisection must look); a drift: None
    located: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end,
                "ratio": self.ratio, "ci": list(self.ci), "p_value": self.p_value,
                "slope": self.slope,
                "located": list(self.located) if self.located is not None else None}


def split_statistic(x: FloatArray, min_size: int) -> FloatArray:
    """|Z| of the rank-sum of x[:t] against x[t:] for t = min_size … len(x) - min_size;
    x may be 2-D (one row per permutation of ranks)."""
    m = x.shape[-1]
    t = np.arange(min_size, m - min_size + 1, dtype=np.float64)
    w = np.cumsum(x, axis=-1)[..., min_size - 1:m - min_size]
    z: FloatArray = (w - t * (m + 1) / 2) / np.sqrt(t * (m - t) * (m + 1) / 12)
    return np.abs(z)


def _best_split(x: FloatArray, sigma: float, min_size: int, alpha: float, perms: int,
                rng: np.random.Generator) -> tuple[int, float] | None:
    """(split index, permutation p) of the strongest split of x, or None if below alpha;
    ``sigma``: the series' run-to-run noise, for placing the split (:func:`_cost`)."""
    m = x.size
    if m < 2 * min_size:
        return None
    ranks = _st.rankdata(x)
    if np.ptp(ranks) == 0:
        return None
    z = split_statistic(ranks, min_size)
    best = int(np.argmax(z))
    observed = float(z[best]) - 1e-9
    exceed, done = 0, 0
    limit = alpha * (perms + 1) - 1  # more exceedances than this: not significant
    while done < perms:
        k = min(_BATCH, perms - done)
        shuffled = rng.permuted(np.broadcast_to(ranks, (k, m)), axis=1)
        exceed += int(np.sum(split_statistic(shuffled, min_size).max(axis=1) >= observed))
        done += k
        if exceed > limit:
            return None
    p = (exceed + 1) / (perms + 1)
    if p > alpha:
        return None
    if m <= _PLACE_MAX:  # the rank test says a change exists; least squares places it
        costs = [_cost(x[:t], x[t:], sigma) for t in range(min_size, m - min_size + 1)]
        return min_size + int(np.argmin(costs)), p
    return best + min_size, p


def _bic(rss: float, n: int, k: int) -> float:
    return n * math.log(max(rss, 1e-300) / n) + k * math.log(n)


def _refine(x: FloatArray, cuts: list[int], min_size: int, sigma: float) -> list[int]:
    """Each cut moved to the split of least cost between its neighbours: binary
    segmentation placed it against the whole segment, which may hold other steps."""
    out = list(cuts)
    for k, c in enumerate(out):
        a = out[k - 1] if k else 0
        b = cuts[k + 1] if k + 1 < len(cuts) else x.size
        lo, hi = max(a + min_size, c - 6), min(b - min_size, c + 6)
        if hi > lo:
            costs = [_cost(x[a:t], x[t:b], sigma) for t in range(lo, hi + 1)]
            out[k] = lo + int(np.argmin(costs))
    return out


def _noise(x: FloatArray) -> float:
    """Robust run-to-run SD of a log series: the MAD of successive differences / √2 (a step
    moves one difference, an outlier two — neither moves the median)."""
    if x.size < 3:
        return _SIGMA_FLOOR
    d = np.diff(x)
    return max(_SIGMA_FLOOR, 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2))


def _clipped(y: FloatArray, sigma: float) -> FloatArray:
    """y with each value pulled to within ``_CLIP`` σ of its neighbourhood's median (5 runs):
    a lone outlier run keeps its side of a step but loses its weight."""
    if y.size < 3:
        return y
    pad = np.pad(y, 2, mode="edge")
    med = np.median(np.lib.stride_tricks.sliding_window_view(pad, 5), axis=1)
    out: FloatArray = med + np.clip(y - med, -_CLIP * sigma, _CLIP * sigma)
    return out


def _cost(left: FloatArray, right: FloatArray, sigma: float) -> float:
    """Squared deviations on each side, each residual from the side's median clipped at
    ``_CLIP`` σ (then centred): the Gaussian likelihood, which places a step more exactly than
    absolute deviations (efficiency 1 against 0.64), with an outlier's weight capped."""
    total = 0.0
    for side in (left, right):
        r = np.clip(side - np.median(side), -_CLIP * sigma, _CLIP * sigma)
        total += float(((r - r.mean()) ** 2).sum())
    return total


def _locate(y: FloatArray, cut: int, min_size: int, rng: np.random.Generator
            ) -> tuple[int, int]:
    """95 % interval of a step's first run in y (the clipped series between its neighbouring
    changes; the step placed at ``cut``): the fitted two levels plus the residuals
    resampled, ``_LOCATE_BOOT`` times, each placed again by least squares. A step of one
    noise SD lands several runs either way (what the history knows of where it happened);
    a large one, on its run."""
    if y.size > 2 * _LOCATE_SPAN:  # where a step lies is a local question: its neighbourhood
        a = min(max(0, cut - _LOCATE_SPAN), y.size - 2 * _LOCATE_SPAN)
        lo, hi = _locate(y[a:a + 2 * _LOCATE_SPAN], cut - a, min_size, rng)
        return a + lo, a + hi
    m = y.size
    left, right = y[:cut].mean(), y[cut:].mean()
    fitted = np.where(np.arange(m) < cut, left, right)
    resid = y - fitted
    sims = fitted + resid[rng.integers(0, m, size=(_LOCATE_BOOT, m))]
    sims -= sims.mean(axis=1, keepdims=True)
    t = np.arange(min_size, m - min_size + 1)
    head = np.cumsum(sims, axis=1)[:, t - 1]
    # least squares: the split that explains most of the sum of squares, for each resample
    gain = head ** 2 / t + head ** 2 / (m - t)
    placed = t[np.argmax(gain, axis=1)]
    lo, hi = np.quantile(placed, [0.025, 0.975], method="inverted_cdf")
    return min(int(lo), cut), max(int(hi), cut)


def _ramp(y: FloatArray, s_range: range, e_range: range, min_len: int
          ) -> tuple[float, int, int]:
    """Best flat–line–flat fit of y with a ramp of ≥ min_len runs: (rss, s, e)."""
    t = np.arange(y.size, dtype=np.float64)
    best = (math.inf, 0, 0)
    for s in s_range[:: max(1, len(s_range) // 16)]:
        for e in e_range[:: max(1, len(e_range) // 16)]:
            if e - s < min_len:
                continue
            basis = np.column_stack([np.ones_like(t), np.clip((t - s) / (e - s), 0, 1)])
            coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
            rss = float(np.sum((y - basis @ coef) ** 2))
            if rss < best[0]:
                best = (rss, s, e)
    return best


def _prune(x: FloatArray, cuts: list[int], found: dict[int, float], min_size: int,
           sigma: float, alpha: float) -> tuple[list[int], dict[int, float]]:
    """Drop, one at a time, the change whose two neighbouring segments do not differ
    (Mann-Whitney at the fixed split, p > ``alpha``), and place the others again: binary
    segmentation tests a split against its whole segment, and a segment between two steps
    can keep a split that its neighbours no longer support once all changes are known."""
    while cuts:
        bounds = [0, *cuts, x.size]
        ps = [float(_st.mannwhitneyu(x[bounds[k]:c], x[c:bounds[k + 2]]).pvalue)
              for k, c in enumerate(cuts)]
        worst = int(np.argmax(ps))
        if ps[worst] <= alpha:
            break
        p_of = [found[c] for k, c in enumerate(cuts) if k != worst]
        cuts = _refine(x, cuts[:worst] + cuts[worst + 1:], min_size, sigma)
        found = dict(zip(cuts, p_of, strict=True))
    return cuts, found


def _runs_same_sign(x: FloatArray, bounds: list[int]) -> list[tuple[int, int]]:
    """Maximal runs (i, j) of consecutive changes moving the level the same way."""
    signs = [np.sign(np.median(x[bounds[i + 1]:bounds[i + 2]])
                     - np.median(x[bounds[i]:bounds[i + 1]])) for i in range(len(bounds) - 2)]
    out, i = [], 0
    while i < len(signs):
        j = i
        while j + 1 < len(signs) and signs[j + 1] == signs[i]:
            j += 1
        out.append((i, j))
        i = j + 1
    return out


def detect_changes(values: Sequence[float], *, alpha: float = 0.005, min_size: int = 3,
                   perms: int = 999, seed: int = _SEED) -> list[Change]:
    """Steps and drifts in ``values`` (oldest first, all > 0), in order of position."""
    if not 0 < alpha < 1:
        raise UsageError(f"alpha must be in (0, 1), got {alpha}")
    if min_size < 2:
        raise UsageError("min_size must be ≥ 2 (one run alone is an outlier, not a level)")
    v = np.asarray(values, dtype=np.float64)
    if v.size and (not np.all(np.isfinite(v)) or np.any(v <= 0)):
        raise UsageError("a series for change points must hold finite values > 0")
    x = np.log(v)
    sigma = _noise(x)
    xc = _clipped(x, sigma)
    rng = np.random.default_rng(seed)
    found: dict[int, float] = {}
    todo = [(0, x.size)]
    while todo:
        a, b = todo.pop()
        hit = _best_split(x[a:b], sigma, min_size, alpha, perms, rng)
        if hit is not None:
            cut = a + hit[0]
            found[cut] = hit[1]
            todo += [(a, cut), (cut, b)]
    cuts = _refine(x, sorted(found), min_size, sigma)
    found = dict(zip(cuts, (found[c] for c in sorted(found)), strict=True))
    cuts, found = _prune(x, cuts, found, min_size, sigma, alpha)
    bounds = [0, *cuts, x.size]
    out: list[Change] = []
    for i, j in _runs_same_sign(x, bounds):
        lo_b, hi_b = bounds[i], bounds[j + 2]
        y = xc[lo_b:hi_b]  # clipped: one wild run must not drown the two fits' difference
        # Steps: one level per segment; a drift: flat, a straight ramp, flat (4 parameters).
        rss_steps = sum(float(np.sum((xc[bounds[k]:bounds[k + 1]]
                                      - np.mean(xc[bounds[k]:bounds[k + 1]])) ** 2))
                        for k in range(i, j + 2))
        rss_ramp, s0, e0 = _ramp(y, range(0, cuts[i] - lo_b + 1),
                                 range(cuts[j] - lo_b, y.size), MIN_DRIFT)
        k_steps = 2 * (j - i + 1) + 1
        if _bic(rss_ramp, y.size, 4) + DRIFT_MARGIN < _bic(rss_steps, y.size, k_steps):
            p = max(found[c] for c in cuts[i:j + 1])
            out.append(_drift(x, lo_b + s0, lo_b + e0 + 1, p))
            continue
        for k in range(i, j + 1):
            c = cuts[k]
            est, lo, hi, _p = hodges_lehmann_unpaired(x[bounds[k]:c], x[c:bounds[k + 2]])
            a, b = _locate(xc[bounds[k]:bounds[k + 2]], c - bounds[k], min_size, rng)
            out.append(Change("step", c, c, math.exp(est), (math.exp(lo), math.exp(hi)),
                              found[c], located=(bounds[k] + a, bounds[k] + b)))
    return out


def _drift(x: FloatArray, a: int, b: int, p: float) -> Change:
    """A drift over x[a:b]: Theil-Sen slope per run and its 95 % CI, as total ratios."""
    y, t = x[a:b], np.arange(b - a, dtype=np.float64)
    if y.size > _THEIL_MAX:  # Theil-Sen is quadratic: an even thinning keeps the slope
        keep = np.linspace(0, y.size - 1, _THEIL_MAX).astype(int)
        y, t = y[keep], t[keep]
    slope, _icept, lo, hi = _st.theilslopes(y, t, 0.95)
    span = b - a - 1
    return Change("drift", a, b - 1, math.exp(slope * span),
                  (math.exp(lo * span), math.exp(hi * span)), p, math.exp(slope) - 1)


def newest_step(values: Sequence[float], name: str, metric: str, unit: str, *,
                threshold: Threshold | None = None, window: int = 200,
                run_ids: Sequence[int] | None = None,
                machine: Sequence[float | None] | None = None) -> Comparison:
    """The newest runs of a series (oldest first) against the level before them: an
    undecided comparison (:func:`perfgate.analysis.compare.finish` decides it with the
    others).

    The level is the mean log value of the runs since the last change point found in the
    ``window`` runs before them (at most 20 of them); the noise is the run-to-run spread of
    the history (:func:`perfgate.analysis.compare.run_noise`). The newest k runs (k = 1 …
    ``RECENT``, the newest among them) get a t interval of σ·√(1/k + 1/m) against a level
    of m runs, and the k that differs most is reported, with its p-value and interval
    Bonferroni-corrected for the ``RECENT`` tries. So **a recent step is not the new
    normal**: a 5 % regression that one noisy run could not show is seen with each run that
    lands on it, instead of becoming the level it is compared with; after ``RECENT`` runs
    the new level is the history. A newest run that is a lone outlier looks like the start
    of a step until the next run: alpha bounds how often that fails the gate."""
    ids = list(run_ids) if run_ids is not None else list(range(len(values)))
    levels = list(machine) if machine is not None and len(machine) == len(values) \
        else [None] * len(values)
    kept = [(float(x), i, lv) for x, i, lv in zip(values, ids, levels, strict=True)
            if x is not None and math.isfinite(x) and x > 0]
    v, ids, mach = [x for x, _, _ in kept], [i for _, i, _ in kept], [m for _, _, m in kept]
    hib = metric in HIGHER_IS_BETTER
    undecided = Comparison(name=name, metric=metric, unit=unit, base=None,
                           current=v[-1] if v else None, ratio=None, ci=None, p_value=None,
                           p_adjusted=None, status="inconclusive", level="ok",
                           unit_of_analysis="run", n_base=max(0, len(v) - 1), n_current=1,
                           threshold=threshold, higher_is_better=hib)
    # the noise of the machine's usual state: runs the host slowed are not its spread
    noise = run_noise(steady_runs(v[-window - 1:-1], mach[-window - 1:-1]))
    if noise is None:
        return replace(undecided, evidence=f"{max(0, len(v) - 1)} earlier stored run(s): at "
                       f"least {MIN_HISTORY} are needed to know the run-to-run noise")
    tries = [k for k in range(1, RECENT + 1) if len(v) - k >= MIN_HISTORY]
    # |z|, k, first run of the level, the level, the estimate, after a change point?, and
    # how many runs the level holds
    best: tuple[float, int, int, float, float, bool, int] | None = None
    for k in tries:
        hist = v[-window - k:-k]
        changes = detect_changes(hist)
        start = max([c.end + 1 if c.kind == "drift" else c.start for c in changes],
                    default=0)
        first = max(min(start, len(hist) - 2), len(hist) - 20)
        at = len(v) - k - len(hist) + first  # the level's first run in v
        # the level of the machine's usual state: a run the host slowed is not the code's
        steady = steady_runs(hist[first:], mach[at:len(v) - k])
        level = float(np.log(np.asarray(steady)).mean())
        est = float(np.log(np.asarray(v[-k:])).mean()) - level
        z = abs(est) / (noise.sigma * math.sqrt(1 / k + 1 / len(steady)))
        if best is None or z > best[0]:
            best = (z, k, at, level, est, start > 0, len(steady))
    assert best is not None  # len(v) - 1 ≥ MIN_HISTORY: k = 1 is always tried
    _z, k, first, level, est, after_change, m = best
    scale = math.sqrt(1 / k + 1 / m)
    se = noise.sigma * scale
    n_tries = len(tries)
    q = float(_st.t.ppf(1 - 0.025 / n_tries, noise.df))
    p = min(1.0, n_tries * float(2 * _st.t.sf(abs(est) / se, noise.df)))
    # the largest single-run difference the history showed, scaled to this comparison
    wide = replace(noise, largest=noise.largest * scale / math.sqrt(1 + 1 / m))
    newest = "newest run" if k == 1 else f"newest {k} runs ({ids[-k]}–{ids[-1]})"
    since = " (since the last change point)" if after_change else ""
    ci = noise_interval(est, se, q, wide)
    off = len(v) - k - first - m
    since += (f" ({off} run(s) on a machine in another state left out)" if off else "")
    evidence = (f"{newest} against the level of runs {ids[first]}–{ids[-k - 1]}{since}; "
                f"run-to-run σ {100 * noise.sigma:.1f}% from {noise.runs} runs; the most "
                f"telling of the newest 1–{n_tries} runs, Bonferroni-corrected")
    now_m, then_m = machine_level(mach[-k:]), machine_level(mach[first:len(v) - k])
    # the machine ran at another speed in the newest runs: as for two saved runs, a
    # verdict needs both readings (run_noise.both_readings)
    read = both_readings(
        est, math.log(now_m / then_m) if now_m and then_m else 0.0,
        lambda x: noise_interval(x, se, q, wide),
        lambda x: min(1.0, n_tries * float(2 * _st.t.sf(abs(x) / se, noise.df))),
        newest, "level's runs")
    if read is not None:
        est, ci, p = read.est, (read.lo, read.hi), max(p, read.p)
        evidence += f"; {read.note}"
    return replace(undecided, base=math.exp(level),
                   current=math.exp(float(np.log(np.asarray(v[-k:])).mean())),
                   ratio=math.exp(est), ci=ci, p_value=p, p_adjusted=p, n_base=m,
                   n_current=k, evidence=evidence)
