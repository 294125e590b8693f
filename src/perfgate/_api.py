"""The ``pg.*`` functions that run something now: each builds a spec and calls the runner.

``pg.bench_callable``, ``pg.sweep``, ``pg.burst``, ``pg.parallel`` and ``pg.load`` take
``checks=`` alike; a failed check is in the returned Result's verdicts (inside a pytest
test, the ``perf`` fixture and the plugin turn it into a failed test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from perfgate.analysis.checks import Check
from perfgate.bench._burst import BurstOutcome
from perfgate.bench._calls import NO_ARG
from perfgate.bench._engine import BenchOptions, Progress
from perfgate.load._api import StageSpec, make_executor
from perfgate.load._executors import Executor
from perfgate.load._run import LiveStats
from perfgate.model import Result
from perfgate.runner import Clock, run
from perfgate.spec import (
    BenchSpec,
    BurstSpec,
    LoadSpec,
    ParallelSpec,
    SweepSpec,
    parse_checks_for,
    sizes_of,
)

__all__ = ["bench_callable", "burst", "load", "parallel", "sweep"]

Checks = Iterable[str | Check] | str


def _label(fn: Callable[..., Any], name: str | None) -> str:
    return name or getattr(fn, "__qualname__", None) or repr(fn)


class _Progress:
    """A listener that forwards the fraction done (and a load test's live numbers)."""

    def __init__(self, progress: Callable[[float], None] | None = None,
                 live: Callable[[LiveStats], None] | None = None) -> None:
        self._progress = progress
        self._live = live
        self.artifacts: list[Any] = []

    def started(self, name: str, index: int, total: int) -> None:
        pass

    def progress(self, fraction: float) -> None:
        if self._progress is not None:
            self._progress(fraction)

    def finished(self, result: Result) -> None:
        pass

    def live(self, stats: LiveStats) -> None:
        if self._live is not None:
            self._live(stats)

    def artifact(self, obj: Any) -> None:
        self.artifacts.append(obj)


def bench_callable(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    arg: Any = NO_ARG,
    options: BenchOptions | None = None,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    timer: Clock | None = None,
    checks: Checks = (),
) -> Result:
    """Benchmark ``fn`` (sync or async; called with ``arg`` when given) and apply ``checks``.
    ``timer`` replaces the clock (tests inject a fake one)."""
    setup = None if arg is NO_ARG else (lambda: arg)
    spec = BenchSpec(name=_label(fn, name), fn=fn, setup=setup,
                     options=options or BenchOptions(), params=dict(params or {}),
                     checks=parse_checks_for(checks, "bench"))
    return run(spec, _Progress(progress), clock=timer)


def sweep(
    fn: Callable[..., Any],
    sizes: Sequence[int] | str | None = None,
    *,
    setup: Callable[[int], Any] | None = None,
    budget: float = 5.0,
    queries: bool = False,
    calls: bool = False,
    name: str | None = None,
    options: BenchOptions | None = None,
    factory: bool | None = None,
    measure: Callable[[int, Any], Mapping[str, float]] | None = None,
    noise_floor: float = 0.0,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    timer: Clock | None = None,
    clock: Literal["auto", "wall", "cpu"] = "auto",
    checks: Checks = (),
) -> Result:
    """Benchmark at each size and classify how every metric grows (docs/sweeps.md)."""
    label = _label(fn, name)
    spec = SweepSpec(name=label, fn=fn, sizes=sizes_of(sizes, f"sweep {label!r}"), setup=setup,
                     budget=budget, options=options, queries=queries, calls=calls,
                     factory=factory,
                     measure=measure, noise_floor=noise_floor, clock=clock,
                     params=dict(params or {}),
                     checks=parse_checks_for(checks, "sweep"))
    return run(spec, _Progress(progress), clock=timer)


def burst(
    fn: Callable[..., Any],
    n: int = 10,
    *,
    args: Iterable[Any] | None = None,
    name: str | None = None,
    checks: Checks = (),
    timeout: float = 60.0,
) -> BurstOutcome:
    """Call ``fn`` n times at once (behind a barrier); ``args``: one argument per call."""
    spec = BurstSpec(name=_label(fn, name), fn=fn, n=n,
                     args=tuple(args) if args is not None else None, timeout=timeout,
                     checks=parse_checks_for(checks, "burst"))
    listener = _Progress()
    result = run(spec, listener)
    counts = {k[len("count."):]: int(m.value or 0) for k, m in result.metrics.items()
              if k.startswith("count.") and m.kind == "counter"}
    examples = result.extra.get("examples")
    values = listener.artifacts[0] if listener.artifacts else []
    return BurstOutcome(result=result, counts=counts,
                        examples=dict(examples) if isinstance(examples, Mapping) else {},
                        values=list(values))


def parallel(
    fn: Callable[[], Any],
    workers: int = 2,
    *,
    mode: Literal["thread", "process"] = "thread",
    duration: float = 0.2,
    trials: int = 5,
    name: str | None = None,
    checks: Checks = (),
) -> Result:
    """Throughput of ``fn`` on one worker and on ``workers`` threads or processes."""
    spec = ParallelSpec(name=_label(fn, name), fn=fn, workers=workers, mode=mode,
                        duration=duration, trials=trials,
                        checks=parse_checks_for(checks, "parallel"))
    result = run(spec)
    if result.error is not None and not result.metrics:
        from perfgate._errors import TargetError

        raise TargetError(result.error)
    return result


def load(
    target: Any,
    *,
    vus: int | None = None,
    rate: float | str | None = None,
    duration: float | str | None = None,
    iterations: int | None = None,
    per_vu: bool = False,
    stages: StageSpec | None = None,
    max_vus: int | None = None,
    max_wait: float | str = 1.0,
    executor: Executor | None = None,
    processes: int | None = None,
    cluster: str | None = None,
    checks: Checks = (),
    name: str | None = None,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | str = b"",
    timeout: float | None = None,
    verify: bool = True,
    ca_file: str | None = None,
    base_url: str = "",
    allow_remote: bool = False,
    target_pid: int | None = None,
    warmup: float | None = None,
    tick: float = 1.0,
    grace: float = 2.0,
    co_correct: bool | None = None,
    progress: Callable[[LiveStats], None] | None = None,
) -> Result:
    """Load-test ``target`` — a URL, :class:`Request` (s), or a sync/async callable — and
    return a Result of kind ``load`` with the checks applied (docs/load.md).

    ``cluster``: run the workers on Dask — ``"tcp://host:8786"`` (a running scheduler) or
    ``"local:N"`` (a LocalCluster of N processes); see docs/distributed.md.

    Closed model: ``vus`` users for ``duration`` or ``iterations``; open model: ``rate``
    arrivals per second for ``duration`` with at most ``max_vus`` in flight. ``processes``
    spreads the load over worker processes (default: every core for URL targets, 1 for
    callables). ``target_pid`` adds the target's memory to the soak measurements.
    """
    ex = executor or make_executor(
        vus=vus, rate=rate, duration=duration, iterations=iterations, per_vu=per_vu,
        stages=stages, max_vus=max_vus, max_wait=max_wait,
    )
    spec = LoadSpec(
        name=name or _default_load_name(target), target=target, executor=ex,
        processes=processes, cluster=cluster, method=method, headers=dict(headers or {}),
        body=body.encode() if isinstance(body, str) else body, timeout=timeout,
        verify=verify, ca_file=ca_file, base_url=base_url, allow_remote=allow_remote,
        target_pid=target_pid, warmup=warmup, tick=tick, grace=grace, co_correct=co_correct,
        checks=parse_checks_for(checks, "load"),
    )
    return run(spec, _Progress(live=progress))


def _default_load_name(target: Any) -> str:
    if isinstance(target, list | tuple) and target:
        first = target[0]
        if isinstance(first, tuple) and len(first) == 2:  # (weight, URL or Request)
            first = first[1]
        more = f" (+{len(target) - 1} more)" if len(target) > 1 else ""
        return _default_load_name(first) + more
    if isinstance(target, str):
        return target
    url = getattr(target, "url", None)
    if isinstance(url, str):
        return url
    if callable(target):
        return f"{getattr(target, '__module__', '')}:{_label(target, None)}"
    return "load"
