"""A time limit for a benchmark whose target may never return.

On the main thread of a POSIX process the limit is a real-time interval timer: its signal
interrupts even a blocking sleep or socket read, and the handler raises
:class:`~perfgate.TargetTimeout` inside the target, so what was measured before is kept. The
previous handler and timer are restored afterwards. Elsewhere (another thread, Windows) no
in-process limit is possible; benchmarks run with ``processes=N`` are bounded by their
parent instead.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from perfgate._errors import TargetTimeout

__all__ = ["time_limit"]


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Raise TargetTimeout in this block once ``seconds`` have passed (None: no limit)."""
    usable = (seconds is not None and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return
    assert seconds is not None

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise TargetTimeout(f"{what}: no result within the {seconds:g} s time limit")

    previous = signal.signal(signal.SIGALRM, expired)
    old_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_timer[0] > 0:  # someone else's timer was running: give it back
            signal.setitimer(signal.ITIMER_REAL, *old_timer)
