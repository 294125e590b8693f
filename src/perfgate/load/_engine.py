"""One worker: an event loop (uvloop when installed) that runs a driver to a plan.

The worker opens its connections, says ``ready``, waits for the coordinator's ``start``
instant (a monotonic clock reading shared by every process of the machine), runs the
executor, and sends a :class:`~._recorder.Snapshot` at each tick boundary and a final one.
It watches itself: CPU seconds used per tick, event-loop lag (how late a 10 ms timer fires),
and under the open model how late arrivals went out while VUs were free. It also watches the
target: every 25 ms it looks whether any iteration completed; a stretch of at least
:data:`GAP_MIN_S` with work in flight and none completing is a *gap* (every VU of this worker
blocked at once — in the closed model, a stall that latency alone would hide). Stretches in
which the check itself woke late are the generator's, not the target's, and are not gaps.

Messages to the coordinator: ``("ready", worker)``, ``("tick", Snapshot)``,
``("final", Snapshot)``, ``("error", worker, text)``. From it: ``("start", t0_ns)``,
``("stop",)``. Timestamps are ``time.perf_counter_ns()`` — CLOCK_MONOTONIC on Linux, so the
same clock in every process.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfgate.bench._calls import new_loop
from perfgate.load._drivers import Driver
from perfgate.load._executors import Closed, Executor, Open
from perfgate.load._recorder import Recorder, Snapshot
from perfgate.load._schedule import arrivals
from perfgate.load._targets import CallTarget, HttpTarget, Target

__all__ = ["WorkerPlan", "process_main", "run_worker"]

_CHECK_S = 0.025  # timeouts / expired arrivals / gaps in completions
GAP_MIN_S = 0.1
_LAG_PROBE_S = 0.01


@dataclass(frozen=True)
class WorkerPlan:
    index: int
    target: Target
    executor: Executor
    tick: float = 1.0
    grace: float = 2.0
    co_correct: bool = False


Send = Callable[[Any], None]
Recv = Callable[[], Any]


def run_worker(plan: WorkerPlan, send: Send, recv: Recv) -> None:
    """Run one worker to completion in this thread (its own event loop)."""
    loop = new_loop()
    try:
        loop.run_until_complete(_Worker(plan, send, recv, loop).main())
    except BaseException as exc:  # noqa: BLE001 - reported to the coordinator
        send(("error", plan.index, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        loop.close()


def process_main(plan: WorkerPlan, conn: Any) -> None:
    """Entry point of a worker process: Ctrl-C is the coordinator's business."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM to the whole process group (a CI runner cancelling the job) too: the
    # coordinator stops the workers and keeps their last tick; a coordinator that dies
    # closes the pipe, which stops them as well.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    run_worker(plan, conn.send, conn.recv)


