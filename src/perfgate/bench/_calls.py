"""Turn a sync or async callable into timed loops, written once for both.

An async target runs on a fresh event loop (uvloop's when installed). When this thread
already runs a loop (a ``pytest.mark.asyncio`` test), the target's loop runs on a helper
thread instead, since one thread cannot run two loops; the context (phases, probes) is
carried over.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["NO_ARG", "Caller", "is_async", "new_loop", "run_coroutine"]

NO_ARG: Any = object()
_NO_ARG = NO_ARG  # the name older modules import
T = TypeVar("T")


def is_async(fn: Callable[..., Any]) -> bool:
    target = getattr(fn, "__call__", fn)  # noqa: B004 - callable objects with async __call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(target)


def new_loop() -> asyncio.AbstractEventLoop:
    """A fresh event loop, uvloop's when installed (as in production async services)."""
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    except ImportError:
        return asyncio.new_event_loop()


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _LoopRunner:
    """Runs coroutines to completion on one private loop, on this thread when it is free of
    a running loop, else on a dedicated helper thread."""

    def __init__(self) -> None:
        self.loop = new_loop()
        self.pool = ThreadPoolExecutor(1, "perfgate-loop") if _loop_running_here() else None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.pool is None:
            return self.loop.run_until_complete(coro)
        ctx = contextvars.copy_context()
        return self.pool.submit(ctx.run, self.loop.run_until_complete, coro).result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.submit(self.loop.close).result()
            self.pool.shutdown()
        else:
            self.loop.close()


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``factory()`` to completion from sync code, whether or not a loop runs here."""
    runner = _LoopRunner()
    try:
        return runner.run(factory())
    finally:
        runner.close()


class Caller:
    """Runs calls of a target and times them, sync or async alike.

    ``arg`` (when given) is passed as the only argument: the value a setup returned. The
    loop bodies are as thin as possible.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        arg: Any = NO_ARG,
        timer: Callable[[], float] | None = None,
    ) -> None:
        self.fn = fn
        self.arg = arg
        self.timer = timer or time.perf_counter
        self.is_async = is_async(fn)
        self._runner: _LoopRunner | None = _LoopRunner() if self.is_async else None

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def _call(self) -> Any:
        return self.fn() if self.arg is NO_ARG else self.fn(self.arg)

    def call_once(self) -> Any:
        if self._runner is not None:
            return self._runner.run(self._call())
        return self._call()

    def run(self, n: int) -> float:
        """Elapsed seconds for n calls, timed as one batch."""
        if self._runner is not None:
            return self._runner.run(self._arun(n))
        fn, arg, timer = self.fn, self.arg, self.timer
        r = range(n)
        if arg is NO_ARG:
            t0 = timer()
            for _ in r:
                fn()
            return timer() - t0
        t0 = timer()
        for _ in r:
            fn(arg)
        return timer() - t0

    async def _arun(self, n: int) -> float:
        fn, arg, timer = self.fn, self.arg, self.timer
        r = range(n)
        if arg is NO_ARG:
            t0 = timer()
            for _ in r:
                await fn()
            return timer() - t0
        t0 = timer()
        for _ in r:
            await fn(arg)
        return timer() - t0

    def run_timed(self, n: int, out: list[float], phases: dict[str, float],
                  phase_rows: list[dict[str, float]] | None) -> float:
        """n calls, each timed on its own into ``out``. With ``phase_rows``, each call's phase
        times (what it added to ``phases``, the recording's accumulator) become one row.
        Returns the seconds the calls took in all."""
        if self._runner is not None:
            return self._runner.run(self._arun_timed(n, out, phases, phase_rows))
        call, timer, add = self._call, self.timer, out.append
        total = 0.0
        for _ in range(n):
            t0 = timer()
            call()
            t1 = timer()
            add(t1 - t0)
            total += t1 - t0
            if phase_rows is not None:
                phase_rows.append(dict(phases))
                phases.clear()
        return total

    async def _arun_timed(self, n: int, out: list[float], phases: dict[str, float],
                          phase_rows: list[dict[str, float]] | None) -> float:
        call, timer, add = self._call, self.timer, out.append
        total = 0.0
        for _ in range(n):
            t0 = timer()
            await call()
            t1 = timer()
            add(t1 - t0)
            total += t1 - t0
            if phase_rows is not None:
                phase_rows.append(dict(phases))
                phases.clear()
        return total

    def run_each(self, n: int, before: Callable[[], None], after: Callable[[Any], None]) -> None:
        """n calls with ``before()`` ahead of each and ``after(return_value)`` behind it."""
        if self._runner is not None:

            async def go() -> None:
                for _ in range(n):
                    before()
                    aw: Awaitable[Any] = self._call()
                    after(await aw)

            self._runner.run(go())
            return
        for _ in range(n):
            before()
            after(self._call())
