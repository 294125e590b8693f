"""Specs: what to run, typed and frozen, one class per kind of result.

A spec is data. Every entry point — a suite file's decorators, the CLI verbs, the ``pg.*``
functions, the pytest fixtures, the gate — builds one and hands it to
:func:`perfgate.runner.run`, which picks the engine by the spec's type and applies its
checks. Checks are parsed and unit-checked here, once, when the spec is built: a malformed
check or one whose unit cannot fit its metric stops everything before anything is measured.

To add a kind of result: a spec class here, an engine, an entry in the runner's table, and a
view (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from perfgate._errors import UsageError
from perfgate.analysis.checks import Check, parse_check, validate_units
from perfgate.bench._engine import BenchOptions
from perfgate.bench._versus import NONE, VersusOptions
from perfgate.load._executors import Executor

__all__ = [
    "BenchSpec",
    "BurstSpec",
    "CapacitySpec",
    "LoadSpec",
    "ParallelSpec",
    "Spec",
    "SweepSpec",
    "VersusSpec",
    "parse_checks_for",
]


def parse_checks_for(checks: Iterable[str | Check] | str, kind: str) -> tuple[Check, ...]:
    """Parse (strings) and unit-check (against the kind's known metrics) a list of checks."""
    if isinstance(checks, str):
        checks = [checks]
    parsed = tuple(c if isinstance(c, Check) else parse_check(c) for c in checks)
    for c in parsed:
        validate_units(c, kind)
    return parsed


@dataclass(frozen=True, kw_only=True)
class Spec:
    """What every kind has: a name, its checks (parsed), and the file it came from."""

    kind: ClassVar[str] = ""
    name: str
    checks: tuple[Check, ...] = ()
    source: str = ""  # the suite file, for -k and reports

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise UsageError(f"a {self.kind} needs a non-empty name")
        object.__setattr__(self, "checks", parse_checks_for(self.checks, self.kind))

    @property
    def nodeid(self) -> str:
        return f"{self.source}::{self.name}" if self.source else self.name


@dataclass(frozen=True, kw_only=True)
class BenchSpec(Spec):
    """A benchmark of one callable (``setup()``'s value, built once, is its argument).
    ``queries`` / ``calls``: also count database statements / outbound HTTP requests and
    cache commands per call, in untimed passes."""

    kind: ClassVar[str] = "bench"
    fn: Callable[..., Any]
    setup: Callable[[], Any] | None = None
    options: BenchOptions = field(default_factory=BenchOptions)
    queries: bool = False
    calls: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SweepSpec(Spec):
    """One benchmark at each size, every metric's big-O class fitted (docs/sweeps.md).
    ``sizes=None``: chosen within ``budget``; ``options=None``: each size gets a share of it."""

    kind: ClassVar[str] = "sweep"
    fn: Callable[..., Any]
    sizes: tuple[int, ...] | None = None
    setup: Callable[[int], Any] | None = None
    budget: float = 5.0
    options: BenchOptions | None = None
    queries: bool = False
    calls: bool = False
    factory: bool | None = None
    measure: Callable[[int, Any], Mapping[str, float]] | None = None
    noise_floor: float = 0.0  # 0: the complexity fitter's default
    clock: Literal["auto", "wall", "cpu"] = "auto"
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.budget <= 0:
            raise UsageError(f"sweep {self.name!r}: budget must be > 0 seconds")
        if self.clock not in ("auto", "wall", "cpu"):
            raise UsageError(f"sweep: clock must be 'auto', 'wall' or 'cpu', not {self.clock!r}")


@dataclass(frozen=True, kw_only=True)
class BurstSpec(Spec):
    """``n`` calls released at once behind a barrier; outcomes counted. ``args``: one
    argument per call; or ``setup(i)``, called before the barrier, gives call i's."""

    kind: ClassVar[str] = "burst"
    fn: Callable[..., Any]
    n: int = 10
    args: tuple[Any, ...] | None = None
    setup: Callable[[int], Any] | None = None  # setup(i): call i's argument, untimed
    timeout: float = 60.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n < 1:
            raise UsageError("a burst needs n ≥ 1")
        if self.args is not None and self.setup is not None:
            raise UsageError("burst: give args or setup, not both")
        if self.args is not None and len(self.args) != self.n:
            raise UsageError(f"burst: {len(self.args)} args for n={self.n} calls")


@dataclass(frozen=True, kw_only=True)
class ParallelSpec(Spec):
    """Throughput on one worker and on ``workers`` threads or processes."""

    kind: ClassVar[str] = "parallel"
    fn: Callable[[], Any]
    workers: int = 2
    mode: Literal["thread", "process"] = "thread"
    duration: float = 0.2
    trials: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.workers < 1 or self.trials < 1 or self.duration <= 0:
            raise UsageError("parallel: need workers ≥ 1, trials ≥ 1, duration > 0")
        if self.mode not in ("thread", "process"):
            raise UsageError(f"parallel: mode must be 'thread' or 'process', not {self.mode!r}")


@dataclass(frozen=True, kw_only=True)
class VersusSpec(Spec):
    """Two or more callables timed side by side in alternating rounds; the first is the
    baseline (``ratio``, ``overhead`` against it). ``arg``: the value every variant gets."""

    kind: ClassVar[str] = "versus"
    fns: tuple[Callable[..., Any], ...]
    names: tuple[str, ...] | None = None
    arg: Any = NONE
    options: VersusOptions = field(default_factory=VersusOptions)
    clock: Literal["auto", "wall", "cpu"] = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.fns) < 2:
            raise UsageError("versus: give at least two callables to compare")


