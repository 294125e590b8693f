"""``pg.load(...)``: run a load test and return its :class:`~perfgate.model.Result`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from perfgate._errors import UsageError
from perfgate.analysis.checks import Check, apply_checks_keeping, parse_checks, validate_units
from perfgate.load._engine import default_processes
from perfgate.load._executors import Closed, Executor, Open, closed, open
from perfgate.load._result import build_result
from perfgate.load._run import LiveStats, coordinate
from perfgate.load._targets import HttpTarget, make_target
from perfgate.model import Result
from perfgate.runner import Interrupted
from perfgate.units import parse_duration

if TYPE_CHECKING:
    from perfgate.faults._schedule import Phase

__all__ = ["load", "make_executor"]

StageSpec = str | Sequence[tuple[float | str, float | str]]


def _open_stages(stages: StageSpec | None) -> bool:
    if stages is None:
        return False
    if isinstance(stages, str):
        return "/" in stages
    return any(isinstance(t, str) and "/" in t for _, t in stages)


def make_executor(
    *,
    vus: int | None = None,
    rate: float | str | None = None,
    duration: float | str | None = None,
    iterations: int | None = None,
    per_vu: bool = False,
    stages: StageSpec | None = None,
    max_vus: int | None = None,
    max_wait: float | str = 1.0,
) -> Executor:
    """The executor that keyword arguments describe: ``rate`` (or rate stages such as
    ``"10s:100/s"``) means the open model, otherwise the closed one."""
    if rate is not None or _open_stages(stages):
        if vus is not None:
            raise UsageError("give vus (closed model) or rate (open model), not both")
        if iterations is not None:
            raise UsageError("iterations belong to the closed model; the open model runs "
                             "for a duration")
        return open(rate, duration, max_vus=max_vus or 100, max_wait=max_wait, stages=stages)
    if max_vus is not None:
        raise UsageError("max_vus belongs to the open model (give a rate)")
    return closed(vus, duration, iterations, per_vu=per_vu, stages=stages)


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
    checks: Sequence[str | Check] = (),
    name: str | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
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
    faults: Sequence[Phase] | None = None,
) -> Result:
    """Load-test ``target`` — a URL, :class:`Request` (s), or a sync/async callable — and
    return a Result of kind ``load`` with the checks applied.

    Closed model: ``vus`` users for ``duration`` or ``iterations``; open model: ``rate``
    arrivals per second for ``duration`` with at most ``max_vus`` in flight. ``processes``
    spreads the load over worker processes (default: every core for URL targets, 1 for
    callables, whose state lives in this process). ``target_pid`` adds the target's memory
    to the soak measurements.

    ``co_correct``: under the closed model, add the samples a stalled VU failed to send
    (coordinated-omission correction; ``service_time`` keeps the raw times). Default: on for
    URLs and async callables, off for sync callables (whose pauses are mostly the GIL's).
    See docs/load.md.

    ``faults``: a schedule of phases (``[pg.baseline("10s"), pg.fault("20s", ...),
    pg.recovery("20s")]``) whose faults are switched on the run's clock; the result then
    has per-phase metrics, the degradation and the time to recover (docs/faults.md).
    """
    phases = _schedule(faults, tick, duration, iterations, executor)
    if phases:
        duration = sum(p.duration for p in phases)
    parsed = [c if isinstance(c, Check) else parse_checks([c])[0] for c in checks]
    for c in parsed:
        validate_units(c, "load")
    ex = executor or make_executor(
        vus=vus, rate=rate, duration=duration, iterations=iterations, per_vu=per_vu,
        stages=stages, max_vus=max_vus, max_wait=max_wait,
    )
    tgt = make_target(
        target, method=method, headers=headers, body=body, timeout=timeout, verify=verify,
        ca_file=ca_file, base_url=base_url, allow_remote=allow_remote,
    )
    if processes is None:
        processes = default_processes() if isinstance(tgt, HttpTarget) else 1
    if processes < 1:
        raise UsageError(f"processes must be ≥ 1, got {processes}")
    if phases:
        from perfgate.faults._schedule import check_processes

        check_processes(phases, processes)
    if tick <= 0 or grace < 0:
        raise UsageError("tick must be positive and grace not negative")
    if co_correct is None:
        co_correct = isinstance(tgt, HttpTarget) or tgt.is_async
    run = coordinate(tgt, ex, processes=processes, tick=tick, grace=grace,
                     target_pid=target_pid, progress=progress, co_correct=co_correct,
                     phases=phases)
    params: dict[str, Any] = {"target": tgt.describe(), "model": ex.model,
                              "processes": run.processes}
    if isinstance(ex, Closed):
        params.update(vus=ex.vus, duration=ex.duration, iterations=ex.iterations,
                      co_correct=co_correct)
        if ex.per_vu:
            params["per_vu"] = True
    elif isinstance(ex, Open):
        params.update(rate=ex.rate, duration=ex.duration, max_vus=ex.max_vus,
                      max_wait=ex.max_wait)
    if ex.stages:
        params["stages"] = [list(s) for s in ex.stages]
    if phases:
        params["faults"] = [f"{p.duration:g}s:{p.name}" + (f" ({p.describe()})"
                                                          if p.faults else "")
                            for p in phases]
    params = {k: v for k, v in params.items() if v is not None}
    result = build_result(
        name or _default_name(tgt.describe()), run, params,
        cpu_bound_is_target=not isinstance(tgt, HttpTarget), warmup=warmup,
    )
    result = apply_checks_keeping(result, parsed)
    if run.interrupted:
        raise Interrupted([result])
    return result


def _schedule(faults: Sequence[Phase] | None, tick: float, duration: float | str | None,
              iterations: int | None, executor: Executor | None) -> tuple[Phase, ...]:
    """A validated fault schedule that fits the run's duration."""
    if not faults:
        return ()
    from perfgate.faults._schedule import schedule

    phases = schedule(faults, tick)
    total = sum(p.duration for p in phases)
    if iterations is not None:
        raise UsageError("faults: a fault schedule runs for a duration, not iterations")
    given = executor.total_duration if executor is not None else (
        None if duration is None else
        float(duration) if isinstance(duration, int | float) else parse_duration(duration))
    if given is not None and abs(given - total) > 1e-6:
        raise UsageError(f"faults: the phases last {total:g}s but the load lasts {given:g}s; "
                         "leave the duration out (it follows the phases) or make them agree")
    return phases


def _default_name(desc: str) -> str:
    return desc.split(" (+", maxsplit=1)[0].replace("GET ", "")
