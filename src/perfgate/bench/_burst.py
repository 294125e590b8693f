"""Bursts: n calls released at the same instant, every outcome counted.

For race conditions: "ten concurrent swaps of one shift: exactly one wins, nine get a
clean error". Sync targets run on n threads behind a :class:`threading.Barrier`; async
targets run as n tasks behind an :class:`asyncio.Barrier` on one loop.

Outcome labels: ``"ok"`` for a normal return, the exception's class name when it raised
(``"ValueError"``), or the returned string when the target returns a ``str`` (or a
:class:`Label`), so a target can name its own outcomes (``"conflict"``).

Metrics: ``time`` (every call), ``time.<label>`` (the calls of one outcome: a conflict is
often answered faster than a success), ``count.<label>``, and ``error_rate`` /
``success_rate``: the fraction of the burst's calls that raised (or did not). They are
fractions of *these* n calls, the whole population a burst is about, so they carry no
interval: "100 concurrent operations with error rate < 1 %" is decided by what happened.

Each call's argument: none, ``args`` (one per call), or ``setup(i)`` — a factory called
for call i before the barrier, untimed (a fresh connection, a distinct order id).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from perfgate._errors import TargetError, UnitError, UnknownMetricError, UsageError
from perfgate.analysis.checks import Check, apply_checks, evaluate, parse_checks
from perfgate.analysis.stats import summarize
from perfgate.bench._calls import is_async, new_loop
from perfgate.model import Metric, Result, Verdict

__all__ = ["BurstOutcome", "Label", "burst"]


class Label(str):
    """A returned outcome label: ``return pg.Label("conflict")``."""


def _classify(value: Any) -> str:
    return str(value) if isinstance(value, str) and value else "ok"


@dataclass
class BurstOutcome:
    """What a burst saw: ``counts`` per outcome label, examples of each error, the Result."""

    result: Result
    counts: dict[str, int]
    examples: dict[str, str] = field(default_factory=dict)
    values: list[Any] = field(default_factory=list)

    def check(self, *checks: str) -> list[Verdict]:
        """Apply checks such as ``"count(ok) == 1"``.

        Raises AssertionError (with a ``verdicts`` attribute) when one fails."""
        parsed = parse_checks(checks)
        self.result = apply_checks(self.result, parsed)
        verdicts = list(self.result.verdicts[-len(parsed):]) if parsed else []
        failed = [v for v in verdicts if v.status == "fail"]
        if failed:
            lines = "\n".join(f"  {v.check}: {v.status} — {v.evidence}" for v in failed)
            counts = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
            err = AssertionError(f"burst {self.result.name!r} ({counts}):\n{lines}")
            err.verdicts = verdicts  # type: ignore[attr-defined]
            from perfgate._observe import raised

            raised(verdicts)  # the test saw it: pytest need not fail it a second time
            raise err
        return verdicts


def burst(
    fn: Callable[..., Any],
    n: int = 10,
    *,
    args: Iterable[Any] | None = None,
    name: str | None = None,
    checks: Iterable[str] = (),
    timeout: float = 60.0,
    setup: Callable[[int], Any] | None = None,
) -> BurstOutcome:
    """Call ``fn`` n times at once. ``args``: one argument per call (e.g. ``range(n)``);
    or ``setup``: called as ``setup(i)`` for each call i, before the barrier and untimed,
    its value the argument of call i."""
    if n < 1:
        raise UsageError("a burst needs n ≥ 1")
    if args is not None and setup is not None:
        raise UsageError("burst: pass args= or setup=, not both")
    parsed = parse_checks(checks)  # malformed checks are rejected before anything runs
    call_args: list[Any] | None = list(args) if args is not None else None
    if call_args is not None and len(call_args) != n:
        raise UsageError(f"burst: {len(call_args)} args for n={n} calls")
    label = name or getattr(fn, "__qualname__", None) or repr(fn)
    if setup is not None:
        try:
            call_args = [setup(i) for i in range(n)]
        except Exception as exc:
            raise TargetError(f"burst {label!r}: setup raised {type(exc).__name__}: {exc}"
                              ) from exc
    outcomes: list[str] = [""] * n
    raised = [False] * n
    values: list[Any] = [None] * n
    times: list[float] = [0.0] * n
    examples: dict[str, str] = {}

    def record(i: int, t0: float, value: Any, exc: BaseException | None) -> None:
        times[i] = time.perf_counter() - t0
        if exc is not None:
            cls = type(exc).__name__
            outcomes[i] = cls
            raised[i] = True
            examples.setdefault(cls, f"{cls}: {exc}")
        else:
            outcomes[i] = _classify(value)
            values[i] = value

    if is_async(fn):
        _run_async(fn, n, call_args, record, timeout)
    else:
        _run_threads(fn, n, call_args, record, timeout)

    counts = dict(Counter(outcomes))
    metrics: dict[str, Metric] = {"time": summarize(times, "s")}
    for k, v in sorted(counts.items()):
        metrics[f"count.{k}"] = Metric.counter(v)
        metrics[f"time.{k}"] = summarize([t for t, o in zip(times, outcomes, strict=True)
                                          if o == k], "s")
    errors = sum(raised)
    metrics["error_rate"] = Metric.gauge(errors / n, "1", errors=errors, calls=n)
    metrics["success_rate"] = Metric.gauge((n - errors) / n, "1", errors=errors, calls=n)
    result = Result(
        name=label, kind="burst", params={"n": n}, metrics=metrics,
        extra={"examples": dict(examples)} if examples else {},
    )
    outcome = BurstOutcome(result=result, counts=counts, examples=examples, values=values)
    if parsed:
        outcome.result = _judge_each(result, parsed)
    return outcome


def _judge_each(result: Result, checks: Sequence[Check]) -> Result:
    """Every check that can be evaluated gets its verdict; one that cannot (an unknown
    metric, a unit that does not fit) marks the result's ``error`` without hiding them."""
    verdicts = list(result.verdicts)
    problems: list[str] = []
    for c in checks:
        try:
            verdicts.append(evaluate(c, result))
        except (UnknownMetricError, UnitError) as exc:
            problems.append(str(exc))
    judged = result.with_verdicts(verdicts)
    if problems:
        judged = replace(judged, error="check failed to evaluate: " + "; ".join(problems))
    return judged


def _run_threads(
    fn: Callable[..., Any],
    n: int,
    args: list[Any] | None,
    record: Callable[[int, float, Any, BaseException | None], None],
    timeout: float,
) -> None:
    barrier = threading.Barrier(n)

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout)
        except threading.BrokenBarrierError:
            record(i, time.perf_counter(), None, TimeoutError("burst barrier broken"))
            return
        t0 = time.perf_counter()
        try:
            value = fn(args[i]) if args is not None else fn()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the target's failure is recorded, not raised
            record(i, t0, None, exc)
        else:
            record(i, t0, value, None)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        raise UsageError(f"burst: calls still running after {timeout:g} s timeout")


def _run_async(
    fn: Callable[..., Any],
    n: int,
    args: list[Any] | None,
    record: Callable[[int, float, Any, BaseException | None], None],
    timeout: float,
) -> None:
    async def main() -> None:
        barrier = asyncio.Barrier(n)

        async def one(i: int) -> None:
            await barrier.wait()
            t0 = time.perf_counter()
            try:
                value = await (fn(args[i]) if args is not None else fn())
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - the target's failure is recorded, not raised
                record(i, t0, None, exc)
            else:
                record(i, t0, value, None)

        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), timeout)

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
