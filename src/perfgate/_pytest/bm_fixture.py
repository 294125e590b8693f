"""pytest-benchmark's ``benchmark`` fixture object, measuring with perfgate's engine.

``benchmark(fn, *args, **kwargs)`` runs perfgate's adaptive loop (warm-up, calibration,
rounds until the median is precise or the budget is spent, a separate memory pass) and then
calls ``fn`` once more for its return value, as pytest-benchmark does.
``benchmark.pedantic(...)`` keeps pytest-benchmark's exact semantics: the rounds, warm-up
rounds and iterations you give, ``setup`` before and ``teardown`` after every round.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from perfgate._errors import PerfgateError, TargetError, UsageError
from perfgate._pytest.bm_options import Settings
from perfgate._pytest.bm_stats import Metadata
from perfgate._pytest.engine import call_once, run_spec
from perfgate._timing import gc_paused

if TYPE_CHECKING:
    from perfgate.model import Result

__all__ = ["BenchmarkFixture", "FixtureAlreadyUsed", "NotSupportedError"]


class FixtureAlreadyUsed(UsageError):
    """The ``benchmark`` fixture was called a second time in one test."""


class NotSupportedError(PerfgateError, NotImplementedError):
    """A pytest-benchmark feature perfgate does not provide (``benchmark.weave``)."""


@contextmanager
def _paused_instrumentation() -> Iterator[None]:
    """Coverage and profilers off while timing (as pytest-benchmark): they distort it."""
    tracer, profiler = sys.gettrace(), sys.getprofile()
    if tracer:
        sys.settrace(None)
    if profiler:
        sys.setprofile(None)
    try:
        yield
    finally:
        if tracer:
            sys.settrace(tracer)
        if profiler:
            sys.setprofile(profiler)


class BenchmarkFixture:
    """The object a test receives as ``benchmark``."""

    def __init__(
        self,
        node: pytest.Item,
        settings: Settings,
        *,
        disabled: bool,
        add_stats: Callable[[BenchmarkFixture], None],
    ) -> None:
        self.name: str = node.name
        self.fullname: str = node.nodeid
        callspec = getattr(node, "callspec", None)
        self.param: str | None = callspec.id if callspec is not None else None
        self.params: dict[str, Any] | None = (
            dict(callspec.params) if callspec is not None else None
        )
        self.group: str | None = settings.group
        self.extra_info: dict[str, Any] = {}
        self.disabled = disabled
        self.has_error = False
        self.skipped = False
        self.stats: Metadata | None = None
        self.cprofile_stats = None
        self._settings = settings
        self._add_stats = add_stats
        self._mode: str | None = None
        self._result: Result | None = None

    @property
    def enabled(self) -> bool:
        return not self.disabled

    # ------------------------------------------------------------------ public API

    def __call__(self, function_to_benchmark: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._claim("benchmark(...)")
        try:
            return self._raw(function_to_benchmark, args, kwargs)
        except Exception:
            self.has_error = True
            raise

    def pedantic(
        self,
        target: Callable[..., Any],
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        setup: Callable[[], Any] | None = None,
        teardown: Callable[..., Any] | None = None,
        rounds: int = 1,
        warmup_rounds: int = 0,
        iterations: int = 1,
    ) -> Any:
        self._claim("benchmark.pedantic(...)")
        try:
            return self._raw_pedantic(
                target, args, kwargs, setup, teardown, rounds, warmup_rounds, iterations
            )
        except Exception:
            self.has_error = True
            raise

    def weave(self, target: Any, **kwargs: Any) -> None:
        raise NotSupportedError(
            "benchmark.weave/patch (aspectlib weaving) is not provided by perfgate's "
            "pytest-benchmark compatibility; call benchmark(fn, ...) on the function instead"
        )

    patch = weave

    # ------------------------------------------------------------------ perfgate view

    def perfgate_result(self) -> Result | None:
        """The Result for perfgate's JSON: group and extra_info as they are at the end."""
        if self._result is None:
            return None
        params = dict(self._result.params)
        if self.group is not None:
            params["group"] = self.group
        if self.param is not None:
            params["param"] = self.param
        extra: dict[str, Any] = {**self._result.extra, "test": self.fullname}
        if self.extra_info:
            extra["extra_info"] = dict(self.extra_info)
        return dataclasses.replace(self._result, params=params, extra=extra)

    # ------------------------------------------------------------------ internals

    def _claim(self, mode: str) -> None:
        if self._mode:
            self.has_error = True
            raise FixtureAlreadyUsed(
                f"Fixture can only be used once. Previously it was used in {self._mode} mode."
            )
        self._mode = mode

    def _record(self, result: Result, samples: list[float], iterations: int) -> None:
        self._result = result
        self.stats = Metadata(self, samples, iterations, self._settings.json_options())
        self._add_stats(self)

    def _raw(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.disabled:
            return call_once(fn, *args, **kwargs)
        target = functools.partial(fn, *args, **kwargs) if args or kwargs else fn

        def keep(partial: Result) -> None:
            self._result = partial

        from perfgate.spec import BenchSpec

        spec = BenchSpec(name=self.fullname, fn=target, options=self._settings.bench_options())
        with _paused_instrumentation():
            result = run_spec(spec, keep, clock=self._settings.timer)
        self._result = result
        t = result.metrics.get("time")
        if t is not None and t.samples:
            self._record(result, list(t.samples), int(result.params.get("iterations", 1)))
        if result.error is not None:
            self.has_error = True
            call_once(fn, *args, **kwargs)  # most targets raise again, with their own exception
            raise TargetError(f"{self.fullname}: the benchmarked function raised {result.error}")
        return call_once(fn, *args, **kwargs)  # unpaused: coverage sees the code

    def _raw_pedantic(
        self,
        target: Callable[..., Any],
        args: tuple[Any, ...] | list[Any],
        kwargs: Mapping[str, Any] | None,
        setup: Callable[[], Any] | None,
        teardown: Callable[..., Any] | None,
        rounds: int,
        warmup_rounds: int,
        iterations: int,
    ) -> Any:
        # Messages and checks are pytest-benchmark's, so tests asserting on them still pass.
        kwargs = dict(kwargs or {})
        has_args = bool(args or kwargs)
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError("Must have positive int for `iterations`.")
        if not isinstance(rounds, int) or rounds < 1:
            raise ValueError("Must have positive int for `rounds`.")
        if not isinstance(warmup_rounds, int) or warmup_rounds < 0:
            raise ValueError("Must have positive int for `warmup_rounds`.")
        if iterations > 1 and setup:
            raise ValueError("Can't use more than 1 `iterations` with a `setup` function.")

        def arguments() -> tuple[Any, Mapping[str, Any]]:
            if setup is not None:
                maybe = setup()
                if maybe:
                    if has_args:
                        raise TypeError(
                            "Can't use `args` or `kwargs` if `setup` returns the arguments."
                        )
                    a, k = maybe
                    return a, k
            return args, kwargs

        if self.disabled:
            a, k = arguments()
            return target(*a, **k)

        timer = self._settings.timer or time.perf_counter
        keep_gc = not self._settings.disable_gc

        def one_round() -> tuple[float, Any]:
            a, k = arguments()
            value: Any = None
            with gc_paused(not keep_gc), _paused_instrumentation():
                if iterations > 1:
                    t0 = timer()
                    for _ in range(iterations):
                        target(*a, **k)
                    elapsed = timer() - t0
                else:
                    t0 = timer()
                    value = target(*a, **k)
                    elapsed = timer() - t0
            if teardown is not None:
                teardown(*a, **k)
            return elapsed, value

        for _ in range(warmup_rounds):
            one_round()
        samples: list[float] = []
        value: Any = None
        for _ in range(rounds):
            elapsed, value = one_round()
            samples.append(elapsed / iterations)
        if iterations > 1:  # looped rounds keep no value: one more call gives it
            a, k = arguments()
            value = target(*a, **k)
            if teardown is not None:
                teardown(*a, **k)
        self._record(self._pedantic_result(samples, rounds, warmup_rounds, iterations),
                     samples, iterations)
        return value

    def _pedantic_result(
        self, samples: list[float], rounds: int, warmup_rounds: int, iterations: int
    ) -> Result:
        from perfgate.analysis.derived import with_derived
        from perfgate.analysis.stats import summarize
        from perfgate.model import Result

        metrics = {"time": summarize(samples, "s")}
        params = {
            "mode": "pedantic", "rounds": rounds, "warmup_rounds": warmup_rounds,
            "iterations": iterations, "gc": not self._settings.disable_gc,
        }
        return with_derived(Result(name=self.fullname, kind="bench", params=params,
                                   metrics=metrics))
