"""Turn a sync or async callable into timed loops, written once for both."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Caller", "is_async", "new_loop"]

_NO_ARG = object()


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


class Caller:
    """Runs ``n`` calls of a target and returns the elapsed time, sync or async alike.

    ``arg`` (when given) is passed as the only argument: the value a setup returned.
    The loop body is as thin as possible: the timer reads bracket the whole batch.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        arg: Any = _NO_ARG,
        timer: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.fn = fn
        self.arg = arg
        self.timer = timer or time.perf_counter
        self.is_async = is_async(fn)
        self._loop: asyncio.AbstractEventLoop | None = new_loop() if self.is_async else None

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def call_once(self) -> Any:
        fn, arg = self.fn, self.arg
        if self._loop is not None:
            coro = fn() if arg is _NO_ARG else fn(arg)
            return self._loop.run_until_complete(coro)
        return fn() if arg is _NO_ARG else fn(arg)

    def run(self, n: int) -> float:
        """Elapsed seconds for n calls."""
        if self._loop is not None:
            return self._loop.run_until_complete(self._arun(n))
        fn, arg, timer = self.fn, self.arg, self.timer
        r = range(n)
        if arg is _NO_ARG:
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
        if arg is _NO_ARG:
            t0 = timer()
            for _ in r:
                await fn()
            return timer() - t0
        t0 = timer()
        for _ in r:
            await fn(arg)
        return timer() - t0

    def run_each(self, n: int, before: Callable[[], None], after: Callable[[Any], None]) -> None:
        """n calls with ``before()`` ahead of each and ``after(return_value)`` behind it."""
        fn, arg = self.fn, self.arg
        if self._loop is not None:

            async def go() -> None:
                for _ in range(n):
                    before()
                    aw: Awaitable[Any] = fn() if arg is _NO_ARG else fn(arg)
                    after(await aw)

            self._loop.run_until_complete(go())
            return
        for _ in range(n):
            before()
            after(fn() if arg is _NO_ARG else fn(arg))
