"""perfgate: performance tests that teams can trust.

The public API. Everything else is private and may change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

__version__ = "0.1.0"

from perfgate._errors import (
    CheckSyntaxError,
    ExpectationFailed,
    PerfgateError,
    ResultFormatError,
    StoreError,
    TargetError,
    UnitError,
    UnknownMetricError,
    UsageError,
)
from perfgate.analysis.checks import Check, apply_checks, evaluate, parse_check
from perfgate.analysis.complexity import Complexity
from perfgate.analysis.complexity import classify as classify_complexity
from perfgate.bench import BenchOptions, BurstOutcome, Label, bench_callable, burst, parallel, phase
from perfgate.bench._sweep import sweep
from perfgate.env import collect as collect_environment
from perfgate.load import HttpClient, Request, Response, closed, expect, load, open, scenario
from perfgate.model import Environment, Metric, Result, ResultSet, Verdict, read_json, write_json
from perfgate.probes import QueryProbe, count_queries
from perfgate.probes import wrap as wrap_connection
from perfgate.runner import Interrupted, run_specs
from perfgate.suite import bench, burst_case, discover, parallel_case

if _TYPE_CHECKING:
    from perfgate.analysis.compare import compare_resultsets
    from perfgate.store import open_store

# Imported on first use: SQLAlchemy and the comparison statistics cost more to import than
# the rest of perfgate together, and a pytest run with the plugin loaded should not pay it.
_LAZY = {"open_store": "perfgate.store", "compare_resultsets": "perfgate.analysis.compare"}


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'perfgate' has no attribute {name!r}")

__all__ = [
    "BenchOptions",
    "BurstOutcome",
    "Check",
    "CheckSyntaxError",
    "Complexity",
    "Environment",
    "ExpectationFailed",
    "HttpClient",
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
    "load",
    "open",
    "open_store",
    "parallel",
    "parallel_case",
    "parse_check",
    "phase",
    "read_json",
    "run_specs",
    "scenario",
    "sweep",
    "wrap_connection",
    "write_json",
]
