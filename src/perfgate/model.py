"""The data model that carries every measurement from engines to reports.

A :class:`ResultSet` (one run: an :class:`Environment` and its :class:`Result` s) is what
engines produce, the store keeps and reports render. Its JSON form is a contract, described
in ``docs/results-format.md``.

Schema history (bump ``SCHEMA`` only for changes old readers would misread):
    1 — first version (perfgate 0.1).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from perfgate._errors import ResultFormatError, UnknownMetricError

__all__ = [
    "DISTRIBUTION_FIELDS",
    "SCHEMA",
    "Environment",
    "Metric",
    "MetricKind",
    "Result",
    "ResultSet",
    "Status",
    "Verdict",
    "read_json",
    "read_text",
    "write_atomic",
    "write_json",
]

SCHEMA = 1
MAX_INLINE_SAMPLES = 10_000  # raw samples above this count are left out of the JSON

MetricKind = Literal["distribution", "counter", "gauge", "series"]
Status = Literal["pass", "warn", "fail", "inconclusive"]
_KINDS = ("distribution", "counter", "gauge", "series")
_STATUSES = ("pass", "warn", "fail", "inconclusive")

DISTRIBUTION_FIELDS = (
    "n", "min", "max", "mean", "median", "stdev", "iqr",
    "p50", "p90", "p95", "p99", "ci_low", "ci_high",
)


def _clean(x: Any) -> Any:
    """JSON has no NaN/inf: store them as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass(frozen=True)
