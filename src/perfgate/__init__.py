"""perfgate: performance tests that teams can trust.

The public API. Everything else is private and may change.
"""

from __future__ import annotations

__version__ = "0.1.0"

from perfgate._errors import (
    CheckSyntaxError,
    ExpectationFailed,
    PerfgateError,
    ResultFormatError,
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
    "count_queries",
    "discover",
    "evaluate",
    "expect",
    "load",
    "open",
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