class _Worker:
    def __init__(self, plan: WorkerPlan, send: Send, recv: Recv,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.plan = plan
        self.send = send
        self.recv = recv
        self.loop = loop
        self.start_fut: asyncio.Future[int] = loop.create_future()
        self.stop_requested = asyncio.Event()
        self.lag_max = 0
        self.lag_sum = 0
        self.lag_n = 0
        self.cpu_mark = time.process_time()
        self.tick_index = 0
        self.synth_mark = 0
        self.http_mark = 0
        self.wait_mark = 0
        self.gaps: list[tuple[float, float]] = []

    def _listen(self) -> None:
        while True:
            try:
                msg = self.recv()
            except (EOFError, OSError):
                msg = ("stop",)
            try:
                if msg[0] == "start":
                    self.loop.call_soon_threadsafe(self._set_start, int(msg[1]))
                elif msg[0] == "stop":
                    self.loop.call_soon_threadsafe(self.stop_requested.set)
                    return
            except RuntimeError:  # the loop has closed: the worker is done
                return

    def _set_start(self, t0: int) -> None:
        if not self.start_fut.done():
            self.start_fut.set_result(t0)

    async def main(self) -> None:
        ex = self.plan.executor
        threading.Thread(target=self._listen, name="perfgate-worker-listen", daemon=True).start()
        rec = Recorder(0, isinstance(ex, Open), self.plan.co_correct)
        drv = make_driver(self.plan.target, ex, rec, self.loop)
        try:
            if isinstance(ex, Closed):
                await drv.prepare(ex.vus_at(0))
            self.send(("ready", self.plan.index))
            t0 = await self._wait_start()
            if t0 is None:
                self._final(drv, rec, 0)
                return
            rec.t0_ns = t0
            await self._run(drv, rec, t0)
        finally:
            drv.close()

    async def _wait_start(self) -> int | None:
        stop: asyncio.Future[Any] = asyncio.ensure_future(self.stop_requested.wait())
        start: asyncio.Future[Any] = self.start_fut
        done, _ = await asyncio.wait({start, stop}, return_when=asyncio.FIRST_COMPLETED)
        if self.start_fut in done:
            stop.cancel()
            return self.start_fut.result()
        return None

    async def _run(self, drv: Driver, rec: Recorder, t0: int) -> None:
        ex = self.plan.executor
        total = ex.total_duration
        drv.deadline = t0 + int(total * 1e9) if total is not None else drv.deadline
        await asyncio.sleep(max(0.0, (t0 - time.perf_counter_ns()) / 1e9))
        self.cpu_mark = time.process_time()
        helpers = [
            self.loop.create_task(self._ticks(drv, rec, t0)),
            self.loop.create_task(self._lag_probe()),
            self.loop.create_task(self._checks(drv, rec)),
        ]
        ending: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(self.stop_requested.wait()), drv.done]
        if isinstance(ex, Open):
            # The run ends when every arrival of the schedule has been submitted (a late
            # loop submits them late, never loses them), not at a timer.
            ending.append(self.loop.create_task(self._schedule(drv, ex, t0)))
        else:
            drv.set_vus(ex.vus_at(0))
            if ex.stages:
                helpers.append(self.loop.create_task(self._stages(drv, ex, t0)))
            if total is not None:
                ending.append(self.loop.create_task(self._sleep_until(drv.deadline)))
        await asyncio.wait(ending, return_when=asyncio.FIRST_COMPLETED)
        for f in ending:
            if f is not drv.done:
                f.cancel()
        drv.stop()
        interrupted = await self._drain(drv)
        for h in helpers:
            h.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        self._final(drv, rec, interrupted)

    async def _drain(self, drv: Driver) -> int:
        """Wait (up to the grace period) for what is in flight; abandon the rest."""
        end = time.perf_counter_ns() + int(self.plan.grace * 1e9)
        while drv.inflight() and time.perf_counter_ns() < end and \
                not self.stop_requested.is_set():
            await asyncio.sleep(0.005)
        n = drv.abort_inflight() if drv.inflight() else 0
        await asyncio.sleep(0)
        return n

    @staticmethod
    async def _sleep_until(t_ns: int) -> None:
        while True:
            d = (t_ns - time.perf_counter_ns()) / 1e9
            if d <= 0:
                return
            await asyncio.sleep(d)

    async def _schedule(self, drv: Driver, ex: Open, t0: int) -> None:
        pc = time.perf_counter_ns
        for chunk in arrivals(ex):
            due = (chunk + t0).tolist()
            i, n = 0, len(due)
            while i < n:
                now = pc()
                while i < n and due[i] <= now:
                    drv.submit(due[i], now)
                    i += 1
                if i < n:
                    await asyncio.sleep(max(0.0, (due[i] - pc()) / 1e9))
                if drv.stopping:
                    return
        # arrivals still waiting for a VU get their max_wait before the run stops
        while drv.backlog() and not drv.stopping:
            await asyncio.sleep(0.005)
            drv.purge(pc())

    async def _stages(self, drv: Driver, ex: Closed, t0: int) -> None:
        while True:
            await asyncio.sleep(0.05)
            drv.set_vus(ex.vus_at((time.perf_counter_ns() - t0) / 1e9))

    async def _checks(self, drv: Driver, rec: Recorder) -> None:
        n = 0
        pc = time.perf_counter_ns
        seen, since, last = rec.completions(), pc(), pc()
        late_ns = 250_000_000  # a check this late: the generator was starved, not waiting
        while True:
            await asyncio.sleep(_CHECK_S)
            now = pc()
            drv.tick_check(now)
            done = rec.completions()
            if now - last > late_ns or not drv.inflight():
                since = now  # the loop was late, or nothing was waiting: not the target's
            elif done != seen:
                if now - since >= GAP_MIN_S * 1e9:
                    self.gaps.append(((since - rec.t0_ns) / 1e9, (now - since) / 1e9))
                since = now
            seen, last = done, now
            n += 1
            if n % 2 == 0:
                rec.absorb()

    async def _lag_probe(self) -> None:
        pc = time.perf_counter_ns
        want = int(_LAG_PROBE_S * 1e9)
        while True:
            t = pc()
            await asyncio.sleep(_LAG_PROBE_S)
            lag = max(0, pc() - t - want)
            self.lag_sum += lag
            self.lag_n += 1
            self.lag_max = max(self.lag_max, lag)

    async def _ticks(self, drv: Driver, rec: Recorder, t0: int) -> None:
        step = int(self.plan.tick * 1e9)
        while True:
            await self._sleep_until(t0 + (self.tick_index + 1) * step)
            self.send(("tick", self._snapshot(drv, rec, final=False)))
            self.tick_index += 1

    def _snapshot(self, drv: Driver, rec: Recorder, final: bool, interrupted: int = 0) -> Snapshot:
        d = rec.drain()
        http = drv.http_requests()
        wait = drv.resume_wait()
        cpu = time.process_time()
        t_end = (time.perf_counter_ns() - rec.t0_ns) / 1e9 if final else \
            (self.tick_index + 1) * self.plan.tick
        snap = Snapshot(
            worker=self.plan.index, tick=self.tick_index, t_end=max(t_end, 0.0),
            lat=d.lat, svc=d.svc, tally=d.tally, failed=d.failed, dropped=d.dropped,
            inflight=drv.inflight(), phases=d.phases,
            cpu=cpu - self.cpu_mark,
            lag_max=self.lag_max / 1e9,
            lag_mean=self.lag_sum / self.lag_n / 1e9 if self.lag_n else 0.0,
            sched_lag_max=drv.sched_lag_max / 1e9, sched_lag_sum=drv.sched_lag_sum / 1e9,
            sched_n=drv.sched_n, final=final, interrupted=interrupted, vus=drv.vus(),
            requests=d.svc.n if d.svc is not None else -1,
            synthetic=rec.synthetic - self.synth_mark,
            http=http - self.http_mark if http >= 0 else -1, gaps=tuple(self.gaps),
            resume_wait=(wait - self.wait_mark) / 1e9,
        )
        self.wait_mark = wait
        self.gaps.clear()
        self.http_mark = max(http, 0)
        self.cpu_mark = cpu
        self.synth_mark = rec.synthetic
        self.lag_max = self.lag_sum = self.lag_n = 0
        drv.sched_lag_max = drv.sched_lag_sum = drv.sched_n = 0
        return snap

    def _final(self, drv: Driver, rec: Recorder, interrupted: int) -> None:
        snap = self._snapshot(drv, rec, final=True, interrupted=interrupted)
        if not math.isfinite(snap.t_end):
            snap.t_end = 0.0
        self.send(("final", snap))


def make_driver(target: HttpTarget | CallTarget, ex: Executor, rec: Recorder,
                loop: asyncio.AbstractEventLoop) -> Driver:
    """The driver for a target (each lives in its own module, imported when used)."""
    if isinstance(target, HttpTarget):
        from perfgate.load._drive_http import HttpDriver

        return HttpDriver(target, ex, rec, loop)
    if target.is_async:
        from perfgate.load._drive_async import AsyncDriver

        return AsyncDriver(target, ex, rec, loop)
    from perfgate.load._drive_sync import SyncDriver

    return SyncDriver(target, ex, rec, loop)


def default_processes() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
