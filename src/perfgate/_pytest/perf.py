"""The ``perf`` fixture: perfgate's engines inside a test, checks as assertions."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from perfgate._errors import TargetError, UsageError
from perfgate._pytest.collector import Collector
from perfgate._pytest.engine import run_spec

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


def _parse(checks: Iterable[str], kind: str) -> tuple[Check, ...]:
    """Parse and unit-check before anything runs: a malformed check costs no measurement."""
    from perfgate.spec import parse_checks_for

    return parse_checks_for(checks, kind)


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

    def _judge(self, slot: _Slot, checks: Sequence[Check], before: int = 0) -> Result:
        """Apply ``checks`` (none: the verdicts already there from ``before`` on are judged)
        and raise AssertionError when one failed, UsageError when one could not be
        evaluated."""
        from perfgate.analysis.checks import judge

        if checks:
            before = len(slot.result.verdicts)
            slot.result = judge(slot.result, checks)
        if slot.result.error_kind == "check":
            raise UsageError(f"{slot.result.name}: {slot.result.error}")
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
        queries: bool = False,
        calls: bool = False,
        **bench_options: Any,
    ) -> Result:
        """Benchmark ``fn(*args)`` (sync or async) and apply ``checks``.

        ``setup()`` (untimed, run once) gives the only argument instead of ``args``;
        ``bench_options`` are :class:`perfgate.BenchOptions` fields (``max_time=0.2`` …).
        ``queries=True`` / ``calls=True`` add an untimed pass counting database statements /
        HTTP requests and cache commands per call (``"http_calls <= 6"``).
        Raises AssertionError carrying the verdicts when a check fails (warn and
        inconclusive do not fail), TargetError when ``fn`` raised.
        """
        from perfgate.spec import BenchSpec

        parsed = _parse(checks, "bench")
        opts = self._options(options, bench_options)
        label = self._name(fn, name)
        if setup is not None and args:
            raise UsageError("perf.bench: pass either args or setup, not both")
        target = functools.partial(fn, *args) if args else fn
        spec = BenchSpec(name=label, fn=target, setup=setup, options=opts, checks=parsed,
                         queries=queries, calls=calls)
        result = run_spec(spec, self._keep, clock=timer)
        slot = self._keep(result)
        if result.error is not None and result.error_kind != "check":
            raise TargetError(f"{label}: {result.error}")
        return self._judge(slot, ())

    def burst(
        self,
        fn: Callable[..., Any],
        n: int = 10,
        *,
        args: Iterable[Any] | None = None,
        checks: Iterable[str] = (),
        name: str | None = None,
        timeout: float = 60.0,
        setup: Callable[[int], Any] | None = None,
    ) -> BurstOutcome:
        """``n`` calls of ``fn`` released at once; ``outcome.counts``, ``outcome.check(...)``.
        ``setup(i)`` (untimed, before the barrier) gives call i its argument."""
        from perfgate._api import burst

        parsed = _parse(checks, "burst")
        outcome = burst(fn, n, args=args, name=self._name(fn, name), timeout=timeout,
                        setup=setup)
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
        from perfgate.spec import ParallelSpec

        spec = ParallelSpec(name=self._name(fn, name), fn=fn, workers=workers, mode=mode,
                            duration=duration, trials=trials, checks=_parse(checks, "parallel"))
        result = run_spec(spec, self._keep)
        slot = self._keep(result)
        if result.error is not None and result.error_kind != "check":
            raise TargetError(f"{result.name}: {result.error}")
        return self._judge(slot, ())

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
        from perfgate._api import sweep

        parsed = _parse(checks, "sweep")
        result = sweep(fn, sizes, name=self._name(fn, name), checks=parsed, **sweep_options)
        slot = self._keep(result)
        if result.error is not None and result.error_kind != "check":
            raise TargetError(f"{result.name}: {result.error}")
        return self._judge(slot, ())

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
        from perfgate._api import load

        parsed = _parse(checks, "load")
        label = name or (target if isinstance(target, str) else self._name(target, None))
        result = load(target, name=label, checks=parsed, **load_options)
        slot = self._keep(result)
        if result.error is not None and result.error_kind != "check" and self.enforce:
            raise TargetError(f"{label}: {result.error}")  # e.g. no iteration succeeded
        return self._judge(slot, ())

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


