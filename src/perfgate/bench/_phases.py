"""Named phases inside one operation: ``with pg.phase("parse"): ...``.

A phase is timed on the clock of the benchmark that runs it (the one the engine was given,
wall or CPU), in the same rounds as the total, so the phases of a call add up to at most
the call's own time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_phases", "phase", "recording"]

_ACTIVE: ContextVar[tuple[dict[str, float], Callable[[], float]] | None] = ContextVar(
    "perfgate_phases", default=None)
# The names of the phases open right now (outermost first), for probes that attribute what
# they see (database statements, HTTP calls) to phases. Set only while recording.
_CURRENT: ContextVar[tuple[str, ...]] = ContextVar("perfgate_phase_stack", default=())


def current_phases() -> tuple[str, ...]:
    """The phases open at this point (outermost first); empty outside a recording."""
    return _CURRENT.get()


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time a block as the phase ``name``; outside a benchmark it costs one lookup."""
    active = _ACTIVE.get()
    if active is None:
        yield
        return
    acc, clock = active
    stack = _CURRENT.set((*_CURRENT.get(), name))
    t0 = clock()
    try:
        yield
    finally:
        acc[name] = acc.get(name, 0.0) + (clock() - t0)
        _CURRENT.reset(stack)


@contextmanager
def recording(clock: Callable[[], float] = time.perf_counter) -> Iterator[dict[str, float]]:
    """Collect phase times (seconds on ``clock``, summed) of everything run inside the block."""
    acc: dict[str, float] = {}
    token = _ACTIVE.set((acc, clock))
    try:
        yield acc
    finally:
        _ACTIVE.reset(token)