class Metric:
    """One measured quantity.

    ``distribution`` metrics carry the summary statistics (``DISTRIBUTION_FIELDS``) and,
    when small enough, their raw ``samples``; ``counter`` and ``gauge`` metrics carry
    ``value`` (a gauge may carry ``ci_low``/``ci_high``); ``series`` metrics carry
    ``points``: ``[t, value]`` pairs with t in seconds from the start.
    """

    unit: str
    kind: MetricKind
    value: float | None = None
    n: int | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    median: float | None = None
    stdev: float | None = None
    iqr: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    outliers: int | None = None
    samples: tuple[float, ...] | None = None
    points: tuple[tuple[float, float], ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def counter(cls, value: float, unit: str = "1", **extra: Any) -> Metric:
        return cls(unit=unit, kind="counter", value=value, extra=extra)

    @classmethod
    def gauge(
        cls, value: float, unit: str = "1", ci: tuple[float, float] | None = None, **extra: Any
    ) -> Metric:
        lo, hi = ci if ci is not None else (None, None)
        return cls(unit=unit, kind="gauge", value=value, ci_low=lo, ci_high=hi, extra=extra)

    @property
    def central(self) -> float | None:
        """The headline number: median for distributions, value otherwise."""
        return self.median if self.kind == "distribution" else self.value

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"unit": self.unit, "kind": self.kind}
        if self.value is not None:
            d["value"] = _clean(self.value)
        for name in (*DISTRIBUTION_FIELDS, "outliers"):
            v = getattr(self, name)
            if v is not None:
                d[name] = _clean(v)
        if self.samples is not None and len(self.samples) <= MAX_INLINE_SAMPLES:
            d["samples"] = [_clean(s) for s in self.samples]
        if self.points is not None:
            d["points"] = [[_clean(t), _clean(v)] for t, v in self.points]
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "metric") -> Metric:
        if not isinstance(d, Mapping):
            raise ResultFormatError(f"{where}: expected an object")
        unit, kind = d.get("unit"), d.get("kind")
        if not isinstance(unit, str) or kind not in _KINDS:
            raise ResultFormatError(f"{where}: needs a string 'unit' and a 'kind' in {_KINDS}")
        known = {"unit", "kind", "value", "outliers", "samples", "points", *DISTRIBUTION_FIELDS}
        kw: dict[str, Any] = {}
        try:
            for name in ("value", *DISTRIBUTION_FIELDS):
                if d.get(name) is not None:
                    kw[name] = int(d[name]) if name == "n" else float(d[name])
            if d.get("outliers") is not None:
                kw["outliers"] = int(d["outliers"])
            if d.get("samples") is not None:
                kw["samples"] = tuple(float(s) for s in d["samples"] if s is not None)
            if d.get("points") is not None:
                kw["points"] = tuple((float(t), float(v)) for t, v in d["points"])
        except (TypeError, ValueError) as exc:
            raise ResultFormatError(f"{where}: {exc}") from None
        extra = {k: v for k, v in d.items() if k not in known}
        return cls(unit=unit, kind=kind, extra=extra, **kw)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check against one result."""

    check: str
    status: Status
    value: float | None
    limit: float | None
    evidence: str
    unit: str = "1"
    warn_limit: float | None = None
    ci: tuple[float, float] | None = None

    @property
    def ok(self) -> bool:
        """True unless the check failed (warn and inconclusive do not fail a run)."""
        return self.status != "fail"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "check": self.check,
            "status": self.status,
            "value": _clean(self.value),
            "limit": _clean(self.limit),
            "evidence": self.evidence,
            "unit": self.unit,
        }
        if self.warn_limit is not None:
            d["warn_limit"] = _clean(self.warn_limit)
        if self.ci is not None:
            d["ci"] = [_clean(self.ci[0]), _clean(self.ci[1])]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "verdict") -> Verdict:
        if not isinstance(d, Mapping):
            raise ResultFormatError(f"{where}: expected an object")
        status = d.get("status")
        if status not in _STATUSES or not isinstance(d.get("check"), str):
            raise ResultFormatError(f"{where}: needs 'check' and a 'status' in {_STATUSES}")
        ci = d.get("ci")

        def num(x: Any) -> float | None:
            return None if x is None else float(x)

        try:
            return cls(
                check=d["check"],
                status=status,
                value=num(d.get("value")),
                limit=num(d.get("limit")),
                evidence=str(d.get("evidence", "")),
                unit=str(d.get("unit", "1")),
                warn_limit=num(d.get("warn_limit")),
                ci=(float(ci[0]), float(ci[1])) if ci and None not in ci else None,
            )
        except (TypeError, ValueError) as exc:
            raise ResultFormatError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class Result:
    """What one benchmark, burst, sweep or load test measured, and the verdicts on it.

    ``extra`` holds kind-specific top-level fields (a sweep's ``sizes`` and
    ``complexity``, a load test's ``errors_examples`` …) and is written beside the others.
    ``error`` is set when the target raised: metrics measured before that are kept.
    ``error_kind`` says whose fault it was: ``"target"`` (it raised, hung, exited — the
    default when ``error`` is set) or ``"check"`` (a check could not be evaluated on what
    was measured: an input error, exit code 2).
    """

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    verdicts: tuple[Verdict, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    error_kind: Literal["target", "check"] | None = None

    def metric(self, name: str) -> Metric:
        try:
            return self.metrics[name]
        except KeyError:
            raise UnknownMetricError(name, list(self.metrics), f"result {self.name!r}") from None

    def with_verdicts(self, verdicts: Iterable[Verdict]) -> Result:
        return replace(self, verdicts=tuple(verdicts))

    @property
    def status(self) -> Status | Literal["error"]:
        """Worst verdict: fail > inconclusive > warn > pass; "error" when the target raised."""
        if self.error is not None:
            return "error"
        statuses = {v.status for v in self.verdicts}
        for s in ("fail", "inconclusive", "warn"):
            if s in statuses:
                return s
        return "pass"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "params": dict(self.params),
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "verdicts": [v.to_dict() for v in self.verdicts],
        }
        if self.warnings:
            d["warnings"] = list(self.warnings)
        if self.error is not None:
            d["error"] = self.error
            if self.error_kind == "check":
                d["error_kind"] = "check"
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "result") -> Result:
        if not isinstance(d, Mapping):
            raise ResultFormatError(f"{where}: expected an object")
        name, kind = d.get("name"), d.get("kind")
        if not isinstance(name, str) or not isinstance(kind, str):
            raise ResultFormatError(f"{where}: needs string 'name' and 'kind'")
        where = f"{where} {name!r}"
        metrics_raw = d.get("metrics", {})
        verdicts_raw = d.get("verdicts", [])
        params = d.get("params", {})
        if not isinstance(metrics_raw, Mapping) or not isinstance(verdicts_raw, list):
            raise ResultFormatError(f"{where}: 'metrics' must be an object, 'verdicts' a list")
        if not isinstance(params, Mapping):
            raise ResultFormatError(f"{where}: 'params' must be an object")
        known = {"name", "kind", "params", "metrics", "verdicts", "warnings", "error",
                 "error_kind"}
        error = d.get("error")
        error_kind = d.get("error_kind")
        if error is not None:
            error_kind = "check" if error_kind == "check" else "target"
        return cls(
            name=name,
            kind=kind,
            params=dict(params),
            metrics={
                str(k): Metric.from_dict(v, f"{where} metric {k!r}") for k, v in metrics_raw.items()
            },
            verdicts=tuple(
                Verdict.from_dict(v, f"{where} verdict {i}") for i, v in enumerate(verdicts_raw)
            ),
            warnings=tuple(str(w) for w in d.get("warnings", ())),
            error=None if error is None else str(error),
            extra={k: v for k, v in d.items() if k not in known},
            error_kind=error_kind if error is not None else None,
        )


@dataclass(frozen=True)
class Environment:
    """Where and when a run happened. See :func:`perfgate.env.collect`."""

    python_version: str = ""
    implementation: str = ""
    platform: str = ""
    cpu_model: str = ""
    cpu_count: int = 0
    hostname: str = ""
    started_at: str = ""
    perfgate_version: str = ""
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "python_version": self.python_version,
            "implementation": self.implementation,
            "platform": self.platform,
            "cpu_model": self.cpu_model,
            "cpu_count": self.cpu_count,
            "hostname": self.hostname,
            "started_at": self.started_at,
            "perfgate_version": self.perfgate_version,
            "git_commit": self.git_commit,
            "git_branch": self.git_branch,
            "git_dirty": self.git_dirty,
        }
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Environment:
        if not isinstance(d, Mapping):
            raise ResultFormatError("environment: expected an object")
        names = {
            "python_version", "implementation", "platform", "cpu_model", "cpu_count",
            "hostname", "started_at", "perfgate_version", "git_commit", "git_branch",
            "git_dirty",
        }
        kw = {k: d[k] for k in names if k in d}
        try:
            kw["cpu_count"] = int(kw.get("cpu_count") or 0)
        except (TypeError, ValueError):
            raise ResultFormatError("environment: 'cpu_count' must be an integer") from None
        return cls(**kw, extra={k: v for k, v in d.items() if k not in names})


@dataclass(frozen=True)
class ResultSet:
    """One run: the environment it ran in and every result it produced."""

    environment: Environment
    results: tuple[Result, ...] = ()

    @property
    def passed(self) -> bool:
        return all(r.status not in ("fail", "error") for r in self.results)

    def get(self, name: str) -> Result:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "environment": self.environment.to_dict(),
            "results": [r.to_dict() for r in self.results],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, default=str)

    @classmethod
    def from_dict(cls, d: Any, where: str = "document") -> ResultSet:
        if not isinstance(d, Mapping) or "results" not in d:
            raise ResultFormatError(f"{where}: not a perfgate results document")
        schema = d.get("schema")
        if schema != SCHEMA:
            raise ResultFormatError(
                f"{where}: schema {schema!r} is not supported (this perfgate reads {SCHEMA})"
            )
        results = d["results"]
        if not isinstance(results, list):
            raise ResultFormatError(f"{where}: 'results' must be a list")
        return cls(
            environment=Environment.from_dict(d.get("environment", {})),
            results=tuple(
                Result.from_dict(r, f"{where}: results[{i}]") for i, r in enumerate(results)
            ),
        )

    @classmethod
    def from_json(cls, text: str, where: str = "document") -> ResultSet:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ResultFormatError(
                f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except RecursionError:  # the parser recurses once per nesting level
            raise ResultFormatError(f"{where}: JSON nested too deeply to be a results "
                                    "document") from None
        try:
            return cls.from_dict(data, where)
        except RecursionError:
            raise ResultFormatError(f"{where}: a value is nested too deeply") from None


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed over it: a crash or a
    full disk mid-write never leaves a truncated file, and a failed write leaves no
    ``.tmp`` behind (the error, an ``OSError``, is raised for the caller to report).
    A path that is not a regular file (``/dev/stdout``, a FIFO) is written into directly;
    a symlink keeps pointing where it did."""
    p = Path(path)
    # a lone surrogate (a name from undecodable bytes) is written visibly, never a crash
    raw = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    if p.exists() and not p.is_file():  # /dev/stdout, a FIFO, a device: write into it,
        with open(p, "wb") as f:        # never rename a file over it
            f.write(raw)
        return
    if p.is_symlink():  # replace the file the link names, and keep the link
        p = p.resolve()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())  # a full disk shows here, not after the rename
        tmp.replace(p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: str | Path, rs: ResultSet) -> None:
    """Write atomically: a crash mid-write never leaves a truncated results file."""
    write_atomic(path, rs.to_json() + "\n")


def read_text(path: str | Path) -> str:
    """A results file's text, or a ResultFormatError naming the file."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultFormatError(f"{p}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ResultFormatError(f"{p}: not a text file") from None


def read_json(path: str | Path) -> ResultSet:
    return ResultSet.from_json(read_text(path), str(path))
