"""Runs collected specs into Results, reporting progress to a listener; never prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from perfgate._errors import PerfgateError
from perfgate.analysis.checks import apply_checks_keeping
from perfgate.bench._burst import burst
from perfgate.bench._engine import bench_callable
from perfgate.bench._parallel import parallel
from perfgate.model import Result
from perfgate.suite import Spec

__all__ = ["Interrupted", "Listener", "run_spec", "run_specs"]


class Interrupted(PerfgateError):
    """Ctrl-C during a run; ``results`` holds everything measured before it."""

    def __init__(self, results: Sequence[Result]) -> None:
        self.results = list(results)
        super().__init__(f"interrupted after {len(self.results)} result(s)")


class Listener(Protocol):
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


def run_spec(spec: Spec, listener: Listener | None = None) -> Result:
    """Run one spec and apply its checks. A target that raises gives a Result with
    ``error`` set (and what was measured); an unknown metric in a check does too."""
    lst = listener or _Quiet()
    if spec.execute is not None:
        result = spec.execute(spec, lst)
        if not isinstance(result, Result):
            raise TypeError(f"{spec.name}: execute hook returned {type(result).__name__}")
    elif spec.kind == "burst":
        result = burst(spec.fn, spec.n, name=spec.name).result
    elif spec.kind == "parallel":
        try:
            result = parallel(spec.fn, spec.workers, mode=spec.mode, name=spec.name)
        except PerfgateError as exc:
            result = Result(name=spec.name, kind="bench", error=str(exc))
    else:
        arg: object
        if spec.setup is not None:
            try:
                arg = spec.setup()
            except Exception as exc:  # noqa: BLE001 - the target's failure is recorded, not raised
                return Result(
                    name=spec.name, kind="bench",
                    error=f"setup raised {type(exc).__name__}: {exc}",
                )
            result = bench_callable(
                spec.fn, name=spec.name, arg=arg, options=spec.options, progress=lst.progress
            )
        else:
            result = bench_callable(
                spec.fn, name=spec.name, options=spec.options, progress=lst.progress
            )
    if spec.source:
        result = replace(result, params={**result.params, "source": spec.source})
    return apply_checks_keeping(result, spec.checks)


def run_specs(specs: Sequence[Spec], listener: Listener | None = None) -> list[Result]:
    """Run specs in order. On Ctrl-C, raise :class:`Interrupted` holding every result so far
    (including the partial one being measured)."""
    lst = listener or _Quiet()
    results: list[Result] = []
    for i, spec in enumerate(specs):
        lst.started(spec.name, i, len(specs))
        try:
            result = run_spec(spec, lst)
        except Interrupted as exc:
            raise Interrupted([*results, *exc.results]) from exc
        except KeyboardInterrupt as exc:
            raise Interrupted(results) from exc
        results.append(result)
        lst.finished(result)
    return results
