"""The worker's side of the Dask backend (see :mod:`._dask`): the task that runs one perfgate
worker, the suite-file source it may carry, and the wire form of snapshots.

The task wraps :func:`perfgate.load._engine.run_worker`: its ``send`` puts messages on a
local queue that a sender thread forwards to the coordinator's Dask queue (the event loop
never waits on the network); its ``recv`` reads the worker's own Dask queue, answers the
coordinator's clock ``sync`` pings itself, and turns the wall-clock start instant into this
host's monotonic clock. Before anything runs it applies the loopback rule on this host.
"""

from __future__ import annotations

import os
import queue
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from perfgate._errors import TargetError, UsageError
from perfgate._importer import import_file, ref_of, suite_name
from perfgate._net import resolve
from perfgate.load._engine import WorkerPlan, run_worker
from perfgate.load._histogram import LogHistogram
from perfgate.load._http import Request
from perfgate.load._recorder import Snapshot
from perfgate.load._targets import CallTarget, HttpTarget, Target

__all__ = ["EXTRA_HINT", "distributed", "from_wire", "rebuild", "shippable", "task", "to_wire",
           "wall_minus_perf"]

EXTRA_HINT = "pip install 'perfgate[distributed]'"


def distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError(
            f"a cluster needs Dask's distributed scheduler, which is not installed: {EXTRA_HINT}"
        ) from None
    return distributed


def wall_minus_perf() -> int:
    return time.time_ns() - time.perf_counter_ns()


@dataclass(frozen=True)
class _Sparse:
    """A histogram's non-empty buckets (a few hundred of its 4736), with its exact totals.
    (A class, not a tuple: Dask's messages turn tuples into lists.)"""

    idx: Any
    counts: Any
    n: int
    total: float
    sumsq: float
    vmin: int
    vmax: int


def _pack(v: Any) -> Any:
    if isinstance(v, LogHistogram):
        nz = np.flatnonzero(v.counts)
        return _Sparse(nz.astype(np.int32), v.counts[nz], v.n, v.total, v.sumsq, v.vmin,
                       v.vmax)
    if isinstance(v, dict) and v and all(isinstance(x, LogHistogram) for x in v.values()):
        return {k: _pack(x) for k, x in v.items()}  # per-phase histograms
    return v


def _unpack(v: Any) -> Any:
    if isinstance(v, _Sparse):
        h = LogHistogram.empty()
        h.counts[v.idx] = v.counts
        h.n, h.total, h.sumsq, h.vmin, h.vmax = v.n, v.total, v.sumsq, v.vmin, v.vmax
        return h
    if isinstance(v, dict) and v and all(isinstance(x, _Sparse) for x in v.values()):
        return {k: _unpack(x) for k, x in v.items()}
    return v


def to_wire(msg: Any) -> Any:
    """A snapshot message with every histogram sparse: several times smaller than the dense
    arrays a local pipe carries (15 kB against 77 kB for 20 000 lognormal latencies)."""
    if msg[0] not in ("tick", "final"):
        return msg
    snap: Snapshot = msg[1]
    return (msg[0], {f.name: _pack(getattr(snap, f.name)) for f in fields(snap)})


def from_wire(msg: Any) -> Any:
    """The inverse of :func:`to_wire`."""
    if msg[0] not in ("tick", "final") or not isinstance(msg[1], dict):
        return msg
    return (msg[0], Snapshot(**{k: _unpack(v) for k, v in msg[1].items()}))


@dataclass(frozen=True)
class _Shipped:
    """A suite file's function, with the file's source (workers cannot import it by name)."""

    path: str
    source: bytes
    qualname: str


def _shipped_separately(*args: Any) -> Any:
    raise TargetError("this function travels with its suite file's source")


def shippable(target: Target) -> tuple[Target, _Shipped | None]:
    if isinstance(target, CallTarget):
        ref = ref_of(target.fn)
        if ref is not None:
            path, qualname = ref
            return (replace(target, fn=_shipped_separately),
                    _Shipped(path, Path(path).read_bytes(), qualname))
    return target, None


def rebuild(target: Target, shipped: _Shipped | None) -> Target:
    if shipped is None or not isinstance(target, CallTarget):
        return target
    path = Path(shipped.path)
    if path.is_file() and path.read_bytes() == shipped.source:
        module = import_file(path)
    else:  # another host: a copy, imported under the coordinator's module name
        copy = Path(tempfile.mkdtemp(prefix="perfgate-suite-")) / path.name
        copy.write_bytes(shipped.source)
        module = import_file(copy, suite_name(path))
    obj: Any = module
    for part in shipped.qualname.split("."):
        obj = getattr(obj, part)
    return replace(target, fn=obj)


def _check_loopback(target: Target) -> None:
    """The loopback rule again, on this host: a name may resolve differently here."""
    if isinstance(target, HttpTarget):
        _, host, port = target.origin
    elif target.base_url:
        _, host, port, _ = Request(target.base_url).parts
    else:
        return
    resolve(host, port, allow_remote=target.allow_remote)


def task(plan: WorkerPlan, shipped: _Shipped | None, run: str) -> None:
    """One perfgate worker, as a Dask task (see the module's docstring)."""
    dist = distributed()
    up = dist.Queue(f"{run}-up")
    down = dist.Queue(f"{run}-to-{plan.index}")
    outbox: queue.Queue[Any] = queue.Queue()

    def sender() -> None:
        while (m := outbox.get()) is not None:
            try:
                up.put(m)
            except Exception:  # noqa: BLE001 - the coordinator is gone: nobody to tell
                return

    import dask

    info = {"host": socket.gethostname(), "address": dist.get_worker().address,
            "pid": os.getpid(), "cpus": os.cpu_count(),
            "profiler": bool(dask.config.get("distributed.worker.profile.enabled", True))}

    def send(msg: Any) -> None:
        outbox.put(("ready", plan.index, info) if msg[0] == "ready" else to_wire(msg))

    def recv() -> Any:
        while True:
            try:  # blocking: the coordinator always ends with ("stop",)
                m = down.get()
            except Exception:  # noqa: BLE001 - the scheduler is gone: stop
                return ("stop",)
            if m[0] == "sync":
                outbox.put(("synced", plan.index, time.time_ns()))
            elif m[0] == "start_wall":
                return ("start", int(m[1]) - wall_minus_perf())
            else:
                return m

    thread = threading.Thread(target=sender, name="perfgate-dask-sender", daemon=True)
    thread.start()
    try:
        target = rebuild(plan.target, shipped)
        _check_loopback(target)
        run_worker(replace(plan, target=target), send, recv)
    except BaseException as exc:  # noqa: BLE001 - reported to the coordinator
        send(("error", plan.index, f"{type(exc).__name__}: {exc}"))
    finally:
        outbox.put(None)
        thread.join(timeout=30)
