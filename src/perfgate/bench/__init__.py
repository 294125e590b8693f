"""Benchmark engines: timed loops, bursts, sequential vs parallel.

Names are imported on first use (PEP 562): a worker process of ``processes=N`` imports
``perfgate.bench._isolated`` and must not pay for scipy (pulled in by ``versus``), which
cost ~0.8 s per worker and made ``--processes 5`` take 9 s for a 1 s budget.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from perfgate.bench._burst import BurstOutcome, Label, burst
    from perfgate.bench._engine import BenchOptions, bench_callable
    from perfgate.bench._parallel import parallel
    from perfgate.bench._phases import phase
    from perfgate.bench._sweep import sweep
    from perfgate.bench._versus import VersusOptions, versus

_EXPORTS = {
    "BurstOutcome": "_burst", "Label": "_burst", "burst": "_burst",
    "BenchOptions": "_engine", "bench_callable": "_engine",
    "parallel": "_parallel", "phase": "_phases", "sweep": "_sweep",
    "VersusOptions": "_versus", "versus": "_versus",
}

__all__ = ["BenchOptions", "BurstOutcome", "Label", "VersusOptions", "bench_callable", "burst",
           "parallel", "phase", "sweep", "versus"]


def __getattr__(name: str) -> _Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'perfgate.bench' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"perfgate.bench.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
