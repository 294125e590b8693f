"""The Result of a capacity search (kind ``capacity``) and its typed evidence.

Metrics: ``capacity`` — a gauge in 1/s: the highest offered rate at which every check
passed robustly, with ``ci_low``/``ci_high`` the bracket ``[low, high]`` (``ci_high``
absent when nothing failed up to the maximum rate; the metric itself absent when the search
could not say, e.g. bounded by the generator); ``probes`` (counter) and ``search_time``
(gauge, s). The evidence lives in ``extra["capacity"]``, read and written by
:class:`CapacityEvidence`; docs/results-format.md documents it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perfgate._errors import ResultFormatError
from perfgate.analysis.capacity import Probe, RampTick, Search
from perfgate.model import Metric, Result

__all__ = [
    "EXTRA_KEY",
    "CapacityEvidence",
    "Ramp",
    "build_result",
    "curve",
]

EXTRA_KEY = "capacity"


@dataclass(frozen=True)
class Ramp:
    """The ramp that guessed where to probe first: its rates, duration, guess and ticks."""

    start_rate: float
    end_rate: float
    seconds: float
    guess: float | None
    ticks: tuple[RampTick, ...] = ()
    warnings: tuple[str, ...] = ()
    interrupted: bool = False  # by Ctrl-C (not written: the Result says so)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_rate": self.start_rate, "end_rate": self.end_rate,
            "seconds": round(self.seconds, 3), "guess": self.guess,
            "ticks": [[t.rate, t.requests, t.errors, t.p99 if math.isfinite(t.p99) else None]
                      for t in self.ticks],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "ramp") -> Ramp:
        try:
            ticks = tuple(RampTick(float(r), int(n), int(e), math.nan if p is None else float(p))
                          for r, n, e, p in d.get("ticks") or ())
            guess = d.get("guess")
            return cls(float(d["start_rate"]), float(d["end_rate"]), float(d["seconds"]),
                       None if guess is None else float(guess), ticks,
                       tuple(str(w) for w in d.get("warnings") or ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultFormatError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class CapacityEvidence:
    """``extra["capacity"]`` of a capacity Result: why the search stopped, its bracket,
    the ramp, and every probe in the order it ran."""

    stop: str
    message: str
    low: float | None
    high: float | None
    confirmed: bool
    probes: tuple[Probe, ...]
    generator_limit: float | None = None
    ramp: Ramp | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stop": self.stop, "message": self.message, "low": self.low, "high": self.high,
            "confirmed": self.confirmed, "generator_limit": self.generator_limit,
            "ramp": self.ramp.to_dict() if self.ramp is not None else None,
            "probes": [p.to_dict() for p in self.probes],
        }

    @classmethod
    def from_dict(cls, d: Any, where: str = "capacity") -> CapacityEvidence:
        if not isinstance(d, Mapping) or not isinstance(d.get("probes"), list):
            raise ResultFormatError(f"{where}: expected an object with a 'probes' list")

        def opt(k: str) -> float | None:
            v = d.get(k)
            return None if v is None else float(v)

        try:
            return cls(
                stop=str(d["stop"]), message=str(d.get("message", "")), low=opt("low"),
                high=opt("high"), confirmed=bool(d.get("confirmed", False)),
                probes=tuple(Probe.from_dict(p, f"{where} probe {i}")
                             for i, p in enumerate(d["probes"])),
                generator_limit=opt("generator_limit"),
                ramp=Ramp.from_dict(d["ramp"], f"{where} ramp") if d.get("ramp") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultFormatError(f"{where}: {exc}") from None

    @classmethod
    def of(cls, result: Result) -> CapacityEvidence | None:
        """The evidence of a capacity result (None for other kinds)."""
        raw = result.extra.get(EXTRA_KEY)
        if result.kind != "capacity" or raw is None:
            return None
        return cls.from_dict(raw, f"result {result.name!r} capacity")


def build_result(name: str, found: Search, params: Mapping[str, Any],
                 ramp: Ramp | None = None, seconds: float | None = None) -> Result:
    """The capacity Result: the ``capacity`` gauge (when the search could say), the
    evidence, warnings; ``error`` when the search could not measure the service."""
    metrics: dict[str, Metric] = {
        "probes": Metric.counter(len(found.probes)),
        "search_time": Metric.gauge(found.elapsed if seconds is None else seconds, unit="s"),
    }
    if found.capacity is not None:
        metrics["capacity"] = Metric(
            unit="1/s", kind="gauge", value=found.capacity,
            ci_low=found.low if found.low is not None else 0.0, ci_high=found.high,
            extra={"confirmed": found.confirmed},
        )
    warnings = list(found.warnings)
    if ramp is not None:
        warnings.extend(f"ramp: {w}" for w in ramp.warnings)
    error = found.message if found.stop in ("generator", "error") else None
    evidence = CapacityEvidence(
        stop=found.stop, message=found.message, low=found.low, high=found.high,
        confirmed=found.confirmed, probes=found.probes,
        generator_limit=found.generator_limit, ramp=ramp,
    )
    return Result(name=name, kind="capacity", params=dict(params), metrics=metrics,
                  warnings=tuple(warnings), error=error,
                  extra={EXTRA_KEY: evidence.to_dict()})


def curve(probes: Sequence[Probe]) -> list[Probe]:
    """The probes by offered rate (each rate once: its latest probe), for a plot."""
    latest: dict[float, Probe] = {}
    for p in probes:
        latest[p.rate] = p
    return [latest[r] for r in sorted(latest)]
