"""Signals in the CLI: SIGTERM is Ctrl-C, and nothing interrupts the writing of results.

A CI runner cancels a job with SIGTERM (some send SIGINT first); a user presses Ctrl-C,
sometimes twice. While a command runs, both signals raise ``KeyboardInterrupt`` in the main
thread, so every engine's Ctrl-C path runs unchanged: stop, keep what was measured, raise
``Interrupted``. The exit code names the signal, the shell's convention: 128 + its number,
130 for SIGINT, 143 for SIGTERM.

While results are written (:func:`shielded`), a signal is only recorded: a second Ctrl-C
cannot truncate the JSON or abort a store transaction midway. The command then exits with
the signal's code once everything is written.

Only the CLI touches signal handlers (the library never does), and only from the main
thread; the previous handlers are restored when the command returns.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["exit_code", "installed", "received", "shielded"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []


def _raise(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def _record(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)


def _swap(handler: Any) -> dict[signal.Signals, Any] | None:
    if threading.current_thread() is not threading.main_thread():
        return None
    old = {s: signal.getsignal(s) for s in _SIGNALS}
    for s in _SIGNALS:
        signal.signal(s, handler)
    return old


def _restore(old: dict[signal.Signals, Any] | None) -> None:
    for s, h in (old or {}).items():
        signal.signal(s, h)


@contextmanager
def installed() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt inside (a command's whole run)."""
    _received.clear()
    old = _swap(_raise)
    try:
        yield
    finally:
        _restore(old)


@contextmanager
def shielded() -> Iterator[None]:
    """SIGINT and SIGTERM are recorded, not raised, inside (writing the results)."""
    old = _swap(_record)
    try:
        yield
    finally:
        _restore(old)


def received() -> bool:
    """Whether SIGINT or SIGTERM arrived since the command started."""
    return bool(_received)


def exit_code() -> int:
    """128 + the first signal received: 143 for SIGTERM, else 130 (Ctrl-C)."""
    return 128 + int(_received[0]) if _received else 128 + int(signal.SIGINT)
