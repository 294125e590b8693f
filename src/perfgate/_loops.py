"""Blocking calls from code that may already be inside a running event loop.

perfgate's engines drive async targets with an event loop of their own
(``loop.run_until_complete``). Inside an ``async def`` test (``@pytest.mark.asyncio``,
anyio) this thread's loop is already running, and asyncio refuses to run a second one in the
same thread ("Cannot run the event loop while another loop is running"), leaving the target's
coroutine never awaited. The way out is the one asyncio itself offers for blocking work:
run the engine in another thread, which has no running loop, and wait for it there. The
caller's loop is blocked meanwhile — as it would be by any synchronous call in an async test —
and the engine measures without the caller's loop competing for its time.

The worker thread runs in a copy of the caller's context, so context variables (pytest's
observation of results, ``pg.phase``) are seen there as here.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["in_running_loop", "off_running_loop"]

T = TypeVar("T")


def in_running_loop() -> bool:
    """True when this thread is running an event loop right now."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def off_running_loop(fn: Callable[[], T]) -> T:
    """``fn()`` here when no event loop runs in this thread, else in a fresh thread (joined;
    its exception re-raised here)."""
    if not in_running_loop():
        return fn()
    ctx = contextvars.copy_context()
    box: dict[str, Any] = {}

    def main() -> None:
        try:
            box["value"] = ctx.run(fn)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=main, name="perfgate-off-loop", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
