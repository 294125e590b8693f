"""The ``pg.*`` functions that run something now: each builds a spec and calls the runner.

``pg.bench_callable``, ``pg.sweep``, ``pg.burst``, ``pg.parallel`` and ``pg.load`` take
``checks=`` alike; a failed check is in the returned Result's verdicts (inside a pytest
test, the ``perf`` fixture and the plugin turn it into a failed test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from perfgate._errors import Interrupted
from perfgate.analysis.checks import Check
from perfgate.bench._burst import BurstOutcome
from perfgate.bench._calls import NO_ARG
from perfgate.bench._engine import BenchOptions, Progress
from perfgate.bench._versus import NONE, VersusOptions
from perfgate.load._api import StageSpec, fault_schedule, make_executor
from perfgate.load._executors import Executor
from perfgate.load._run import LiveStats
from perfgate.model import Environment, Result
from perfgate.runner import Clock, run
from perfgate.spec import (
    BenchSpec,
    BurstSpec,
    CapacitySpec,
    LoadSpec,
    ParallelSpec,
    SweepSpec,
    VersusSpec,
    parse_checks_for,
    sizes_of,
)

if TYPE_CHECKING:
    from perfgate.export import Output

__all__ = ["bench_callable", "burst", "capacity", "load", "parallel", "sweep", "versus"]

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
    setup: Callable[[int], Any] | None = None,
) -> BurstOutcome:
    """Call ``fn`` n times at once (behind a barrier); ``args``: one argument per call, or
    ``setup(i)`` (before the barrier, untimed) gives call i's."""
    spec = BurstSpec(name=_label(fn, name), fn=fn, n=n,
                     args=tuple(args) if args is not None else None, timeout=timeout,
                     setup=setup,
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


def versus(
    *fns: Callable[..., Any],
    names: Sequence[str] | None = None,
    arg: Any = NONE,
    name: str | None = None,
    checks: Checks = (),
    options: VersusOptions | None = None,
    clock: Literal["auto", "wall", "cpu"] = "auto",
) -> Result:
    """Time two or more callables side by side in alternating rounds (the first is the
    baseline): ``ratio`` and ``overhead`` per call with CIs; checks such as
    ``"overhead < 5ms"``, ``"ratio < 1.1"`` (docs/benchmarks.md)."""
    label = name or " vs ".join(names or [_label(f, None) for f in fns])
    spec = VersusSpec(name=label, fns=tuple(fns), names=tuple(names) if names else None,
                      arg=arg, options=options or VersusOptions(), clock=clock,
                      checks=parse_checks_for(checks, "versus"))
    return run(spec)


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
    faults: Sequence[Any] | None = None,
    prometheus: str | None = None,
    pushgateway: str | None = None,
    otlp: str | None = None,
    dashboard: str | bool | None = None,
    outputs: Sequence[Output] = (),
) -> Result:
    """Load-test ``target`` — a URL, :class:`Request` (s), or a sync/async callable — and
    return a Result of kind ``load`` with the checks applied (docs/load.md).

    ``cluster``: run the workers on Dask — ``"tcp://host:8786"`` (a running scheduler) or
    ``"local:N"`` (a LocalCluster of N processes); see docs/distributed.md.

    Closed model: ``vus`` users for ``duration`` or ``iterations``; open model: ``rate``
    arrivals per second for ``duration`` with at most ``max_vus`` in flight. ``processes``
    spreads the load over worker processes (default: every core for URL targets, 1 for
    callables). ``target_pid`` adds the target's memory to the soak measurements.
    ``faults``: a schedule of phases (``[pg.baseline("10s"), pg.fault("20s", ...),
    pg.recovery("20s")]``) switched on the run's clock: the result then has per-phase
    metrics, the degradation and the time to recover (docs/faults.md).

    Live metrics while it runs (docs/live.md): ``prometheus="127.0.0.1:9464"`` serves
    ``/metrics``, ``pushgateway=URL`` pushes at the end, ``otlp=URL`` exports over OTLP/HTTP,
    ``dashboard=True`` serves a live page; ``outputs`` adds :class:`~perfgate.export.Output`
    objects of your own (started here unless already started, stopped at the end). An output
    that fails while the load runs is a warning in the Result.
    """
    # a fault schedule sets the run's duration (docs/faults.md)
    phases = fault_schedule(faults, tick, duration, iterations, executor)
    if phases:
        duration = sum(p.duration for p in phases)
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
        faults=phases, checks=parse_checks_for(checks, "load"),
    )
    if prometheus is None and pushgateway is None and otlp is None and not dashboard \
            and not outputs:
        return run(spec, _Progress(live=progress))
    from perfgate.export import live_listener, make_outputs

    outs = [*outputs, *make_outputs(prometheus=prometheus, pushgateway=pushgateway, otlp=otlp,
                                    dashboard=dashboard, report=html_report)]
    lst = live_listener(_Progress(live=progress), outs, scenario=spec.name)
    lst.start()
    try:
        result = run(spec, lst)
    except Interrupted as exc:  # the live page still turns into the partial report
        lst.stop(exc.results)
        raise
    except BaseException:
        lst.stop([])
        raise
    warnings = lst.stop([result])
    if warnings:
        result = replace(result, warnings=(*result.warnings, *warnings))
    return result


def html_report(results: Sequence[Result], environment: Environment | None = None) -> str:
    """The HTML report of ``results``, as one string (the live page turns into it)."""
    from perfgate.env import collect
    from perfgate.model import ResultSet
    from perfgate.report.html import render_html

    return render_html(ResultSet(environment=environment or collect(),
                                 results=tuple(results)))


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


class _Probes(_Progress):
    """A listener that forwards each finished capacity probe."""

    def __init__(self, probe: Callable[[Any], None] | None) -> None:
        super().__init__()
        self._probe = probe

    def probe(self, p: Any) -> None:
        if self._probe is not None:
            self._probe(p)


def capacity(
    target: Any,
    *,
    checks: Checks = (),
    require: Checks = (),
    name: str | None = None,
    progress: Callable[[Any], None] | None = None,
    **settings: Any,
) -> Result:
    """The highest open-model rate at which every check passes, with its bracket and every
    probe as evidence (docs/capacity.md). ``checks`` judge each probe; ``require`` judges
    the capacity itself (``"capacity >= 500/s"``). ``settings``: ``max_rate``, ``duration``,
    ``warmup``, ``cooldown``, ``budget``, ``precision``, … (CapacitySpec fields) and the
    probes' HTTP options (``method``, ``headers``, ``timeout``, ``base_url``, …).
    ``target`` may be a ``@pg.scenario`` function: its checks, name and client options are
    used, its executor is not."""
    from dataclasses import fields

    from perfgate.load._capacity import scenario_parts

    target, crit, load_opts, label = scenario_parts(
        target, parse_checks_for(checks, "load"), {}, name)
    known = {f.name for f in fields(CapacitySpec)}
    spec_kw = {k: v for k, v in settings.items() if k in known}
    load_opts = {**load_opts, **{k: v for k, v in settings.items() if k not in known}}
    spec = CapacitySpec(name=label or _default_load_name(target), target=target,
                        criteria=parse_checks_for(crit, "load"),
                        checks=parse_checks_for(require, "capacity"),
                        load_options=load_opts, **spec_kw)
    return run(spec, _Probes(progress))
