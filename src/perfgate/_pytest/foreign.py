"""Results measured by pytest-benchmark itself (when it is the active plugin) as Results.

So ``--perfgate-json`` holds every benchmark of the run whichever plugin timed it. This reads
pytest-benchmark's session object (``config._benchmarksession``), which is not a public API:
anything unexpected there means "no results", never an error in the user's run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from perfgate.model import Result

__all__ = ["pytest_benchmark_results"]


def _convert(bench: Any) -> Result | None:
    from perfgate.analysis.derived import with_derived
    from perfgate.analysis.stats import summarize
    from perfgate.model import Result

    data = [float(x) for x in bench.stats.data]
    if not data or bench.has_error:
        return None
    metrics = {"time": summarize(data, "s")}
    params: dict[str, Any] = {"iterations": int(bench.iterations), "rounds": len(data),
                              "measured_by": "pytest-benchmark"}
    if bench.group is not None:
        params["group"] = bench.group
    if bench.param is not None:
        params["param"] = bench.param
    extra: dict[str, Any] = {"test": bench.fullname}
    if bench.extra_info:
        extra["extra_info"] = dict(bench.extra_info)
    return with_derived(Result(name=bench.fullname, kind="bench", params=params,
                               metrics=metrics, extra=extra))


def pytest_benchmark_results(config: pytest.Config) -> list[Result]:
    session = getattr(config, "_benchmarksession", None)
    out: list[Result] = []
    for bench in getattr(session, "benchmarks", None) or []:
        try:
            r = _convert(bench)
        except (AttributeError, TypeError, ValueError):
            continue
        if r is not None:
            out.append(r)
    return out
