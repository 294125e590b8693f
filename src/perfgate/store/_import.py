"""Reading other tools' result files into perfgate's model, so a team keeps its past.

Supported: perfgate JSON, and pytest-benchmark's saved JSON (``--benchmark-autosave``,
``--benchmark-save``, ``--benchmark-json``; versions 3 to 5). From pytest-benchmark each
benchmark becomes a ``bench`` Result whose ``time`` metric carries the summary statistics
and, when the file holds them (``stats.data``), the raw per-round samples.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfgate._errors import ResultFormatError
from perfgate.model import Environment, Metric, Result, ResultSet, read_text

__all__ = ["from_pytest_benchmark", "import_file"]


def _num(x: Any) -> float | None:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


def _env(doc: Mapping[str, Any]) -> Environment:
    mi = doc.get("machine_info") or {}
    ci = doc.get("commit_info") or {}
    cpu = mi.get("cpu") or {}
    commit = ci.get("id")
    if commit in (None, "", "unversioned"):
        commit = None
    branch = ci.get("branch")
    if branch in ("(unknown)", "HEAD", ""):
        branch = None
    platform = " ".join(str(x) for x in (mi.get("system"), mi.get("release"),
                                          mi.get("machine")) if x)
    return Environment(
        python_version=str(mi.get("python_version", "")),
        implementation=str(mi.get("python_implementation", "")),
        platform=platform,
        cpu_model=str(cpu.get("brand_raw") or cpu.get("brand") or mi.get("processor") or ""),
        cpu_count=int(cpu.get("count") or 0),
        hostname=str(mi.get("node", "")),
        started_at=str(doc.get("datetime") or ci.get("time") or ""),
        perfgate_version="",
        git_commit=str(commit) if commit else None,
        git_branch=str(branch) if branch else None,
        git_dirty=bool(ci["dirty"]) if isinstance(ci.get("dirty"), bool) else None,
        extra={"imported_from": "pytest-benchmark",
               "pytest_benchmark_version": str(doc.get("version", ""))},
    )


def _result(b: Mapping[str, Any], where: str) -> Result:
    name = b.get("name") or b.get("fullname")
    stats = b.get("stats")
    if not isinstance(name, str) or not isinstance(stats, Mapping):
        raise ResultFormatError(f"{where}: needs 'name' and 'stats'")
    data = stats.get("data")
    samples = None
    if isinstance(data, list) and data:
        samples = tuple(float(x) for x in data if _num(x) is not None)
    median = _num(stats.get("median"))
    time_metric = Metric(
        unit="s", kind="distribution",
        n=int(stats.get("rounds") or (len(samples) if samples else 0)),
        min=_num(stats.get("min")), max=_num(stats.get("max")), mean=_num(stats.get("mean")),
        median=median, stdev=_num(stats.get("stddev")), iqr=_num(stats.get("iqr")),
        p50=median, samples=samples,
    )
    metrics: dict[str, Metric] = {"time": time_metric}
    if _num(stats.get("ops")):
        metrics["ops"] = Metric.gauge(float(stats["ops"]), "1/s")
    params: dict[str, Any] = dict(b.get("params") or {})
    params["iterations"] = stats.get("iterations")
    params["rounds"] = stats.get("rounds")
    extra: dict[str, Any] = {"fullname": b.get("fullname")}
    if b.get("group"):
        extra["group"] = b["group"]
    if b.get("extra_info"):
        extra["extra_info"] = b["extra_info"]
    return Result(name=name, kind="bench", params=params, metrics=metrics, extra=extra)


def from_pytest_benchmark(doc: Any, where: str = "document") -> ResultSet:
    """Convert a parsed pytest-benchmark JSON document to a ResultSet."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("benchmarks"), list):
        raise ResultFormatError(f"{where}: not a pytest-benchmark results file")
    try:
        results = tuple(_result(b, f"{where}: benchmarks[{i}]") if isinstance(b, Mapping)
                        else _bad(f"{where}: benchmarks[{i}]")
                        for i, b in enumerate(doc["benchmarks"]))
        return ResultSet(environment=_env(doc), results=results)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ResultFormatError):
            raise
        raise ResultFormatError(f"{where}: {exc}") from None


def _bad(where: str) -> Result:
    raise ResultFormatError(f"{where}: expected an object")


def import_file(path: str | Path) -> tuple[ResultSet, str]:
    """Read perfgate or pytest-benchmark JSON; returns the ResultSet and the source name
    (``"perfgate"`` or ``"pytest-benchmark"``)."""
    p = Path(path)
    text = read_text(p)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFormatError(
            f"{p}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:  # the parser recurses once per nesting level
        raise ResultFormatError(f"{p}: JSON nested too deeply to be a results file") from None
    try:
        if isinstance(doc, Mapping) and "benchmarks" in doc and "machine_info" in doc:
            return from_pytest_benchmark(doc, str(p)), "pytest-benchmark"
        if isinstance(doc, Mapping) and "results" in doc:
            return ResultSet.from_dict(doc, str(p)), "perfgate"
    except RecursionError:
        raise ResultFormatError(f"{p}: a value is nested too deeply") from None
    raise ResultFormatError(f"{p}: neither perfgate JSON nor pytest-benchmark JSON")
