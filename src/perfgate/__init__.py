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
    TargetTimeout,
    UnitError,
    UnknownMetricError,
    UsageError,
)

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "BenchOptions": ("perfgate.bench", "BenchOptions"),
    "BenchSpec": ("perfgate.spec", "BenchSpec"),
    "BurstOutcome": ("perfgate.bench", "BurstOutcome"),
    "BurstSpec": ("perfgate.spec", "BurstSpec"),
    "CacheProbe": ("perfgate.probes", "CacheProbe"),
    "CapacityEvidence": ("perfgate.analysis.capacity_result", "CapacityEvidence"),
    "CapacitySpec": ("perfgate.spec", "CapacitySpec"),
    "Change": ("perfgate.analysis.changepoints", "Change"),
    "Check": ("perfgate.analysis.checks", "Check"),
    "Complexity": ("perfgate.analysis.complexity", "Complexity"),
    "Environment": ("perfgate.model", "Environment"),
    "FaultProxy": ("perfgate.faults", "Proxy"),
    "HttpClient": ("perfgate.load", "HttpClient"),
    "HttpFaultProxy": ("perfgate.faults", "HttpFaultProxy"),
    "HttpProbe": ("perfgate.probes", "HttpProbe"),
    "Interrupted": ("perfgate._errors", "Interrupted"),
    "Label": ("perfgate.bench", "Label"),
    "LoadSpec": ("perfgate.spec", "LoadSpec"),
    "Metric": ("perfgate.model", "Metric"),
    "NoSamplesError": ("perfgate._errors", "NoSamplesError"),
    "ParallelSpec": ("perfgate.spec", "ParallelSpec"),
    "QueryProbe": ("perfgate.probes", "QueryProbe"),
    "Request": ("perfgate.load", "Request"),
    "Response": ("perfgate.load", "Response"),
    "Result": ("perfgate.model", "Result"),
    "ResultSet": ("perfgate.model", "ResultSet"),
    "Spec": ("perfgate.spec", "Spec"),
    "SweepSpec": ("perfgate.spec", "SweepSpec"),
    "Verdict": ("perfgate.model", "Verdict"),
    "VersusOptions": ("perfgate.bench._versus", "VersusOptions"),
    "VersusSpec": ("perfgate.spec", "VersusSpec"),
    "apply_checks": ("perfgate.analysis.checks", "apply_checks"),
    "baseline": ("perfgate.faults", "baseline"),
    "bench": ("perfgate.suite", "bench"),
    "bench_callable": ("perfgate._api", "bench_callable"),
    "burst": ("perfgate._api", "burst"),
    "burst_case": ("perfgate.suite", "burst_case"),
    "capacity": ("perfgate._api", "capacity"),
    "classify_complexity": ("perfgate.analysis.complexity", "classify"),
    "closed": ("perfgate.load", "closed"),
    "closed_model": ("perfgate.load", "closed"),
    "collect_environment": ("perfgate.env", "collect"),
    "compare_resultsets": ("perfgate.analysis.compare", "compare_resultsets"),
    "count_cache_calls": ("perfgate.probes", "count_cache_calls"),
    "count_http_calls": ("perfgate.probes", "count_http_calls"),
    "count_instructions": ("perfgate.bench._instructions", "count_instructions"),
    "count_queries": ("perfgate.probes", "count_queries"),
    "detect_changes": ("perfgate.analysis.changepoints", "detect_changes"),
    "discover": ("perfgate.suite", "discover"),
    "evaluate": ("perfgate.analysis.checks", "evaluate"),
    "expect": ("perfgate.load", "expect"),
    "fault": ("perfgate.faults", "fault"),
    "faulty": ("perfgate.faults", "faulty"),
    "load": ("perfgate._api", "load"),
    "open": ("perfgate.load", "open"),
    "open_model": ("perfgate.load", "open"),
    "open_store": ("perfgate.store", "open_store"),
    "parallel": ("perfgate._api", "parallel"),
    "parallel_case": ("perfgate.suite", "parallel_case"),
    "parse_check": ("perfgate.analysis.checks", "parse_check"),
    "phase": ("perfgate.bench", "phase"),
    "read_json": ("perfgate.model", "read_json"),
    "recovery": ("perfgate.faults", "recovery"),
    "run": ("perfgate.runner", "run"),
    "run_all": ("perfgate.runner", "run_all"),
    "run_specs": ("perfgate.runner", "run_specs"),
    "scenario": ("perfgate.suite", "scenario"),
    "sweep": ("perfgate._api", "sweep"),
    "trend_verdict": ("perfgate.analysis.trend", "trend_verdict"),
    "versus": ("perfgate._api", "versus"),
    "wrap_connection": ("perfgate.probes", "wrap"),
    "write_json": ("perfgate.model", "write_json"),
}

