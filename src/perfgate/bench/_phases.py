"""Named phases inside one operation: ``with pg.phase("parse"): ...``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_phases", "phase", "recording"]

_ACTIVE: ContextVar[dict[str, float] | None] = ContextVar("perfgate_phases", default=None)
# The names of the phases open right now (outermost first), for probes that attribute what
# they see (database statements) to phases. Set only while recording, like the times.
_CURRENT: ContextVar[tuple[str, ...]] = ContextVar("perfgate_phase_stack", default=())


def current_phases() -> tuple[str, ...]:
    """The phases open at this point (outermost first); empty outside a recording."""
    return _CURRENT.get()


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time a block as the phase ``name``; outside a benchmark it costs one lookup."""
    acc = _ACTIVE.get()
    if acc is None:
        yield
        return
    stack = _CURRENT.set((*_CURRENT.get(), name))
    t0 = time.perf_counter()
    try:
        yield
    finally:
        acc[name] = acc.get(name, 0.0) + (time.perf_counter() - t0)
        _CURRENT.reset(stack)


@contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Collect phase times (seconds, summed) of everything run inside the block."""
    acc: dict[str, float] = {}
    token = _ACTIVE.set(acc)
    try:
        yield acc
    finally:
        _ACTIVE.reset(token)
