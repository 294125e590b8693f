"""Drivers: how a worker runs iterations of one kind of target.

- ``HttpDriver`` (``_drive_http``) — URL targets; each VU is a keep-alive connection that,
  in the closed model, writes its next request from the callback that completed the last one.
- ``AsyncDriver`` (``_drive_async``) — async callables; each VU is a task on the worker's loop.
- ``SyncDriver`` (``_drive_sync``) — sync callables; each VU is a thread running a tight
  timed loop.

Under the open model the first two share :class:`Driver`'s queueing: an arrival takes a
free VU (creating one up to ``max_vus``) or waits in line; a VU that finishes takes the
oldest waiting arrival, dropping (and counting) those that waited past ``max_wait``.
Latency always counts from the intended start; service time from the actual send.
A failed iteration's time goes to ``Stream.fail``, never to the latency of real requests.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from perfgate.load._executors import Closed, Executor, Open
from perfgate.load._recorder import Recorder

__all__ = ["NEVER", "Driver"]

NEVER = 1 << 62


class Driver:
    """Shared state: the recorder, the deadline, the iteration budget, open-model queueing."""

    def __init__(self, ex: Executor, rec: Recorder, loop: asyncio.AbstractEventLoop) -> None:
        self.ex = ex
        self.rec = rec
        self.loop = loop
        self.stream = rec.main
        self.deadline = NEVER
        self.stopping = False
        self.open_model = isinstance(ex, Open)
        self.max_wait_ns = int(ex.max_wait * 1e9) if isinstance(ex, Open) else 0
        self.max_vus = ex.max_vus if isinstance(ex, Open) else 0
        per_vu = isinstance(ex, Closed) and ex.per_vu
        self.remaining = ex.iterations if isinstance(ex, Closed) and ex.iterations and not per_vu \
            else NEVER
        self.per_vu = ex.iterations if isinstance(ex, Closed) and per_vu and ex.iterations \
            else NEVER
        self.budgeted = self.remaining != NEVER or self.per_vu != NEVER
        self.done = loop.create_future()  # set when an iteration budget is used up
        self.waiting: deque[int] = deque()
        self.idle: list[Any] = []
        self.nslots = 0
        self.sched_lag_max = 0
        self.sched_lag_sum = 0
        self.sched_n = 0

    # -- to implement
    async def prepare(self, vus: int) -> None:
        """Open what can be opened before the start (connections)."""

    def set_vus(self, n: int) -> None:
        """Closed model: run ``n`` VUs from now on."""
        raise NotImplementedError

    def new_slot(self) -> Any:
        raise NotImplementedError

    def fire(self, slot: Any, intended: int, now: int) -> None:
        raise NotImplementedError

    def inflight(self) -> int:
        raise NotImplementedError

    def vus(self) -> int:
        return self.nslots

    def vus_spent(self) -> bool:
        """Closed model with a per-VU budget: every active VU has used its own."""
        return False

    def http_requests(self) -> int:
        """HTTP requests made so far through the VUs' clients (-1: not counted)."""
        return -1

    def resume_wait(self) -> int:
        """ns responses waited, so far, for the generator's loop to resume their caller."""
        return 0

    def abort_inflight(self) -> int:
        """After the grace period: abandon what is still in flight; return how many."""
        return 0

    def tick_check(self, now: int) -> None:
        """Called every few tens of ms: timeouts, expiring waiting arrivals."""
        self.purge(now)

    def close(self) -> None:
        pass

    # -- shared
    def stop(self) -> None:
        self.stopping = True
        while self.waiting:
            self.waiting.popleft()
            self.stream.dropped.append(1)

    def check_done(self) -> None:
        if not self.done.done() and (self.remaining <= 0 or self.stopping
                                     or self.vus_spent()) \
                and self.inflight() == 0:
            self.done.set_result(None)

    def submit(self, intended: int, now: int) -> None:
        """Open model: an arrival is due."""
        if self.stopping:
            return
        if self.idle:
            slot = self.idle.pop()
        elif self.nslots < self.max_vus:
            self.nslots += 1
            slot = self.new_slot()
        else:
            self.waiting.append(intended)
            return
        self.note_lag(now - intended)
        self.fire(slot, intended, now)

    def note_lag(self, lag: int) -> None:
        """An arrival went out ``lag`` ns after its time, a VU being free: the generator's."""
        self.sched_lag_sum += lag
        self.sched_n += 1
        self.sched_lag_max = max(self.sched_lag_max, lag)

    def release(self, slot: Any, now: int) -> None:
        """Open model: a VU finished; give it the oldest arrival still worth sending."""
        w = self.waiting
        while w:
            intended = w.popleft()
            if now - intended > self.max_wait_ns:
                self.stream.dropped.append(1)
                continue
            self.fire(slot, intended, now)
            return
        self.idle.append(slot)

    def backlog(self) -> int:
        """Open model: arrivals waiting for a free VU."""
        return len(self.waiting)

    def purge(self, now: int) -> None:
        w = self.waiting
        while w and now - w[0] > self.max_wait_ns:
            w.popleft()
            self.stream.dropped.append(1)
