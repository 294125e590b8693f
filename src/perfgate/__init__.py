"""perfgate: performance tests that teams can trust.

The public API. Everything else is private and may change.
"""

from __future__ import annotations

__version__ = "0.1.0"

from perfgate._errors import (
    CheckSyntaxError,
    PerfgateError,
    ResultFormatError,
    TargetError,
    UnitError,
    UnknownMetricError,
    UsageError,
)
from perfgate.analysis.checks import Check, apply_checks, evaluate, parse_check
from perfgate.bench import BenchOptions, BurstOutcome, Label, bench_callable, burst, parallel, phase
from perfgate.env import collect as collect_environment
from perfgate.model import Environment, Metric, Result, ResultSet, Verdict, read_json, write_json
from perfgate.runner import Interrupted, run_specs
from perfgate.suite import bench, burst_case, discover, parallel_case

__all__ = [
    "BenchOptions",
    "BurstOutcome",
    "Check",
    "CheckSyntaxError",
    "Environment",
    "Interrupted",
    "Label",
    "Metric",
    "PerfgateError",
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
    "collect_environment",
    "discover",
    "evaluate",
    "parallel",
    "parallel_case",
    "parse_check",
    "phase",
    "read_json",
    "run_specs",
    "write_json",
]
