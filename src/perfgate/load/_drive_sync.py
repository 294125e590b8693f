"""Sync callables: each VU is a thread running a tight timed loop; under the open model the
threads take arrivals from a queue and drop those that waited past ``max_wait``."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable

from perfgate.bench._phases import recording
from perfgate.load._drivers import NEVER, Driver
from perfgate.load._executors import Executor
from perfgate.load._outcomes import classify_exception
from perfgate.load._recorder import FLUSH_AT, Recorder, Stream
from perfgate.load._targets import CallTarget

__all__ = ["SyncDriver"]


class SyncDriver(Driver):
    """Sync callables on threads. A VU thread checks its controls every 10 ms (piggybacked
    on the timer it reads anyway), so the loop body is two clock reads, a call and an append."""

    def __init__(self, target: CallTarget, ex: Executor, rec: Recorder,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(ex, rec, loop)
        self.fn = target.fn
        self.threads: list[threading.Thread] = []
        self.active: list[bool] = []
        self.wake: list[threading.Event] = []
        self.busy_flags: list[bool] = []
        self.q: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.exited = 0

    def _spawn(self, target: Callable[[int], None]) -> None:
        i = len(self.threads)
        self.active.append(True)
        self.wake.append(threading.Event())
        self.busy_flags.append(False)
        t = threading.Thread(target=target, args=(i,), name=f"perfgate-vu-{i}", daemon=True)
        self.threads.append(t)
        t.start()

    def set_vus(self, n: int) -> None:
        self.nslots = max(self.nslots, n)
        while len(self.threads) < n:
            self._spawn(self._closed_vu)
        for i in range(len(self.threads)):
            self.active[i] = i < n
            if i < n:
                self.wake[i].set()

    def _finished(self) -> None:
        with self.lock:
            self.exited += 1
            last = self.exited == len(self.threads)
        if last:
            # RuntimeError: the worker's loop has closed, nobody waits any more
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.check_done)

    def _claim(self, want: int) -> int:
        """Take up to ``want`` iterations of a shared budget (0 when it is spent)."""
        if self.remaining == NEVER:
            return want
        with self.lock:
            k = min(want, self.remaining, max(1, self.remaining // (4 * len(self.threads))))
            self.remaining -= k
            return max(k, 0)

    def _closed_vu(self, i: int) -> None:
        """Blocks of timed calls, sized to ~5 ms, with the controls read between blocks:
        the timed part of the loop is two clock reads, the call and an append."""
        s = self.rec.stream()
        self.busy_flags[i] = True
        with recording() as acc:  # pg.phase inside fn: this thread's context only
            self._closed_blocks(i, s, acc)

    def _closed_blocks(self, i: int, s: Stream, acc: dict[str, float]) -> None:
        left = self.per_vu  # this VU's own budget (NEVER: none)
        block = 1
        lat, fail, ev = s.lat.append, s.fail.append, s.events.append
        fn, pc = self.fn, time.perf_counter_ns
        phases = s.phases.append
        try:
            while True:
                now = pc()
                if self.stopping or now >= self.deadline or left <= 0:
                    break
                if not self.active[i]:
                    self.busy_flags[i] = False
                    self.wake[i].clear()
                    self.wake[i].wait(0.1)
                    self.busy_flags[i] = True
                    continue
                k = self._claim(min(block, left))
                if k == 0:
                    break
                left -= k
                for _ in range(k):
                    t0 = pc()
                    try:
                        fn()
                    except Exception as exc:  # noqa: BLE001 - an outcome
                        t1 = pc()
                        fail(t1 - t0)
                        ev((classify_exception(exc), exc, t1))
                    else:
                        lat(pc() - t0)
                    if acc:
                        for name, v in acc.items():
                            phases((name, int(v * 1e9)))
                        acc.clear()
                if len(s.lat) >= FLUSH_AT:  # the loop thread may be starved of the GIL
                    self.rec.absorb()
                if pc() - now < 5_000_000:
                    block = min(block * 2, 1 << 16)
                elif block > 1:
                    block //= 2
        finally:
            self.busy_flags[i] = False
            self._finished()

    def check_done(self) -> None:
        if not self.done.done() and self.exited >= len(self.threads) > 0:
            self.done.set_result(None)

    # open model: arrivals go through a queue; a VU thread that takes one too late drops it
    def submit(self, intended: int, now: int) -> None:
        if self.stopping:
            return
        backlog = self.q.qsize()
        # a new VU only when every thread is inside a call: a queue that an idle thread has
        # not woken for yet is the GIL's hand-over, and more threads only lengthen it
        if len(self.threads) < self.max_vus and (
                not self.threads or (backlog > 0 and self.inflight() >= len(self.threads))):
            self.nslots += 1
            self._spawn(self._open_vu)
        if backlog == 0:  # no arrival waits for a VU: any lateness is the scheduler's own
            self.note_lag(now - intended)
        self.q.put(intended)

    def backlog(self) -> int:
        return self.q.qsize()

    def _open_vu(self, i: int) -> None:
        with recording() as acc:
            self._open_loop(i, acc)

    def _open_loop(self, i: int, acc: dict[str, float]) -> None:
        s = self.rec.stream()
        lat, svc, ev, drop = s.lat.append, s.svc.append, s.events.append, s.dropped.append
        fail = s.fail.append
        fn, pc, q, max_wait = self.fn, time.perf_counter_ns, self.q, self.max_wait_ns
        try:
            while True:
                intended = q.get()
                if intended is None:
                    break
                t0 = pc()
                if t0 - intended > max_wait:
                    drop(1)
                    continue
                self.busy_flags[i] = True
                try:
                    fn()
                except Exception as exc:  # noqa: BLE001 - an outcome
                    t1 = pc()
                    self.busy_flags[i] = False
                    fail(t1 - intended)
                    ev((classify_exception(exc), exc, t1))
                else:
                    t1 = pc()
                    self.busy_flags[i] = False
                    lat(t1 - intended)
                    svc(t1 - t0)
                if acc:
                    for name, v in acc.items():
                        s.phases.append((name, int(v * 1e9)))
                    acc.clear()
                if len(s.lat) >= FLUSH_AT:
                    self.rec.absorb()
        finally:
            self.busy_flags[i] = False
            self._finished()

    def stop(self) -> None:
        self.stopping = True
        if self.open_model:
            while True:
                try:
                    item = self.q.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    self.stream.dropped.append(1)
            for _ in self.threads:
                self.q.put(None)
        for w in self.wake:
            w.set()
        if not self.threads:
            self.check_done()

    def inflight(self) -> int:
        return sum(1 for b in self.busy_flags if b)

    def abort_inflight(self) -> int:
        return self.inflight()  # threads cannot be interrupted; they are daemons
