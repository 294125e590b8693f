"""The load engine's entry: a target and an executor in, a ``load`` Result out.

``pg.load(...)`` (in :mod:`perfgate._api`) builds a :class:`~perfgate.spec.LoadSpec` and the
runner calls :func:`run_load` with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perfgate._errors import Interrupted, UsageError
from perfgate.load._engine import default_processes
from perfgate.load._executors import Closed, Executor, Open, closed, open
from perfgate.load._result import build_result
from perfgate.load._run import LiveStats, coordinate
from perfgate.load._targets import HttpTarget, make_target
from perfgate.model import Result
from perfgate.units import parse_duration

if TYPE_CHECKING:
    from perfgate.faults._schedule import Phase

__all__ = ["fault_schedule", "make_executor", "run_load"]

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


def run_load(
    target: Any,
    executor: Executor,
    *,
    name: str | None = None,
    processes: int | None = None,
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
    phases: Sequence[Phase] = (),
    cluster: str | None = None,
) -> Result:
    """The load engine: run ``executor`` against ``target`` (a URL, Request(s) or callable)
    and return a ``load`` Result, without checks (the runner applies them).

    ``processes``: worker processes (default: every core for URL targets, 1 for callables,
    whose state lives in this process). ``co_correct``: under the closed model, add the
    samples a stalled VU failed to send (coordinated-omission correction, bounded to 5 % of
    the real samples; ``service_time`` keeps the raw times). Default off: the closed model
    reports real iterations and flags stalls; the open model is CO-free. See docs/load.md.
    ``phases``: a fault schedule already fitted to the run (:func:`fault_schedule`), its
    faults switched on the run's clock (docs/faults.md).
    ``cluster``: a Dask scheduler (``tcp://host:8786``) or ``local:N``; ``processes`` then
    counts Dask workers used (default: all of them). See docs/distributed.md.
    """
    tgt = make_target(
        target, method=method, headers=dict(headers or {}), body=body, timeout=timeout,
        verify=verify, ca_file=ca_file, base_url=base_url, allow_remote=allow_remote,
    )
    if processes is not None and processes < 1:
        raise UsageError(f"processes must be ≥ 1, got {processes}")
    if co_correct is None:
        co_correct = False
    ex = executor
    with contextlib.ExitStack() as stack:
        starter = None
        if cluster is not None:
            from perfgate.load._dask import connect

            starter = stack.enter_context(connect(cluster))
            processes = processes or starter.size
        elif processes is None:
            processes = default_processes() if isinstance(tgt, HttpTarget) else 1
        if phases:
            from perfgate.faults._schedule import check_processes

            check_processes(phases, processes)
        run = coordinate(tgt, ex, processes=processes, tick=tick, grace=grace,
                         target_pid=target_pid, progress=progress, co_correct=co_correct,
                         phases=phases, starter=starter)
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
    if cluster is not None:
        params["cluster"] = cluster
    params = {k: v for k, v in params.items() if v is not None}
    result = build_result(
        name or _default_name(tgt.describe()), run, params,
        # a scenario whose work is HTTP calls is an HTTP load test: its CPU is the generator's
        cpu_bound_is_target=not (isinstance(tgt, HttpTarget) or tgt.with_client),
        warmup=warmup,
    )
    if run.interrupted:
        raise Interrupted([result])
    return result


def fault_schedule(faults: Sequence[Phase] | None, tick: float, duration: float | str | None,
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
