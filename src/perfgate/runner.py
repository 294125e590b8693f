"""The runner: a spec in, a Result with its verdicts out — the one path every entry point takes.

:func:`run` picks the engine by the spec's type (the table below), adds the metrics that
are derived from others (:mod:`perfgate.analysis.derived`), and applies the spec's checks
(:func:`perfgate.analysis.checks.judge`, the one place checks are applied). Engines never see
checks; they measure and return a Result.

A target's failure — it raised, called ``sys.exit``, overran its time limit, its setup
failed — is recorded in the Result (``error``) with whatever was measured. Ctrl-C raises
:class:`~perfgate.Interrupted` carrying every result so far, the partial one included.
The runner never prints: progress goes to a :class:`Listener`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from perfgate._errors import Interrupted, PerfgateError
from perfgate._loops import off_running_loop
from perfgate._observe import notify
from perfgate.analysis.checks import judge
from perfgate.analysis.derived import with_derived
from perfgate.model import Result
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

__all__ = [
    "QUIET",
    "Clock",
    "Interrupted",
    "Listener",
    "run",
    "run_all",
    "run_spec",
    "run_specs",
]

Clock = Callable[[], float]
S = TypeVar("S", bound=Spec)


class Listener(Protocol):
    """Progress of a run. ``artifact`` (optional) receives what an engine produces beside its
    Result — the values a burst's calls returned."""

    def started(self, name: str, index: int, total: int) -> None: ...
    def progress(self, fraction: float) -> None: ...
    def finished(self, result: Result) -> None: ...


class _Quiet:
    def started(self, name: str, index: int, total: int) -> None:
        pass

    def progress(self, fraction: float) -> None:
        pass

    def finished(self, result: Result) -> None:
        pass


QUIET: Listener = _Quiet()


def _failed(spec: Spec, why: str) -> Result:
    return Result(name=spec.name, kind=spec.kind, error=why)


# --------------------------------------------------------------------------- engines


def _bench(spec: BenchSpec, lst: Listener, clock: Clock | None) -> Result:
    from perfgate.bench._calls import NO_ARG
    from perfgate.bench._engine import bench_callable, describe_exit

    arg: Any = NO_ARG
    if spec.setup is not None:
        try:
            arg = spec.setup()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the setup's failure is recorded
            return _failed(spec, f"setup raised {describe_exit(exc)}")
    plan = None
    if spec.options.measure == "instructions":  # checked before anything is timed
        from perfgate.bench._instructions import prepare

        plan = prepare(spec.fn, arg, spec.name, NO_ARG)
    options = spec.options
    if options.processes > 0 and options.processes_optional:
        from perfgate.bench._isolated import unsendable

        if unsendable(spec.fn, arg) is not None:  # a lambda: measured here, as before
            options = replace(options, processes=0)
    if options.processes > 0:
        from perfgate.bench._isolated import bench_in_processes

        r = bench_in_processes(spec.fn, arg, options, spec.name, spec.params, lst.progress)
    else:
        r = bench_callable(spec.fn, name=spec.name, arg=arg, options=options,
                           params=spec.params, progress=lst.progress, timer=clock)
    if plan is not None and r.error is None:
        r = plan.add_to(r)  # counted after timing, in a worker under valgrind
    if not (spec.queries or spec.calls) or r.error is not None:
        return r
    from perfgate.probes._calls_pass import with_probe_passes

    return with_probe_passes(r, spec.fn, arg, queries=spec.queries, calls=spec.calls)


def _sweep(spec: SweepSpec, lst: Listener, clock: Clock | None) -> Result:
    from perfgate.analysis.complexity import NOISE_FLOOR
    from perfgate.bench._sweep import sweep

    return sweep(spec.fn, list(spec.sizes) if spec.sizes is not None else None,
                 setup=spec.setup, budget=spec.budget, queries=spec.queries,
                 calls=spec.calls, name=spec.name,
                 options=spec.options, factory=spec.factory, measure=spec.measure,
                 noise_floor=spec.noise_floor or NOISE_FLOOR, params=spec.params,
                 progress=lst.progress, timer=clock, clock=spec.clock)


def _burst(spec: BurstSpec, lst: Listener, clock: Clock | None) -> Result:
    from perfgate.bench._burst import burst

    outcome = burst(spec.fn, spec.n, args=spec.args, name=spec.name, timeout=spec.timeout,
                    setup=spec.setup)
    keep = getattr(lst, "artifact", None)
    if keep is not None:
        keep(outcome.values)
    return outcome.result


def _parallel(spec: ParallelSpec, lst: Listener, clock: Clock | None) -> Result:
    from perfgate.bench._parallel import parallel

    try:
        return parallel(spec.fn, spec.workers, mode=spec.mode, duration=spec.duration,
                        trials=spec.trials, name=spec.name)
    except PerfgateError as exc:
        return _failed(spec, str(exc))


def _versus(spec: VersusSpec, lst: Listener, clock: Clock | None) -> Result:
    from perfgate.bench._versus import versus

    return versus(*spec.fns, names=spec.names, arg=spec.arg, name=spec.name,
                  options=spec.options, clock=spec.clock)


