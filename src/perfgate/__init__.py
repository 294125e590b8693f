"""perfgate: performance tests that teams can trust.

The public API. Everything else is private and may change.

Names are imported on first use (PEP 562): pytest imports this package in every project
that installs perfgate, and the engines, numpy and SQLAlchemy should cost nothing there
until a test uses them.
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

__version__ = "0.1.0"
from perfgate._errors import (
    CheckSyntaxError,
    ExpectationFailed,
    FaultError,
    PerfgateError,
    ResultFormatError,
    StoreError,
    TargetError,
    UnitError,
    UnknownMetricError,
    UsageError,
)

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "BenchOptions": ("perfgate.bench", "BenchOptions"),
    "BurstOutcome": ("perfgate.bench", "BurstOutcome"),
    "Check": ("perfgate.analysis.checks", "Check"),
    "Complexity": ("perfgate.analysis.complexity", "Complexity"),
    "Environment": ("perfgate.model", "Environment"),
    "FaultProxy": ("perfgate.faults", "Proxy"),
    "HttpFaultProxy": ("perfgate.faults", "HttpFaultProxy"),
    "HttpClient": ("perfgate.load", "HttpClient"),
    "Interrupted": ("perfgate.runner", "Interrupted"),
    "Label": ("perfgate.bench", "Label"),
    "Metric": ("perfgate.model", "Metric"),
    "QueryProbe": ("perfgate.probes", "QueryProbe"),
    "Request": ("perfgate.load", "Request"),
    "Response": ("perfgate.load", "Response"),
    "Result": ("perfgate.model", "Result"),
    "ResultSet": ("perfgate.model", "ResultSet"),
    "Verdict": ("perfgate.model", "Verdict"),
    "apply_checks": ("perfgate.analysis.checks", "apply_checks"),
    "baseline": ("perfgate.faults", "baseline"),
    "bench": ("perfgate.suite", "bench"),
    "bench_callable": ("perfgate.bench", "bench_callable"),
    "burst": ("perfgate.bench", "burst"),
    "burst_case": ("perfgate.suite", "burst_case"),
    "classify_complexity": ("perfgate.analysis.complexity", "classify"),
    "closed": ("perfgate.load", "closed"),
    "collect_environment": ("perfgate.env", "collect"),
    "compare_resultsets": ("perfgate.analysis.compare", "compare_resultsets"),
    "count_queries": ("perfgate.probes", "count_queries"),
    "discover": ("perfgate.suite", "discover"),
    "evaluate": ("perfgate.analysis.checks", "evaluate"),
    "expect": ("perfgate.load", "expect"),
    "fault": ("perfgate.faults", "fault"),
    "faulty": ("perfgate.faults", "faulty"),
    "load": ("perfgate.load", "load"),
    "open": ("perfgate.load", "open"),
    "open_store": ("perfgate.store", "open_store"),
    "parallel": ("perfgate.bench", "parallel"),
    "parallel_case": ("perfgate.suite", "parallel_case"),
    "parse_check": ("perfgate.analysis.checks", "parse_check"),
    "phase": ("perfgate.bench", "phase"),
    "read_json": ("perfgate.model", "read_json"),
    "recovery": ("perfgate.faults", "recovery"),
    "run_specs": ("perfgate.runner", "run_specs"),
    "scenario": ("perfgate.load", "scenario"),
    "sweep": ("perfgate.bench._sweep", "sweep"),
    "wrap_connection": ("perfgate.probes", "wrap"),
    "write_json": ("perfgate.model", "write_json"),
}

if _TYPE_CHECKING:
    from perfgate.analysis.checks import Check, apply_checks, evaluate, parse_check
    from perfgate.analysis.compare import compare_resultsets
    from perfgate.analysis.complexity import Complexity
    from perfgate.analysis.complexity import classify as classify_complexity
    from perfgate.bench import (
        BenchOptions,
        BurstOutcome,
        Label,
        bench_callable,
        burst,
        parallel,
        phase,
    )
    from perfgate.bench._sweep import sweep
    from perfgate.env import collect as collect_environment
    from perfgate.faults import HttpFaultProxy, baseline, fault, faulty, recovery
    from perfgate.faults import Proxy as FaultProxy
    from perfgate.load import HttpClient, Request, Response, closed, expect, load, open, scenario
    from perfgate.model import (
        Environment,
        Metric,
        Result,
        ResultSet,
        Verdict,
        read_json,
        write_json,
    )
    from perfgate.probes import QueryProbe, count_queries
    from perfgate.probes import wrap as wrap_connection
    from perfgate.runner import Interrupted, run_specs
    from perfgate.store import open_store
    from perfgate.suite import bench, burst_case, discover, parallel_case


def __getattr__(name: str) -> _Any:
    spec = _EXPORTS.get(name)
    if spec is None:
        raise AttributeError(f"module 'perfgate' has no attribute {name!r}")
    value = getattr(_importlib.import_module(spec[0]), spec[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _Package(_types.ModuleType):
    """``perfgate.load`` and ``perfgate.bench`` are subpackages *and* public functions
    (``pg.load(...)``, ``@pg.bench``). Importing a subpackage sets it as an attribute of
    its parent; here that must not hide the function."""

    def __setattr__(self, name: str, value: _Any) -> None:
        if name in ("load", "bench") and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package

__all__ = [
    "BenchOptions",
    "BurstOutcome",
    "Check",
    "CheckSyntaxError",
    "Complexity",
    "Environment",
    "ExpectationFailed",
    "FaultError",
    "FaultProxy",
    "HttpClient",
    "HttpFaultProxy",
    "Interrupted",
    "Label",
    "Metric",
    "PerfgateError",
    "QueryProbe",
    "Request",
    "Response",
    "Result",
    "ResultFormatError",
    "ResultSet",
    "StoreError",
    "TargetError",
    "UnitError",
    "UnknownMetricError",
    "UsageError",
    "Verdict",
    "__version__",
    "apply_checks",
    "baseline",
    "bench",
    "bench_callable",
    "burst",
    "burst_case",
    "classify_complexity",
    "closed",
    "collect_environment",
    "compare_resultsets",
    "count_queries",
    "discover",
    "evaluate",
    "expect",
    "fault",
    "faulty",
    "load",
    "open",
    "open_store",
    "parallel",
    "parallel_case",
    "parse_check",
    "phase",
    "read_json",
    "recovery",
    "run_specs",
    "scenario",
    "sweep",
    "wrap_connection",
    "write_json",
]
