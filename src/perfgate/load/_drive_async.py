"""Async callables: each VU is a task on the worker's event loop (with its own
:class:`~._http.HttpClient` when the callable takes one).

``pg.phase("name")`` blocks inside an iteration are timed per iteration (each VU task
records into its own context) and become ``latency.<name>`` distributions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from perfgate.bench._phases import recording
from perfgate.load._drivers import NEVER, Driver
from perfgate.load._executors import Executor
from perfgate.load._http import HttpClient, tls_context
from perfgate.load._outcomes import classify_exception, status_class
from perfgate.load._recorder import Recorder
from perfgate.load._targets import CallTarget

__all__ = ["AsyncDriver"]


class _AsyncVU:
    __slots__ = ("client", "index", "task")

    def __init__(self, index: int, client: HttpClient | None) -> None:
        self.index = index
        self.client = client
        self.task: asyncio.Task[None] | None = None


class AsyncDriver(Driver):
    def __init__(self, target: CallTarget, ex: Executor, rec: Recorder,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(ex, rec, loop)
        self.target = target
        self.vus_: list[_AsyncVU] = []
        self.active_n = 0
        self.busy = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.spent = 0  # VUs that used their per-VU budget
        ctx = tls_context(target.verify, target.ca_file)
        self._client: Callable[[], HttpClient | None] = (
            (lambda: HttpClient(target.base_url, ssl_context=ctx,
                                timeout=target.timeout or 30.0,
                                allow_remote=target.allow_remote))
            if target.with_client else (lambda: None)
        )

    def _vu(self, i: int) -> _AsyncVU:
        while len(self.vus_) <= i:
            self.vus_.append(_AsyncVU(len(self.vus_), self._client()))
        return self.vus_[i]

    async def _call(self, vu: _AsyncVU) -> tuple[str, Any] | None:
        """One iteration: None if ok, else (class, detail)."""
        fn = self.target.fn
        try:
            if self.target.timeout is not None and not self.target.with_client:
                async with asyncio.timeout(self.target.timeout):
                    await (fn(vu.client) if vu.client is not None else fn())
            else:
                await (fn(vu.client) if vu.client is not None else fn())
        except Exception as exc:  # noqa: BLE001 - the target's failure is an outcome
            if vu.client is not None:
                vu.client.worst_status = 0
            return classify_exception(exc), exc
        if vu.client is not None and vu.client.worst_status:
            s, vu.client.worst_status = vu.client.worst_status, 0
            return status_class(s), s
        return None

    def vus_spent(self) -> bool:
        return self.per_vu != NEVER and self.spent >= self.active_n

    def http_requests(self) -> int:
        if not self.target.with_client:
            return -1
        return sum(vu.client.requests for vu in self.vus_ if vu.client is not None)

    def resume_wait(self) -> int:
        return sum(vu.client.resume_wait for vu in self.vus_ if vu.client is not None)

    def _phases(self, acc: dict[str, float]) -> None:
        add = self.stream.phases.append
        for k, v in acc.items():
            add((k, int(v * 1e9)))
        acc.clear()

    async def _loop(self, vu: _AsyncVU) -> None:
        pc = time.perf_counter_ns
        lat, fail, ev = self.stream.lat.append, self.stream.fail.append, \
            self.stream.events.append
        done = 0
        fn, client = self.target.fn, vu.client  # a client's requests time out themselves
        self.busy += 1
        with recording() as acc:  # this task's context only
            try:
                while vu.index < self.active_n and not self.stopping and self.remaining > 0 \
                        and done < self.per_vu:
                    t0 = pc()
                    if t0 >= self.deadline:
                        break
                    self.remaining -= 1
                    done += 1
                    if client is None:
                        bad = await self._call(vu)
                    else:  # the scenario case, inlined: one coroutine less per iteration
                        try:
                            await fn(client)
                        except Exception as exc:  # noqa: BLE001 - an outcome
                            client.worst_status = 0
                            bad = classify_exception(exc), exc
                        else:
                            bad = None
                            if client.worst_status:
                                st, client.worst_status = client.worst_status, 0
                                bad = status_class(st), st
                    t1 = pc()
                    if bad is None:
                        lat(t1 - t0)
                    else:
                        fail(t1 - t0)
                        ev((bad[0], bad[1], t1))
                    if acc:
                        self._phases(acc)
                    if not done & 15:
                        # a target that never suspends (fails at once, or awaits nothing)
                        # must not starve the loop: ticks, timeouts and the stop run on it
                        await asyncio.sleep(0)
            finally:
                if done >= self.per_vu:
                    self.spent += 1
                self.busy -= 1
                vu.task = None
                self.check_done()

    def set_vus(self, n: int) -> None:
        self.active_n = n
        self.nslots = max(self.nslots, n)
        for i in range(n):
            vu = self._vu(i)
            if vu.task is None:
                vu.task = self.loop.create_task(self._loop(vu))

    def new_slot(self) -> _AsyncVU:
        return self._vu(self.nslots - 1)

    def fire(self, slot: Any, intended: int, now: int) -> None:
        t = self.loop.create_task(self._one(slot, intended, now))
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def _one(self, vu: _AsyncVU, intended: int, started: int) -> None:
        self.busy += 1
        with recording() as acc:
            try:
                bad = await self._call(vu)
            finally:
                self.busy -= 1
            if acc:
                self._phases(acc)
        t1 = time.perf_counter_ns()
        if bad is None:
            self.stream.lat.append(t1 - intended)
            self.stream.svc.append(t1 - started)
        else:
            self.stream.fail.append(t1 - intended)
            self.stream.events.append((bad[0], bad[1], t1))
        if self.stopping:
            self.idle.append(vu)
            self.check_done()
        else:
            self.release(vu, t1)

    def inflight(self) -> int:
        return self.busy

    def abort_inflight(self) -> int:
        n = self.busy
        for t in list(self.tasks):
            t.cancel()
        for vu in self.vus_:
            if vu.task is not None:
                vu.task.cancel()
        return n

    def close(self) -> None:
        for vu in self.vus_:
            if vu.client is not None:
                vu.client.close()
