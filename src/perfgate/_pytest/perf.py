"""The ``perf`` fixture: perfgate's engines inside a test, checks as assertions."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from perfgate._errors import TargetError, UsageError
from perfgate._pytest.collector import Collector
from perfgate._pytest.engine import run_bench

if TYPE_CHECKING:
    from perfgate.analysis.checks import Check
    from perfgate.bench import BenchOptions, BurstOutcome
    from perfgate.model import Result, Verdict

__all__ = ["Perf", "label_of", "verdict_failure"]

T = TypeVar("T")


def off_running_loop(fn: Callable[[], T]) -> T:
    """:func:`perfgate._loops.off_running_loop`, imported when first used: pytest loads this
    module in every project with perfgate installed, and asyncio costs ~0.1 s to import."""
    from perfgate._loops import off_running_loop as run

    return run(fn)


def _notify(get: Callable[[], Result | None]) -> None:
    from perfgate import _observe

    _observe.notify(get)


def _raised(verdicts: Iterable[Verdict]) -> None:
    from perfgate import _observe

    _observe.raised(verdicts)

_MARK = {"pass": "✓", "warn": "!", "fail": "✗", "inconclusive": "?"}


def label_of(fn: Callable[..., Any]) -> str:
    """``test_x.<locals>.work`` → ``work``: the part a reader recognises."""
    if isinstance(fn, functools.partial):
        fn = fn.func
    q = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return str(q).rsplit("<locals>.", 1)[-1]


def verdict_failure(result: Result, verdicts: Sequence[Verdict]) -> AssertionError | None:
    """The AssertionError a test raises when a verdict failed (None when none did).

    It carries ``verdicts`` and ``result`` so a test can look at them in ``pytest.raises``.
    """
    failed = [v for v in verdicts if v.status == "fail"]
    if not failed:
        return None
    lines = "\n".join(f"  {_MARK[v.status]} {v.check}: {v.status} — {v.evidence}"
                      for v in verdicts)
    err = AssertionError(
        f"perfgate: {len(failed)} of {len(verdicts)} check(s) failed for {result.name!r}\n{lines}"
    )
    err.verdicts = list(verdicts)  # type: ignore[attr-defined]
    err.result = result  # type: ignore[attr-defined]
    return err


def _parse(checks: Iterable[str], kind: str) -> list[Check]:
    """Parse and unit-check before anything runs: a malformed check costs no measurement."""
    from perfgate.analysis.checks import parse_checks, validate_units

    if isinstance(checks, str):
        checks = [checks]
    parsed = parse_checks(checks)
    for c in parsed:
        validate_units(c, kind)
    return parsed


class _Slot:
    """A collected result that ``perf.check`` may later replace with a checked copy."""

    def __init__(self, result: Result) -> None:
        self.result = result

    def get(self) -> Result:
        return self.result


class Perf:
    """perfgate in a test: ``perf.bench``, ``perf.burst``, ``perf.parallel``, ``perf.sweep``,
    ``perf.load``, ``perf.check``.

    Every Result made here is kept for the session summary and ``--perfgate-json``.
    Option precedence: call arguments > ``@pytest.mark.perf(...)`` > ``--perfgate-max-time``
    > :class:`perfgate.BenchOptions` defaults. ``enforce=False`` (the test's
    ``@pytest.mark.perf(enforce=False)`` or ``--perfgate-no-enforce``): failed checks are
    recorded and reported but raise nothing.
    """

    def __init__(
        self, nodeid: str, collector: Collector, defaults: Mapping[str, Any] | None = None,
        *, enforce: bool = True,
    ) -> None:
        self.nodeid = nodeid
        self.enforce = enforce
        self._collector = collector
        self._defaults = dict(defaults or {})
        self._slots: list[_Slot] = []

    @property
    def results(self) -> list[Result]:
        """The Results this test produced so far, in order (with their verdicts)."""
        return [s.result for s in self._slots]

    def _name(self, fn: Callable[..., Any], name: str | None) -> str:
        return name or f"{self.nodeid}::{label_of(fn)}"

    def _keep(self, result: Result) -> _Slot:
        result = dataclasses.replace(result, extra={**result.extra, "test": self.nodeid})
        slot = _Slot(result)
        self._slots.append(slot)
        self._collector.add(self.nodeid, slot.get, "perf")
        _notify(slot.get)
        return slot

    def _options(self, options: BenchOptions | None, overrides: Mapping[str, Any]) -> BenchOptions:
        from perfgate.bench import BenchOptions

        known = {f.name for f in dataclasses.fields(BenchOptions)}
        # An explicit options object is a call argument: it outranks marker and CLI defaults.
        given = dict(overrides) if options is not None else {**self._defaults, **overrides}
        unknown = sorted(set(given) - known)
        if unknown:
            raise UsageError(
                f"perf.bench: unknown option(s) {', '.join(unknown)}; "
                f"BenchOptions takes {', '.join(sorted(known))}"
            )
        base = options if options is not None else BenchOptions()
        return dataclasses.replace(base, **given)

    def _judge(self, slot: _Slot, checks: Sequence[Check]) -> Result:
        from perfgate.analysis.checks import apply_checks

        if not checks:
            return slot.result
        before = len(slot.result.verdicts)
        slot.result = apply_checks(slot.result, checks)
        err = verdict_failure(slot.result, slot.result.verdicts[before:])
        if err is not None and self.enforce:
            _raised(slot.result.verdicts[before:])
            raise err
        return slot.result

    def bench(
        self,
        fn: Callable[..., Any],
        *args: Any,
        checks: Iterable[str] = (),
        name: str | None = None,
        setup: Callable[[], Any] | None = None,
        options: BenchOptions | None = None,
        timer: Callable[[], float] | None = None,
        **bench_options: Any,
    ) -> Result:
        """Benchmark ``fn(*args)`` (sync or async) and apply ``checks``.

        ``setup()`` (untimed, run once) gives the only argument instead of ``args``;
        ``bench_options`` are :class:`perfgate.BenchOptions` fields (``max_time=0.2`` …).
        Raises AssertionError carrying the verdicts when a check fails (warn and
        inconclusive do not fail), TargetError when ``fn`` raised.
        """
        parsed = _parse(checks, "bench")
        opts = self._options(options, bench_options)
        label = self._name(fn, name)
        if setup is not None and args:
            raise UsageError("perf.bench: pass either args or setup, not both")
        if setup is not None:
            try:
                arg = setup()
            except Exception as exc:
                raise TargetError(f"{label}: setup raised {type(exc).__name__}: {exc}") from exc
            result = off_running_loop(lambda: run_bench(
                fn, self._keep, name=label, arg=arg, options=opts, timer=timer))
        else:
            target = functools.partial(fn, *args) if args else fn
            result = off_running_loop(lambda: run_bench(
                target, self._keep, name=label, options=opts, timer=timer))
        slot = self._keep(result)
        if result.error is not None:
            raise TargetError(f"{label}: {result.error}")
        return self._judge(slot, parsed)

    def burst(
        self,
        fn: Callable[..., Any],
        n: int = 10,
        *,
        args: Iterable[Any] | None = None,
        checks: Iterable[str] = (),
        name: str | None = None,
        timeout: float = 60.0,
    ) -> BurstOutcome:
        """``n`` calls of ``fn`` released at once; ``outcome.counts``, ``outcome.check(...)``."""
        from perfgate.bench import burst

        parsed = _parse(checks, "burst")
        outcome = off_running_loop(
            lambda: burst(fn, n, args=args, name=self._name(fn, name), timeout=timeout))
        outcome.result = dataclasses.replace(
            outcome.result, extra={**outcome.result.extra, "test": self.nodeid}
        )
        # The outcome, not a snapshot, is collected: outcome.check() adds verdicts later.
        self._collector.add(self.nodeid, lambda: outcome.result, "perf")
        _notify(lambda: outcome.result)
        if parsed:
            outcome.check(*(c.text for c in parsed))
        return outcome

    def parallel(
        self,
        fn: Callable[[], Any],
        workers: int = 2,
        *,
        mode: Literal["thread", "process"] = "thread",
        duration: float = 0.2,
        trials: int = 5,
        checks: Iterable[str] = (),
        name: str | None = None,
    ) -> Result:
        """Throughput on 1 vs ``workers`` threads/processes: speedup and efficiency with CIs."""
        from perfgate.bench import parallel

        parsed = _parse(checks, "bench")
        result = off_running_loop(lambda: parallel(
            fn, workers, mode=mode, duration=duration, trials=trials, name=self._name(fn, name)))
        return self._judge(self._keep(result), parsed)

    def sweep(
        self,
        fn: Callable[..., Any],
        sizes: Sequence[int] | None = None,
        *,
        checks: Iterable[str] = (),
        name: str | None = None,
        **sweep_options: Any,
    ) -> Result:
        """Benchmark ``fn`` across input sizes and fit its complexity (``perfgate.sweep``).

        Checks such as ``"complexity <= O(n log n)"`` or ``"complexity(queries) == O(1)"``
        raise AssertionError when they fail; ``inconclusive`` does not fail.
        """
        from perfgate.bench._sweep import sweep

        parsed = _parse(checks, "sweep")
        result = off_running_loop(
            lambda: sweep(fn, sizes, name=self._name(fn, name), **sweep_options))
        slot = self._keep(result)
        if result.error is not None:
            raise TargetError(f"{result.name}: {result.error}")
        return self._judge(slot, parsed)

    def load(
        self,
        target: Any,
        *,
        checks: Iterable[str] = (),
        name: str | None = None,
        **load_options: Any,
    ) -> Result:
        """A load test of a callable or a URL on 127.0.0.1 (``perfgate.load``): closed model
        with ``vus=``, open model with ``rate=``; checks such as ``"p(95) < 300ms"``,
        ``"error_rate < 1%"`` raise AssertionError when they fail; a run with no successful
        iteration raises TargetError (zero real work is not a pass)."""
        from perfgate.load import load

        parsed = _parse(checks, "load")
        label = name or (target if isinstance(target, str) else self._name(target, None))
        result = off_running_loop(lambda: load(target, name=label, **load_options))
        slot = self._keep(result)
        if result.error is not None and self.enforce:  # e.g. no iteration succeeded
            raise TargetError(f"{label}: {result.error}")
        return self._judge(slot, parsed)

    def check(self, result: Result | BurstOutcome, *checks: str) -> Result:
        """Apply more checks to a Result made by this fixture (or a BurstOutcome).

        Returns the Result with the new verdicts; raises AssertionError when one fails.
        With no checks, raises when a verdict the result already holds failed (a
        ``pg.load(..., checks=...)`` made in the test). The collected copy gets the verdicts
        too, so they reach ``--perfgate-json``.
        """
        from perfgate.bench import BurstOutcome

        if isinstance(result, BurstOutcome):
            result.check(*checks)
            return result.result
        if not checks:
            err = verdict_failure(result, result.verdicts)
            if err is not None and self.enforce:
                _raised(result.verdicts)
                raise err
        parsed = _parse(checks, result.kind)
        for slot in self._slots:
            if slot.result is result:
                return self._judge(slot, parsed)
        return self._judge(self._keep(result), parsed)  # made elsewhere: collect it now


