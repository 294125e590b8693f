"""In-process faults: wrap a function so that a fraction of its calls is delayed, raises,
or hangs until a timeout.

::

    lookup = faulty(client.get, raises=ConnectionError("cache down"), fraction=0.2, seed=1)
    lookup("k")                 # 20 % of calls raise, the others run client.get
    with lookup.active(False):  # switched off for a block (or: lookup.enabled = False)
        ...

Which calls are hit is drawn from a seeded RNG, so a run is repeatable. The wrapper keeps
the wrapped function's kind: an async function gets an async wrapper, whose delays and
hangs await instead of blocking the loop. A hang waits ``hang`` seconds (or until
:meth:`Faulty.release`) and then raises :class:`TimeoutError`, as a client with that
timeout would. ``faulty(...)`` with ``enabled=False`` is a fault for schedules: entering
it (``with``) switches it on, leaving switches it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from perfgate._errors import UsageError
from perfgate.units import parse_duration

__all__ = ["Faulty", "faulty"]


def _seconds(v: float | str | None, what: str) -> float | None:
    if v is None:
        return None
    try:
        s = float(v) if isinstance(v, int | float) else parse_duration(v)
    except ValueError:
        raise UsageError(f"faulty: {what}={v!r} is not a duration (e.g. 100ms)") from None
    if s < 0:
        raise UsageError(f"faulty: {what}={v!r} must not be negative")
    return s


class Faulty:
    """A callable wrapper injecting one kind of fault; see :func:`faulty`."""

    def __init__(self, fn: Callable[..., Any], *, delay: float | str | None = None,
                 raises: BaseException | type[BaseException] | None = None,
                 hang: float | str | None = None, fraction: float = 1.0,
                 seed: int | None = None, enabled: bool = True) -> None:
        if not callable(fn):
            raise UsageError(f"faulty: {fn!r} is not callable")
        given = [k for k, v in (("delay", delay), ("raises", raises), ("hang", hang))
                 if v is not None]
        if len(given) != 1:
            raise UsageError("faulty: give exactly one of delay=, raises= or hang=")
        if not 0 <= fraction <= 1:
            raise UsageError(f"faulty: fraction={fraction!r} must be between 0 and 1")
        if raises is not None and not (isinstance(raises, BaseException) or (
                isinstance(raises, type) and issubclass(raises, BaseException))):
            raise UsageError(f"faulty: raises={raises!r} is not an exception")
        self.fn = fn
        self.delay = _seconds(delay, "delay")
        self.hang = _seconds(hang, "hang")
        self.raises = raises
        self.fraction = fraction
        self.enabled = enabled
        self.calls = 0
        self.faulted = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._events: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}
        self.is_async = inspect.iscoroutinefunction(fn)
        functools.update_wrapper(self, fn)
        what = (f"delay {self.delay:g}s" if self.delay is not None else
                f"hang {self.hang:g}s" if self.hang is not None else f"raise {raises!r}")
        self.label = f"{getattr(fn, '__qualname__', fn)!s}: {what}" + (
            f" on {fraction:.0%} of calls" if fraction < 1 else "")

    def _hit(self) -> bool:
        with self._lock:
            self.calls += 1
            hit = self.enabled and self._rng.random() < self.fraction
            self.faulted += hit
            return hit

    def _exception(self) -> BaseException:
        r = self.raises
        return r() if isinstance(r, type) else r  # type: ignore[return-value]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.is_async:
            return self._acall(*args, **kwargs)
        if self._hit():
            if self.raises is not None:
                raise self._exception()
            if self.hang is not None:
                self._released.wait(self.hang)
                raise TimeoutError(f"{self.label}: no answer in {self.hang:g}s")
            assert self.delay is not None
            time.sleep(self.delay)
        return self.fn(*args, **kwargs)

    async def _acall(self, *args: Any, **kwargs: Any) -> Any:
        if self._hit():
            if self.raises is not None:
                raise self._exception()
            if self.hang is not None:
                if not self._released.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._loop_event().wait(), self.hang)
                raise TimeoutError(f"{self.label}: no answer in {self.hang:g}s")
            assert self.delay is not None
            await asyncio.sleep(self.delay)
        return await self.fn(*args, **kwargs)

    def _loop_event(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        with self._lock:
            ev = self._events.get(loop)
            if ev is None:
                ev = self._events[loop] = asyncio.Event()
        return ev

    def release(self) -> None:
        """Let every hanging call (now and later) time out at once."""
        self._released.set()
        with self._lock:
            for loop, ev in list(self._events.items()):
                with contextlib.suppress(RuntimeError):  # that loop is closed
                    loop.call_soon_threadsafe(ev.set)

    @contextmanager
    def active(self, on: bool = True) -> Iterator[Faulty]:
        was, self.enabled = self.enabled, on
        try:
            yield self
        finally:
            self.enabled = was

    def __enter__(self) -> Faulty:
        self.enabled = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.enabled = False


def faulty(fn: Callable[..., Any], *, delay: float | str | None = None,
           raises: BaseException | type[BaseException] | None = None,
           hang: float | str | None = None, fraction: float = 1.0,
           seed: int | None = None, enabled: bool = True) -> Faulty:
    """Wrap ``fn`` so that ``fraction`` of its calls is delayed by ``delay``, raises
    ``raises``, or hangs for ``hang`` and then raises TimeoutError (seeded by ``seed``)."""
    return Faulty(fn, delay=delay, raises=raises, hang=hang, fraction=fraction, seed=seed,
                  enabled=enabled)
