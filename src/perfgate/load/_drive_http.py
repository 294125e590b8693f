"""URL targets: each VU is a keep-alive :class:`~._http.Conn`; under the closed model a
response's callback records the latency and writes the next request itself."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from perfgate._errors import UsageError
from perfgate._net import connect
from perfgate.load._drivers import NEVER, Driver
from perfgate.load._executors import Executor
from perfgate.load._http import Conn, tls_context
from perfgate.load._outcomes import classify_exception, status_class
from perfgate.load._recorder import Recorder
from perfgate.load._targets import HttpTarget

__all__ = ["HttpDriver"]

_RETRY_S = 0.01  # closed model: pause before a VU retries after a connection failure


class HttpDriver(Driver):
    def __init__(self, target: HttpTarget, ex: Executor, rec: Recorder,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(ex, rec, loop)
        self.target = target
        scheme, self.host, self.port = target.origin
        self.ssl = tls_context(target.verify, target.ca_file) if scheme == "https" else None
        payloads = [r.encode() for r in target.requests]
        if len(payloads) == 1:
            self.cycle = payloads
        else:
            rnd = random.Random(20261122)
            self.cycle = rnd.choices(payloads, [r.weight for r in target.requests], k=4096)
        self.pos = 0
        self.conns: list[Conn] = []
        self.timeout_ns = int(target.timeout * 1e9)
        self.lat_append = self.stream.lat.append
        self.svc_append = self.stream.svc.append
        self.ev_append = self.stream.events.append
        self.fail_append = self.stream.fail.append

    def _pick(self) -> bytes:
        c = self.cycle
        if len(c) == 1:
            return c[0]
        self.pos = (self.pos + 1) % len(c)
        return c[self.pos]

    def _conn(self, i: int) -> Conn:
        while len(self.conns) <= i:
            c = Conn(self, len(self.conns))
            c.lat_append = self.lat_append
            self.conns.append(c)
        return self.conns[i]

    def vus_spent(self) -> bool:
        if self.per_vu == NEVER:
            return False
        return all(c.iterations >= self.per_vu for c in self.conns if c.active)

    def _can_be_fast(self, c: Conn) -> bool:
        return (not self.open_model and c.active and not self.stopping
                and len(self.cycle) == 1 and not self.budgeted)

    def stop(self) -> None:
        super().stop()
        for c in self.conns:
            c.fast = False

    async def _open(self, conn: Conn) -> None:
        await connect(self.loop, lambda: conn, self.host, self.port, ssl=self.ssl,
                      allow_remote=self.target.allow_remote)

    async def prepare(self, vus: int) -> None:
        conns = [self._conn(i) for i in range(vus)]
        results = await asyncio.gather(*(self._open(c) for c in conns), return_exceptions=True)
        del results  # failures show up as errors of the first iterations

    def set_vus(self, n: int) -> None:
        self.nslots = max(self.nslots, n)
        now = time.perf_counter_ns()
        for i in range(max(n, len(self.conns))):
            c = self._conn(i)
            c.active = i < n
            c.deadline = self.deadline
            c.fast = self._can_be_fast(c)
            if c.active and not c.busy and not c.connecting:
                self._iterate(c, now)

    def _iterate(self, c: Conn, now: int) -> None:
        """Closed model: start the next iteration on VU ``c`` (if it should go on)."""
        if not c.active or self.stopping or now >= self.deadline or self.remaining <= 0 \
                or c.iterations >= self.per_vu:
            self.check_done()
            return
        self.remaining -= 1
        c.iterations += 1
        c.started = now
        req = c.request = self._pick()
        if c.transport is not None:
            c.send(req)
        else:
            self._connect_then_send(c)

    def _connect_then_send(self, c: Conn) -> None:
        c.connecting = True
        c.busy = True

        async def go() -> None:
            try:
                async with asyncio.timeout(self.timeout_ns / 1e9):
                    await self._open(c)
            except (OSError, TimeoutError, UsageError) as exc:  # UsageError: loopback rule
                c.connecting = False
                c.busy = False
                self.on_failure(c, exc, time.perf_counter_ns())
                return
            c.connecting = False
            if c.transport is not None:
                c.send(c.request)

        self.loop.create_task(go())

    # ConnOwner
    def on_response(self, conn: Conn, status: int, now: int) -> None:
        if status >= 400:
            self.fail_append(now - (conn.intended if self.open_model else conn.started))
            self.ev_append((status_class(status), status, now))
        elif self.open_model:
            self.lat_append(now - conn.intended)
            self.svc_append(now - conn.started)
        else:
            self.lat_append(now - conn.started)
        if self.open_model:
            self._release(conn, now)
        else:
            self._iterate(conn, now)

    def on_failure(self, conn: Conn, exc: BaseException, now: int) -> None:
        self.fail_append(now - (conn.intended if self.open_model else conn.started))
        self.ev_append((classify_exception(exc), exc, now))
        if self.open_model:
            self._release(conn, now)
        else:
            self.loop.call_later(_RETRY_S, lambda: self._iterate(conn, time.perf_counter_ns()))

    def _release(self, conn: Conn, now: int) -> None:
        if self.stopping:
            self.idle.append(conn)
            self.check_done()
            return
        self.release(conn, now)

    # open model
    def new_slot(self) -> Conn:
        return self._conn(len(self.conns))

    def fire(self, slot: Any, intended: int, now: int) -> None:
        c: Conn = slot
        c.intended = intended
        c.started = now
        req = self._pick()
        if c.transport is not None:
            c.send(req)
        else:
            c.request = req
            self._connect_then_send(c)

    def inflight(self) -> int:
        return sum(1 for c in self.conns if c.busy)

    def tick_check(self, now: int) -> None:
        super().tick_check(now)
        limit = self.timeout_ns
        for c in self.conns:
            if c.busy and not c.connecting and now - c.started > limit:
                c.abort()
                self.on_failure(c, TimeoutError(f"no response in {limit / 1e9:g} s"), now)

    def abort_inflight(self) -> int:
        n = 0
        for c in self.conns:
            if c.busy:
                n += 1
                c.abort()
        return n

    def close(self) -> None:
        for c in self.conns:
            c.active = False
            c.abort()