def _load(spec: LoadSpec, lst: Listener, clock: Clock | None) -> Result:
    from perfgate.load._api import run_load
    from perfgate.load._run import LiveStats

    live = getattr(lst, "live", None)  # a listener that shows the live numbers per tick

    def progress(s: LiveStats) -> None:
        if s.fraction is not None:
            lst.progress(s.fraction)
        if live is not None:
            live(s)

    return run_load(
        spec.target, spec.executor, name=spec.name, processes=spec.processes,
        cluster=spec.cluster,
        method=spec.method, headers=spec.headers, body=spec.body, timeout=spec.timeout,
        verify=spec.verify, ca_file=spec.ca_file, base_url=spec.base_url,
        allow_remote=spec.allow_remote, target_pid=spec.target_pid, warmup=spec.warmup,
        tick=spec.tick, grace=spec.grace, co_correct=spec.co_correct, progress=progress,
        phases=spec.faults,
    )


def _capacity(spec: CapacitySpec, lst: Listener, clock: Clock | None) -> Result:
    from perfgate.load._capacity import capacity

    return capacity(
        spec.target, checks=spec.criteria, max_rate=spec.max_rate, min_rate=spec.min_rate,
        duration=spec.duration, warmup=spec.warmup, cooldown=spec.cooldown,
        budget=spec.budget, precision=spec.precision, confirm=spec.confirm,
        retries=spec.retries, max_probes=spec.max_probes, ramp=spec.ramp,
        ramp_doubling=spec.ramp_doubling, processes=spec.processes, max_vus=spec.max_vus,
        max_wait=spec.max_wait, name=spec.name, progress=getattr(lst, "probe", None),
        **dict(spec.load_options))


_ENGINES: dict[type[Spec], Callable[[Any, Listener, Clock | None], Result]] = {
    BenchSpec: _bench,
    SweepSpec: _sweep,
    BurstSpec: _burst,
    ParallelSpec: _parallel,
    LoadSpec: _load,
    VersusSpec: _versus,
    CapacitySpec: _capacity,
}


def register_engine(spec_type: type[S], engine: Callable[[S, Listener, Clock | None], Result]
                    ) -> None:
    """Run specs of ``spec_type`` with ``engine`` (a kind defined outside perfgate's core)."""
    _ENGINES[spec_type] = engine


# --------------------------------------------------------------------------- running


def conclude(result: Result, spec: Spec, *, checks: bool = True) -> Result:
    """Derived metrics, the spec's source, and (unless ``checks=False``) its verdicts."""
    result = with_derived(result)
    if spec.source:
        result = replace(result, params={**result.params, "source": spec.source})
    return judge(result, spec.checks) if checks else result


class TargetExit(SystemExit):
    """A target called ``os._exit``: raised in its place, so it is recorded as the target's
    error instead of ending perfgate with nothing written."""


@contextmanager
def _exits_guarded() -> Iterator[None]:
    """``sys.exit`` is already an exception; ``os._exit`` would end the process on the spot,
    results unwritten and the exit code the target's. While a target runs, this process's
    ``os._exit`` raises instead (a forked child keeps the real one)."""
    real, owner = os._exit, os.getpid()

    def guarded(code: int) -> None:
        if os.getpid() != owner:
            real(code)
        raise TargetExit(f"the target called os._exit({code!r})")

    os._exit = guarded  # type: ignore[assignment]
    try:
        yield
    finally:
        os._exit = real


def run(spec: Spec, listener: Listener | None = None, *, clock: Clock | None = None) -> Result:
    """Run one spec: measure it, derive, apply its checks.

    ``clock`` replaces the engines' clock (tests inject a fake one). A check that cannot be
    evaluated (unknown metric, unit that does not fit) marks the result
    (``error_kind == "check"``) and keeps the measurements and the other verdicts.
    """
    engine = next((e for t, e in _ENGINES.items() if isinstance(spec, t)), None)
    if engine is None:
        raise PerfgateError(f"no engine runs {type(spec).__name__}")
    lst = listener or QUIET
    try:
        with _exits_guarded():
            # inside a running event loop (an async test) the engine runs on a thread of
            # its own: engines run their own loops
            result = off_running_loop(lambda: engine(spec, lst, clock))
    except TargetExit as exc:  # an engine that does not record target failures itself
        result = _failed(spec, str(exc.code))
    except Interrupted as exc:
        raise Interrupted([conclude(r, spec, checks=False) for r in exc.results]) from exc
    result = conclude(result, spec)
    notify(result)  # inside a pytest test: a failed check fails it (perfgate._observe)
    return result


def run_all(specs: Sequence[Spec], listener: Listener | None = None, *,
            clock: Clock | None = None) -> list[Result]:
    """Run specs in order. On Ctrl-C, raise :class:`Interrupted` holding every result so far
    (the partial one being measured included)."""
    lst = listener or QUIET
    results: list[Result] = []
    for i, spec in enumerate(specs):
        # The listener's calls are inside too: a Ctrl-C lands as often while a result line
        # is printed (when the user sees it) as during a measurement.
        try:
            lst.started(spec.name, i, len(specs))
            result = run(spec, lst, clock=clock)
        except Interrupted as exc:
            raise Interrupted([*results, *exc.results]) from exc
        except KeyboardInterrupt as exc:
            raise Interrupted(results) from exc
        results.append(result)
        try:
            lst.finished(result)
        except KeyboardInterrupt as exc:
            raise Interrupted(results) from exc
    return results


# The names of perfgate 0.1 (documented aliases for one release).
run_spec = run
run_specs = run_all
