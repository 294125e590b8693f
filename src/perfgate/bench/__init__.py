"""Benchmark engines: timed loops, bursts, sequential vs parallel."""

from perfgate.bench._burst import BurstOutcome, Label, burst
from perfgate.bench._engine import BenchOptions, bench_callable
from perfgate.bench._parallel import parallel
from perfgate.bench._phases import phase
from perfgate.bench._sweep import sweep
from perfgate.bench._versus import VersusOptions, versus

__all__ = ["BenchOptions", "BurstOutcome", "Label", "VersusOptions", "bench_callable", "burst",
           "parallel", "phase", "sweep", "versus"]