@dataclass(frozen=True, kw_only=True)
class LoadSpec(Spec):
    """A load test of a URL, Request(s) or callable under an executor (docs/load.md)."""

    kind: ClassVar[str] = "load"
    target: Any
    executor: Executor
    processes: int | None = None
    cluster: str | None = None  # a Dask scheduler or local:N (docs/distributed.md)
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    timeout: float | None = None
    verify: bool = True
    ca_file: str | None = None
    base_url: str = ""
    allow_remote: bool = False
    target_pid: int | None = None
    warmup: float | None = None
    tick: float = 1.0
    grace: float = 2.0
    co_correct: bool | None = None
    faults: tuple[Any, ...] = ()  # perfgate.faults phases, fitted to the run's duration

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cluster is not None:
            from perfgate.load._dask import parse_cluster

            parse_cluster(self.cluster)
        if self.processes is not None and self.processes < 1:
            raise UsageError(f"processes must be ≥ 1, got {self.processes}")
        if self.tick <= 0 or self.grace < 0:
            raise UsageError("tick must be positive and grace not negative")
        if self.timeout is not None and not self.timeout > 0:
            raise UsageError(f"timeout must be > 0 seconds, got {self.timeout!r}")
        if self.target_pid is not None and self.target_pid < 1:
            raise UsageError(f"target_pid must be a process id ≥ 1, got {self.target_pid}")


def sizes_of(sizes: Sequence[int] | str | None, name: str) -> tuple[int, ...] | None:
    """``[10, 100]`` → sorted distinct sizes; ``"auto"``/None → None (chosen by budget)."""
    if sizes is None:
        return None
    if isinstance(sizes, str):
        if sizes.strip().lower() != "auto":
            raise UsageError(f"{name}: sizes must be a list of integers or 'auto'")
        return None
    from perfgate.bench._sweep import check_sizes

    return tuple(check_sizes(sizes))


@dataclass(frozen=True, kw_only=True)
class CapacitySpec(Spec):
    """The highest open-model rate at which every check of ``criteria`` passes
    (docs/capacity.md). ``criteria`` judge each probe (a load run); ``checks`` judge the
    capacity result itself (``capacity >= 500/s``). ``load_options`` are LoadSpec fields
    for the probes (method, headers, body, timeout, base_url, …)."""

    kind: ClassVar[str] = "capacity"
    target: Any
    criteria: tuple[Check, ...] = ()
    max_rate: float | str = "10000/s"
    min_rate: float | str | None = None
    duration: float | str = "5s"
    warmup: float | str = "1s"
    cooldown: float | str = "1s"
    budget: float | str = "5min"
    precision: float = 0.04
    confirm: int = 2
    retries: int = 1
    max_probes: int = 20
    ramp: bool = True
    ramp_doubling: float = 1.5
    processes: int = 1
    max_vus: int = 1000
    max_wait: float | str = 1.0
    load_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "criteria", parse_checks_for(self.criteria, "load"))
        if not self.criteria:
            raise UsageError("a capacity search needs at least one check (--check), e.g. "
                             "'p(95) < 300ms'")
