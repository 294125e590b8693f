"""Distributed load on Dask: perfgate's own workers, started as Dask tasks on other hosts.

``cluster="tcp://host:8786"`` connects to a running Dask scheduler; ``cluster="local:N"``
starts a ``LocalCluster`` of N worker processes for the run. Each perfgate worker is one
long-running Dask task, pinned to one Dask worker (never moved: a task restarted elsewhere
would send its share twice), that runs the very worker of a local run,
:func:`perfgate.load._engine.run_worker`, with its messages carried by Dask queues instead
of a pipe (the worker's side is :mod:`._dask_task`):

- ``<run>-up``: every worker → the coordinator (``ready``, ``tick``/``final`` snapshots:
  two sparse histograms, a tally and a few gauges, 2–15 kB a second per worker);
- ``<run>-to-<i>``: the coordinator → worker *i* (``sync``, ``start_wall``, ``stop``).

A worker's sends go through a local queue and a sender thread, so its event loop never waits
on the network. The coordinator (:mod:`._run`) merges the snapshots exactly as it does for
local processes: the histograms add, every check is evaluated on the merged result.

**Clocks.** Hosts do not share ``perf_counter_ns``. At ``ready`` the coordinator pings each
worker three times through the queues (``sync``), keeps the round trip with the least delay,
and takes the worker's wall clock minus the midpoint of that round trip as its offset (the
NTP method; its error is at most half the round trip). The common start instant travels as
wall-clock time corrected by that offset, and each worker turns it into its own monotonic
clock — so ramping stages and the open model's schedule stay in step across hosts. Offsets
and their error bounds are reported per worker in ``extra["generator"]["workers"]``.

**A lost worker.** The coordinator watches the scheduler's worker list (a worker that dies
leaves it as soon as its connection drops) and each worker's ticks (silent for 5 ticks and at
least 10 s: lost, e.g. a host cut off the network). The run goes on with the others; what
the lost worker sent before is merged; the result is marked partial (``extra["partial"]``
and a warning) with which worker, on which host, when, and its share that was not sent.

**What reaches the workers.** The plan (executor share, target) is pickled. A URL target is
plain data. A callable from an importable module travels by reference: the module must be
installed on the workers, as for any Dask code. A function of a suite file (which workers
cannot import by name) travels with the file's source: a worker imports the file at the same
path when it holds the same bytes (a shared checkout), else a copy in a temporary directory;
modules the suite file imports must be importable on the workers.

The target's loopback rule (:mod:`perfgate._net`) is checked on the coordinator and again on
each worker, against what *that host* resolves.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from perfgate._errors import UsageError
from perfgate.load._dask_task import (
    EXTRA_HINT,
    distributed,
    from_wire,
    shippable,
    task,
    wall_minus_perf,
)
from perfgate.load._engine import WorkerPlan
from perfgate.load._executors import Closed, Open
from perfgate.load._recorder import Snapshot
from perfgate.load._result import CPU_LIMIT, LAG_MAX_LIMIT, LAG_MEAN_LIMIT
from perfgate.load._run import RunOutcome, WorkerHandle
from perfgate.load._schedule import arrivals
from perfgate.load._targets import HttpTarget

__all__ = ["EXTRA_HINT", "DaskStarter", "connect", "parse_cluster", "require_cluster"]

_CONNECT_TIMEOUT_S = 30
_START_DELAY_NS = 500_000_000  # the start message reaches every worker through the scheduler
_SYNC_ROUNDS = 3
_POLL_S = 0.5
_SILENT_TICKS = 5
_SILENT_MIN_S = 10.0
_CLOSE_WAIT_S = 5.0
# Dask's statistical profiler samples every task thread's stack every 10 ms, holding the GIL:
# it took ~8 ms of mean event-loop lag from a perfgate worker on a busy machine. Off for the
# workers perfgate starts (local:N); docs/distributed.md says how to start others alike.
_WORKER_CONFIG = {"distributed.worker.profile.enabled": False,
                  "distributed.admin.system-monitor.gil.enabled": False}


def require_cluster(url: str) -> None:
    """Fail early (before anything runs) on a malformed URL or a missing extra."""
    parse_cluster(url)
    distributed()


def parse_cluster(url: str) -> tuple[str, str | int]:
    """``"local:N"`` → ("local", N); ``"tcp://host:8786"`` (or tls://, ws://, wss://) →
    ("connect", url)."""
    u = url.strip()
    if u.startswith("local:"):
        try:
            n = int(u[len("local:"):])
        except ValueError:
            n = 0
        if n < 1:
            raise UsageError(f"cluster {url!r}: expected local:N with N ≥ 1 worker processes")
        return "local", n
    if u.split("://", 1)[0] in ("tcp", "tls", "ws", "wss") and "://" in u and u.split("://")[1]:
        return "connect", u
    raise UsageError(f"cluster {url!r}: expected tcp://HOST:PORT (a running Dask scheduler) "
                     "or local:N (a LocalCluster of N worker processes)")


@contextlib.contextmanager
def connect(url: str) -> Iterator[DaskStarter]:
    """A :class:`DaskStarter` on the cluster ``url``; a ``local:N`` cluster lives as long as
    the context."""
    kind, arg = parse_cluster(url)
    dist = distributed()
    cluster: Any = None
    try:
        if kind == "local":
            import dask

            with dask.config.set(_WORKER_CONFIG):
                cluster = dist.LocalCluster(
                    n_workers=int(arg), threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            client = dist.Client(cluster)
            # Ctrl-C reaches the whole process group: it is the coordinator's business
            # (it stops the workers, which then send their final snapshots), as for local
            # worker processes.
            client.register_plugin(_ignore_sigint(dist), name="perfgate-ignore-sigint")
        else:
            client = dist.Client(arg, timeout=_CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise UsageError(f"cluster {url}: cannot reach the Dask scheduler ({exc})") from None
    try:
        yield DaskStarter(client, url)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _ignore_sigint(dist: Any) -> Any:
    """A worker plugin (a local class: it travels by value) that ignores SIGINT."""

    class IgnoreSigint(dist.WorkerPlugin):  # type: ignore[misc]
        def setup(self, worker: Any) -> None:
            import signal

            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreSigint()


# ------------------------------------------------------------------ the coordinator's side


@dataclass
class _Slot:
    """What the coordinator knows of one worker."""

    index: int
    address: str
    plan: WorkerPlan
    down: Any  # the Dask Queue to the worker
    future: Any
    info: dict[str, Any] = field(default_factory=dict)
    offset_ns: int = 0  # worker wall clock − coordinator wall clock
    rtt_ns: int | None = None
    sync_sent: int = 0
    sync_rounds: int = 0
    ready: bool = False
    done: bool = False
    lost: dict[str, Any] | None = None
    last_seen: float = 0.0  # time.monotonic() of its last message
    requests: int = 0
    dropped: int = 0
    cpu: float = 0.0
    lag_max: float = 0.0
    lag_means: list[float] = field(default_factory=list)
    t_end: float = 0.0

    @property
    def host(self) -> str:
        return str(self.info.get("host") or self.address)


class _Handle:
    def __init__(self, starter: DaskStarter, slot: _Slot) -> None:
        self.starter = starter
        self.slot = slot
        self.pid: int | None = None  # a remote process: its memory is not sampled here

    def tell(self, msg: Any) -> None:
        s = self.slot
        if s.lost is not None:
            return
        if msg[0] == "start":  # a monotonic instant of this machine → the worker's wall clock
            self.starter.t0_perf = int(msg[1])
            msg = ("start_wall", int(msg[1]) + wall_minus_perf() + s.offset_ns)
        with contextlib.suppress(Exception):  # a worker gone is reported by the watcher
            s.down.put(msg)

    def close(self) -> None:
        fut = self.slot.future
        if self.slot.lost is None:
            with contextlib.suppress(Exception):
                self.starter.dist.wait([fut], timeout=_CLOSE_WAIT_S)
        with contextlib.suppress(Exception):
            fut.cancel()


class DaskStarter:
    """Starts perfgate workers as Dask tasks and carries their messages (see the module's
    docstring); it satisfies :class:`perfgate.load._run.Starter`."""

    start_delay_ns = _START_DELAY_NS

    def __init__(self, client: Any, url: str) -> None:
        self.dist = distributed()
        self.client = client
        self.url = url
        self.run = f"perfgate-{uuid.uuid4().hex[:12]}"
        self.slots: list[_Slot] = []
        self.t0_perf: int | None = None
        self._inbox: queue.Queue[Any] | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.errors: list[str] = []

    def workers(self) -> dict[str, int]:
        """The cluster's Dask workers now: address → threads."""
        info = self.client.scheduler_info(n_workers=-1)
        return {a: int(w.get("nthreads", 1)) for a, w in sorted(info["workers"].items())}

    @property
    def size(self) -> int:
        """How many perfgate workers the cluster takes by default: one per Dask worker."""
        return len(self.workers())

    def start(self, plans: list[WorkerPlan], inbox: queue.Queue[Any]) -> list[WorkerHandle]:
        threads = self.workers()
        if not threads:
            raise UsageError(f"cluster {self.url}: the scheduler has no workers")
        # one slot per thread, spread over workers first: plan i → the i-th slot
        order = [a for k in range(max(threads.values())) for a, n in threads.items() if n > k]
        if len(plans) > len(order):
            raise UsageError(f"cluster {self.url}: {len(plans)} workers asked for, but its "
                             f"{len(threads)} Dask worker(s) have {len(order)} thread(s)")
        self._inbox = inbox
        self.up = self.dist.Queue(f"{self.run}-up", client=self.client)
        handles: list[WorkerHandle] = []
        for plan, address in zip(plans, order, strict=False):
            target, shipped = shippable(plan.target)
            down = self.dist.Queue(f"{self.run}-to-{plan.index}", client=self.client)
            fut = self.client.submit(
                task, replace(plan, target=target), shipped, self.run,
                key=f"{self.run}-{plan.index}", workers=[address], allow_other_workers=False,
                pure=False, retries=0)
            slot = _Slot(plan.index, address, plan, down, fut, last_seen=time.monotonic())
            self.slots.append(slot)
            handles.append(_Handle(self, slot))
        self._threads = [
            threading.Thread(target=self._pump, name="perfgate-dask-pump", daemon=True),
            threading.Thread(target=self._watch_loop, name="perfgate-dask-watch", daemon=True),
        ]
        for t in self._threads:
            t.start()
        return handles

    # -- the pump: Dask queue → the coordinator's inbox, clocks, the watch for lost workers

    def _pump(self) -> None:
        # Blocking gets only: a Dask queue's get with a timeout logs an error on the
        # scheduler each time it expires. ``finish`` ends this loop with an ("end",).
        while True:
            try:
                msgs = [self.up.get()]
                msgs.extend(self.up.get(batch=True))
            except Exception:  # noqa: BLE001 - the client is closing: the run is over
                return
            for m in msgs:
                if m[0] == "end":
                    return
                with self._lock:
                    try:
                        self._on_message(m)
                    except Exception as exc:  # noqa: BLE001 - one bad message, not the run
                        self.errors.append(f"a worker message could not be read: "
                                           f"{type(exc).__name__}: {exc}")

    def _watch_loop(self) -> None:
        while not self._stop.wait(_POLL_S):
            with self._lock:
                self._watch()

    def _forward(self, msg: Any) -> None:
        assert self._inbox is not None
        self._inbox.put(msg)

    def _on_message(self, msg: Any) -> None:
        msg = from_wire(msg)
        kind = msg[0]
        index = int(msg[1].worker) if kind in ("tick", "final") else int(msg[1])
        if not 0 <= index < len(self.slots):
            return
        s = self.slots[index]
        if s.lost is not None:  # declared lost: what it says now is not merged
            return
        s.last_seen = time.monotonic()
        if kind == "ready":
            s.info = dict(msg[2])
            self._sync(s)
        elif kind == "synced":
            now = time.time_ns()
            rtt = now - s.sync_sent
            if s.rtt_ns is None or rtt < s.rtt_ns:
                s.rtt_ns = rtt
                s.offset_ns = int(msg[2]) - (s.sync_sent + now) // 2
            s.sync_rounds += 1
            if s.sync_rounds < _SYNC_ROUNDS:
                self._sync(s)
            else:
                s.ready = True
                self._forward(("ready", index))
        elif kind in ("tick", "final"):
            snap: Snapshot = msg[1]
            s.requests += snap.count
            s.dropped += snap.dropped
            s.cpu += snap.cpu
            s.lag_max = max(s.lag_max, snap.lag_max)
            if snap.lag_mean > 0:
                s.lag_means.append(snap.lag_mean)
            s.t_end = max(s.t_end, snap.t_end)
            s.done = s.done or kind == "final"
            self._forward(msg)
        elif kind == "error":
            s.done = True
            self._forward(("error", index, f"on {s.host} ({s.address}): {msg[2]}"))

    def _sync(self, s: _Slot) -> None:
        s.sync_sent = time.time_ns()
        try:
            s.down.put(("sync",))
        except Exception as exc:  # noqa: BLE001 - reported as the worker's loss
            self._lose(s, f"unreachable ({type(exc).__name__}: {exc})")

    def _watch(self) -> None:
        try:
            alive = set(self.workers())
        except Exception:  # noqa: BLE001 - the scheduler is unreachable: judge by silence
            alive = None
        now = time.monotonic()
        silent = max(_SILENT_MIN_S, _SILENT_TICKS * (self.slots[0].plan.tick if self.slots
                                                      else 1.0))
        for s in self.slots:
            if s.done or s.lost is not None:
                continue
            if alive is not None and s.address not in alive:
                self._lose(s, f"its Dask worker {s.address} left the cluster")
            elif s.future.status == "error":
                self._lose(s, f"its task failed ({_exception_of(s.future)})")
            elif self.t0_perf is not None and now - s.last_seen > silent:
                self._lose(s, f"sent nothing for {now - s.last_seen:.0f} s")

    def _lose(self, s: _Slot, why: str) -> None:
        at = None if self.t0_perf is None else \
            max(0.0, (time.perf_counter_ns() - self.t0_perf) / 1e9)
        s.lost = {"worker": s.index, "host": s.host, "address": s.address,
                  "at": None if at is None else round(at, 3), "reason": why}
        with contextlib.suppress(Exception):
            s.future.cancel()
        when = "before the start" if at is None else f"at {at:.1f} s"
        self._forward(("gone", s.index, f"on {s.host} ({s.address}) lost {when}: {why}"))

    # -- the end: per-worker report, the partial run

    def finish(self, out: RunOutcome) -> None:
        self._stop.set()
        if self._threads:
            with contextlib.suppress(Exception):
                self.up.put(("end",))
        for t in self._threads:
            t.join(timeout=5)
        elapsed = out.agg.elapsed
        check_cpu = bool(self.slots) and isinstance(self.slots[0].plan.target, HttpTarget)
        rows = []
        for s in self.slots:
            lag_mean = sum(s.lag_means) / len(s.lag_means) if s.lag_means else 0.0
            cpu = s.cpu / elapsed if elapsed > 0 else 0.0
            reasons = []
            if check_cpu and cpu >= CPU_LIMIT:
                reasons.append(f"CPU {cpu:.0%} of a core")
            if lag_mean > LAG_MEAN_LIMIT or s.lag_max > LAG_MAX_LIMIT:
                reasons.append(f"event-loop lag mean {lag_mean * 1e3:.1f} ms, "
                               f"max {s.lag_max * 1e3:.1f} ms")
            if reasons:
                out.warnings.append(
                    f"worker {s.index} on {s.host} ({s.address}) was saturated: "
                    f"{'; '.join(reasons)} — the load it sent is bounded by it")
            rows.append({
                "worker": s.index, "host": s.host, "address": s.address,
                "pid": s.info.get("pid"), "cpus": s.info.get("cpus"),
                "requests": s.requests, "cpu": round(cpu, 3),
                "loop_lag_max": s.lag_max, "loop_lag_mean": lag_mean,
                "clock_offset": s.offset_ns / 1e9,
                "clock_offset_error": None if s.rtt_ns is None else s.rtt_ns / 2e9,
                "saturated": bool(reasons), "lost": s.lost is not None,
                "dask_profiler": s.info.get("profiler"),
            })
        profiled = [f"{s.index} on {s.host}" for s in self.slots if s.info.get("profiler")]
        if profiled:
            out.warnings.append(
                f"Dask's profiler samples worker(s) {', '.join(profiled)} every 10 ms, which "
                "adds event-loop lag: start them with "
                "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False (docs/distributed.md)")
        out.warnings.extend(self.errors[:3])
        out.extra["generator"] = {"backend": "dask", "cluster": self.url, "workers": rows}
        lost = [self._unsent(s) for s in self.slots if s.lost is not None]
        if lost:
            out.extra["partial"] = {"lost": lost}
            for x in lost:
                when = "before the start" if x["at"] is None else f"at {x['at']:.1f} s"
                what = (f"{x['not_sent']} of {x['planned']} planned iterations not measured"
                        if x.get("planned") is not None else
                        f"{x['vu_seconds_not_run']:.0f} VU-seconds not run "
                        f"(~{x['not_sent_estimate']} iterations at its rate)")
                out.warnings.insert(0, (
                    f"partial result: worker {x['worker']} on {x['host']} lost {when}; "
                    f"its share ({x['share']:.0%} of the load): {what}"))

    def _unsent(self, s: _Slot) -> dict[str, Any]:
        """What the lost worker's share did not send, from its plan and what it reported."""
        assert s.lost is not None
        ex = s.plan.executor
        measured = s.requests + s.dropped
        out = dict(s.lost, measured=measured)
        if isinstance(ex, Open):
            out["share"] = 1 / len(self.slots)
            planned: int | None = sum(int(c.size) for c in arrivals(ex))
        else:
            assert isinstance(ex, Closed)
            total = sum(x.plan.executor.peak_vus for x in self.slots
                        if isinstance(x.plan.executor, Closed))
            out["share"] = ex.peak_vus / total if total else 0.0
            planned = None
            if ex.iterations is not None:
                planned = ex.iterations * (ex.vus if ex.per_vu else 1)
        if planned is not None:
            out.update(planned=planned, not_sent=max(0, planned - measured))
        else:
            at = out["at"] or 0.0
            left = max(0.0, (ex.total_duration or 0.0) - at)
            vus = ex.peak_vus if isinstance(ex, Closed) else 0
            out.update(vu_seconds_not_run=vus * left,
                       not_sent_estimate=round(measured / at * left) if at > 0 else None)
        return out


def _exception_of(fut: Any) -> str:
    try:
        exc = fut.exception(timeout=1)
    except Exception as e:  # noqa: BLE001
        exc = e
    return f"{type(exc).__name__}: {exc}"
