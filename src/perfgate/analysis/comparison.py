"""The typed outcome of comparing two runs: :class:`Comparison` (one benchmark's metric),
:class:`CompareReport` (all of them), :class:`Threshold` (how much worse a metric may get).

Kept apart from the statistics that produce them (:mod:`perfgate.analysis.compare`) so that
kind-specific comparers (load results: :mod:`perfgate.analysis.compare_load`) and the
reports use the same types without importing each other. JSON: ``to_dict``/``from_dict``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from perfgate._errors import ResultFormatError
from perfgate.units import format_value

__all__ = ["DEFAULT_THRESHOLDS", "CompareReport", "CompareStatus", "Comparison", "Level",
           "Threshold", "Unit", "base_metric", "size_metric"]

CompareStatus = Literal["regression", "improvement", "unchanged", "inconclusive"]
Level = Literal["fail", "warn", "ok"]
Unit = Literal["process", "round", "run", "tick", "value"]


def size_metric(metric: str, n: int) -> str:
    """The name of ``metric`` at one size of a sweep: ``time[n=1000]``."""
    return f"{metric}[n={n}]"


def base_metric(metric: str) -> str:
    """``time.parse[n=1000]`` → ``time.parse``: the metric a per-size name measures."""
    head, sep, _ = metric.partition("[n=")
    return head if sep and metric.endswith("]") else metric



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
    # counts repeat to ~0.01 %: a 1 % change is real, and compared with no noise estimate
    "instructions": Threshold(0.01, text="1%"),
}


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
    # One process per side: the spread of each side's rounds, log(p90 / p10) — a process
    # the machine disturbed shows it here.
    disturbance: tuple[float, float] = (0.0, 0.0)
    # Share of each side's timed rounds that its thread spent waiting for a CPU (other
    # processes held it): the run was measured in other conditions (analysis.compare).
    waited: tuple[float, float] = (0.0, 0.0)

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

    @classmethod
    def from_dict(cls, d: Any, where: str = "comparison") -> Comparison:
        """Read back :meth:`to_dict` (``perfgate compare --json``); a CI may also be given as
        ``ci_low``/``ci_high``. Raises ResultFormatError naming the bad field."""
        if not isinstance(d, Mapping):
            raise ResultFormatError(f"{where}: expected an object")

        def number(key: str, value: Any = None) -> float | None:
            v = d.get(key) if value is None else value
            if v is None:
                return None
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ResultFormatError(f"{where}: {key!r} must be a number, not {v!r}")
            return float(v)

        ci_raw = d.get("ci")
        if isinstance(ci_raw, list | tuple) and len(ci_raw) == 2:
            lo, hi = number("ci", ci_raw[0]), number("ci", ci_raw[1])
        else:
            lo, hi = number("ci_low"), number("ci_high")
        status = d.get("status", "inconclusive")
        if status not in ("regression", "improvement", "unchanged", "inconclusive"):
            raise ResultFormatError(f"{where}: unknown status {status!r}")
        level = d.get("level", "fail" if status == "regression" else "ok")
        if level not in ("fail", "warn", "ok"):
            raise ResultFormatError(f"{where}: unknown level {level!r}")
        unit_of = d.get("unit_of_analysis", "value")
        if unit_of not in ("process", "round", "run", "tick", "value"):
            unit_of = "value"
        return cls(
            name=str(d.get("name", "?")), metric=str(d.get("metric", "")),
            unit=str(d.get("unit", "1")), base=number("base"), current=number("current"),
            ratio=number("ratio"), ci=(lo, hi) if lo is not None and hi is not None else None,
            p_value=number("p_value"), p_adjusted=number("p_adjusted"), status=status,
            level=level, unit_of_analysis=unit_of, n_base=int(d.get("n_base") or 0),
            n_current=int(d.get("n_current") or 0),
            threshold=None, higher_is_better=bool(d.get("higher_is_better", False)),
            evidence=str(d.get("evidence") or ""),
        )


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

    @classmethod
    def from_dict(cls, d: Any, where: str = "comparison document") -> CompareReport:
        """Read back :meth:`to_dict`; a bare list of comparisons is accepted too."""
        if isinstance(d, list):
            d = {"comparisons": d}
        if not isinstance(d, Mapping) or not isinstance(d.get("comparisons"), list):
            raise ResultFormatError(f"{where}: expected an object with a 'comparisons' list")
        known = {"schema", "kind", "base", "current", "alpha", "min_effect", "failed",
                 "missing", "comparisons"}
        try:
            alpha, min_effect = float(d.get("alpha", 0.05)), float(d.get("min_effect", 0.01))
        except (TypeError, ValueError):
            raise ResultFormatError(f"{where}: 'alpha' and 'min_effect' must be numbers"
                                    ) from None
        return cls(
            comparisons=tuple(Comparison.from_dict(c, f"{where}: comparisons[{i}]")
                              for i, c in enumerate(d["comparisons"])),
            alpha=alpha, min_effect=min_effect, base_label=str(d.get("base", "base")),
            current_label=str(d.get("current", "current")),
            missing=tuple(str(m) for m in d.get("missing") or ()),
            extra={k: v for k, v in d.items() if k not in known},
        )
