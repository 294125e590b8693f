"""The fault proxies' event loop: one asyncio loop in a daemon thread per proxy.

A proxy must keep forwarding while the caller's thread blocks (a sync test, a load run's
coordinator), so it owns its loop. Other threads hand it work with
:meth:`LoopThread.call`, which waits a bounded time: a stuck proxy never hangs its caller.

Timers: asyncio wakes from ``epoll`` with millisecond granularity, so a plain
``sleep(d)`` overshoots by up to 1 ms. :func:`wait_until` sleeps to 1.1 ms before the
deadline and yields to the loop from there, which keeps delays within ~0.1 ms on an idle
machine (a busy one preempts the proxy: see its ``stats.lateness()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread", "connect", "shut_down", "wait_until"]

T = TypeVar("T")
_CALL_TIMEOUT_S = 10.0
_SPIN_S = 0.0011  # epoll wakes up to 1 ms late: spin only through that last ms


async def wait_until(t: float) -> None:
    """Return at loop time ``t`` (not before it, and well within a millisecond after)."""
    loop = asyncio.get_running_loop()
    rem = t - loop.time()
    if rem > _SPIN_S:
        await asyncio.sleep(rem - _SPIN_S)
    while loop.time() < t:
        await asyncio.sleep(0)


def _close_result(f: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
                  ) -> None:
    if not f.cancelled() and f.exception() is None:
        f.result()[1].close()


async def connect(host: str, port: int, timeout: float,
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` that never leaks the connection when the caller is
    cancelled (a proxy stopping) between the connect and the caller receiving it."""
    fut = asyncio.ensure_future(asyncio.open_connection(host, port))
    try:
        return await asyncio.wait_for(asyncio.shield(fut), timeout)
    except BaseException:
        fut.add_done_callback(_close_result)
        if not fut.done():
            fut.cancel()
        raise


class LoopThread:
    """An event loop running in a daemon thread until :meth:`close`."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = _CALL_TIMEOUT_S) -> T:
        """Run ``coro`` on the loop and return its result (its exception is raised here)."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        """Cancel what still runs, stop the loop and join the thread (bounded)."""
        if not self._thread.is_alive():
            return

        async def _cancel_all() -> None:
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # closing a transport closes its socket a loop turn later: let those run
            for _ in range(10):
                await asyncio.sleep(0)

        # closing must finish whatever state the loop is in
        with contextlib.suppress(Exception):
            self.call(_cancel_all(), timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)


def shut_down(lt: LoopThread, server: asyncio.AbstractServer | None,
              close_all: Callable[[], None]) -> None:
    """Stop a listener served on ``lt`` and everything it accepted (``close_all`` aborts
    the open connections), then the loop; bounded in time, never raises."""

    async def _shut() -> None:
        if server is not None:
            # Stop accepting first, and let the accepts already under way become transports
            # before the server closes: on Python 3.11 a connection accepted in the same loop
            # turn as ``server.close()`` fails its transport's ``Server._attach`` assertion,
            # the error is swallowed and the socket is left open to the garbage collector —
            # its client hung until its own timeout (2 runs in 20 of a proxy stopped
            # mid-load beside a busy loop).
            loop = asyncio.get_running_loop()
            for sock in getattr(server, "sockets", ()) or ():
                loop.remove_reader(sock.fileno())
            for _ in range(10):
                await asyncio.sleep(0)
            server.close()
        close_all()
        # connections the server accepted just before it closed get their protocol a few
        # loop turns later: let them arrive, then close them too
        for _ in range(10):
            await asyncio.sleep(0)
        close_all()

    with contextlib.suppress(Exception):
        lt.call(_shut(), timeout=2.0)
    lt.close()