if _TYPE_CHECKING:
    from perfgate._api import (
        bench_callable,
        burst,
        capacity,
        load,
        parallel,
        sweep,
        versus,
    )
    from perfgate._errors import Interrupted, NoSamplesError
    from perfgate.analysis.capacity_result import CapacityEvidence
    from perfgate.analysis.changepoints import Change, detect_changes
    from perfgate.analysis.checks import Check, apply_checks, evaluate, parse_check
    from perfgate.analysis.compare import compare_resultsets
    from perfgate.analysis.complexity import Complexity
    from perfgate.analysis.complexity import classify as classify_complexity
    from perfgate.analysis.trend import trend_verdict
    from perfgate.bench import BenchOptions, BurstOutcome, Label, phase
    from perfgate.bench._instructions import count_instructions
    from perfgate.bench._versus import VersusOptions
    from perfgate.env import collect as collect_environment
    from perfgate.faults import HttpFaultProxy, baseline, fault, faulty, recovery
    from perfgate.faults import Proxy as FaultProxy
    from perfgate.load import HttpClient, Request, Response, closed, expect, open
    from perfgate.load import closed as closed_model
    from perfgate.load import open as open_model
    from perfgate.model import (
        Environment,
        Metric,
        Result,
        ResultSet,
        Verdict,
        read_json,
        write_json,
    )
    from perfgate.probes import (
        CacheProbe,
        HttpProbe,
        QueryProbe,
        count_cache_calls,
        count_http_calls,
        count_queries,
    )
    from perfgate.probes import wrap as wrap_connection
    from perfgate.runner import run, run_all, run_specs
    from perfgate.spec import (
        BenchSpec,
        BurstSpec,
        CapacitySpec,
        LoadSpec,
        ParallelSpec,
        Spec,
        SweepSpec,
        VersusSpec,
    )
    from perfgate.store import open_store
    from perfgate.suite import bench, burst_case, discover, parallel_case, scenario


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
    "BenchSpec",
    "BurstOutcome",
    "BurstSpec",
    "CacheProbe",
    "CapacityEvidence",
    "CapacitySpec",
    "Change",
    "Check",
    "CheckSyntaxError",
    "Complexity",
    "Environment",
    "ExpectationFailed",
    "FaultError",
    "FaultProxy",
    "HttpClient",
    "HttpFaultProxy",
    "HttpProbe",
    "Interrupted",
    "Label",
    "LoadSpec",
    "Metric",
    "NoSamplesError",
    "ParallelSpec",
    "PerfgateError",
    "QueryProbe",
    "Request",
    "Response",
    "Result",
    "ResultFormatError",
    "ResultSet",
    "Spec",
    "StoreError",
    "SweepSpec",
    "TargetError",
    "TargetTimeout",
    "UnitError",
    "UnknownMetricError",
    "UsageError",
    "Verdict",
    "VersusOptions",
    "VersusSpec",
    "__version__",
    "apply_checks",
    "baseline",
    "bench",
    "bench_callable",
    "burst",
    "burst_case",
    "capacity",
    "classify_complexity",
    "closed",
    "closed_model",
    "collect_environment",
    "compare_resultsets",
    "count_cache_calls",
    "count_http_calls",
    "count_instructions",
    "count_queries",
    "detect_changes",
    "discover",
    "evaluate",
    "expect",
    "fault",
    "faulty",
    "load",
    "open",
    "open_model",
    "open_store",
    "parallel",
    "parallel_case",
    "parse_check",
    "phase",
    "read_json",
    "recovery",
    "run",
    "run_all",
    "run_specs",
    "scenario",
    "sweep",
    "trend_verdict",
    "versus",
    "wrap_connection",
    "write_json",
]
