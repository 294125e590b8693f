"""A benchmark measured in several fresh processes, one after another.

One process's median can sit a few per cent away from the next one's (memory layout, hash
seeds, which core, what the neighbours do): a CI from one process's rounds is too narrow for
a claim about the code. With ``processes=N`` each worker is a fresh interpreter (``spawn``)
running the ordinary in-process loop with ``max_time / N``; the reported median is that of
all rounds pooled, and its CI comes from a two-level bootstrap (resample processes, then
rounds within them), so it widens by as much as the processes disagree.

The parent never waits blindly on a worker: it polls the result queue and the worker's
liveness, so a worker that dies (killed by a signal, ``os._exit``, out of memory) is noticed
within a fraction of a second and recorded as the benchmark's error, beside what the workers
before it measured. On Ctrl-C/SIGTERM the running worker is terminated at once.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import queue
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, cast

import numpy as np

from perfgate._errors import Interrupted, TargetError, UsageError
from perfgate._importer import main_not_rerun, pickles_main, ref_of
from perfgate.analysis.stats import summarize
from perfgate.bench._calls import NO_ARG
from perfgate.bench._engine import result_of
from perfgate.bench._process_child import child
from perfgate.model import Metric, Result

__all__ = ["bench_in_processes", "hierarchical_median_ci", "unsendable"]

_SEED = 20261122
_N_BOOT = 2000
_POLL = 0.1  # seconds between liveness checks of a worker
_WORKER_LIMIT = 600.0  # seconds a worker may take (benchmark timeouts are the engine's)


def death(exitcode: int | None) -> str:
    """How a process ended, for a message: ``exit code 3`` or ``killed by SIGKILL``."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def receive(proc: Any, box: Any, limit: float = _WORKER_LIMIT) -> tuple[str, Any]:
    """The worker's one message; ``("died", how)`` when it ended without sending one
    (noticed within ``_POLL`` s), ``("timeout", …)`` after ``limit`` seconds."""
    end = time.monotonic() + limit
    while True:
        try:
            item: tuple[str, Any] = box.get(timeout=_POLL)
            return item
        except queue.Empty:
            pass
        if not proc.is_alive():
            try:  # its message may still be in the pipe behind the exit
                return cast("tuple[str, Any]", box.get(timeout=1.0))
            except queue.Empty:
                return "died", death(proc.exitcode)
        if time.monotonic() > end:
            return "timeout", f"no result after {limit:g} s"


def hierarchical_median_ci(
    groups: list[list[float]], conf: float = 0.95
) -> tuple[float, float]:
    """95 % CI of the pooled median, resampling groups (processes) and then their members."""
    arrays = [np.asarray(g, dtype=np.float64) for g in groups if g]
    if not arrays:
        return float("nan"), float("nan")
    rng = np.random.default_rng(_SEED)
    k = len(arrays)
    meds = np.empty(_N_BOOT)
    for b in range(_N_BOOT):
        picked = rng.integers(0, k, size=k)
        parts = [arrays[i][rng.integers(0, arrays[i].size, size=arrays[i].size)] for i in picked]
        meds[b] = np.median(np.concatenate(parts))
    alpha = (1.0 - conf) / 2
    return float(np.quantile(meds, alpha)), float(np.quantile(meds, 1 - alpha))


def unsendable(fn: Callable[..., Any], arg: Any) -> str | None:
    """Why a fresh process cannot receive ``fn`` and its setup value, or None."""
    try:
        pickle.dumps((ref_of(fn) or fn, None if arg is NO_ARG else (arg,)))
    except Exception as exc:  # noqa: BLE001 - any pickling failure means the same thing
        return str(exc) or type(exc).__name__
    return None


def bench_in_processes(
    fn: Callable[..., Any],
    arg: Any,
    opts: Any,
    label: str,
    params: Mapping[str, Any] | None,
    progress: Callable[[float], None] | None,
) -> Result:
    n = opts.processes
    packed = None if arg is NO_ARG else (arg,)
    target: Any = ref_of(fn) or fn
    why = unsendable(fn, arg)
    if why is not None:
        raise UsageError(
            f"{label}: processes={n} needs a target (and setup value) that a fresh process "
            f"can import: a module-level function, not a lambda or closure ({why})"
        )
    keep_main = pickles_main(target, packed)  # once per benchmark, not per worker
    # the budget is shared; each worker warms up too, for a share of the warm-up (at least
    # 20 ms: a fresh interpreter's first calls fill its caches)
    each = replace(opts, max_time=opts.max_time / n,
                   warmup=max(opts.warmup / n, min(opts.warmup, 0.02)))
    ctx = mp.get_context("spawn")
    children: list[Result] = []
    for i in range(n):
        out = ctx.Queue()
        proc = ctx.Process(target=child,
                           args=(target, packed, each, i == 0 and opts.memory, label, out))
        with main_not_rerun(keep_main):
            proc.start()
        try:
            status, payload = receive(proc, out)
        except BaseException as exc:  # Ctrl-C / SIGTERM: stop the worker, keep what it had
            partial = _stop(proc, out)
            if partial is not None:
                children.append(result_of(partial, each, None))
            if isinstance(exc, KeyboardInterrupt) and children:
                raise Interrupted([replace(_combine(label, children, opts, params),
                                           error="interrupted (Ctrl-C)")]) from exc
            raise
        proc.join(30)
        if proc.is_alive():
            proc.terminate()
        if status in ("died", "timeout"):
            what = "died" if status == "died" else "hung"
            error = f"{label}: worker process {i + 1} of {n} {what} ({payload})"
            if not children:
                return Result(name=label, kind="bench", params=dict(params or {}), error=error)
            return replace(_combine(label, children, opts, params), error=error)
        if status not in ("ok", "interrupted"):
            raise TargetError(f"{label}: worker process {i + 1} of {n}: {payload}")
        children.append(result_of(payload, each, None))
        if status == "interrupted":  # SIGINT reached the worker: stop as in this process
            raise Interrupted([_combine(label, children, opts, params)]) from KeyboardInterrupt()
        if payload.error is not None:  # the target failed: the next worker would too
            return _combine(label, children, opts, params)
        if progress is not None:
            progress((i + 1) / n)
    return _combine(label, children, opts, params)


def _stop(proc: Any, box: Any) -> Any:
    """Interrupt a running worker and take the measurement it had (None if it sends
    none within a few seconds: then it is terminated)."""
    got = None
    if proc.is_alive():
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGINT)  # its loop stops and sends what it measured
        try:
            status, payload = box.get(timeout=5.0)
            got = payload if status in ("ok", "interrupted") else None
        except (queue.Empty, OSError, EOFError):
            pass
    proc.join(2)
    if proc.is_alive():
        proc.terminate()
        proc.join(5)
    return got


def _combine(
    label: str, children: list[Result], opts: Any, params: Mapping[str, Any] | None
) -> Result:
    timed = [c for c in children if "time" in c.metrics and c.metrics["time"].samples]
    groups = [list(c.metrics["time"].samples or ()) for c in timed]
    pooled = [x for g in groups for x in g]
    metrics: dict[str, Metric] = {}
    error = next((c.error for c in children if c.error), None)
    waits = [c.metrics["time"].extra.get("cpu_wait") for c in timed]
    every_wait = all(isinstance(w, int | float) for w in waits)
    if pooled:
        lo, hi = hierarchical_median_ci(groups)
        t = summarize(pooled, "s", ci=(lo, hi))
        per_process = [float(np.median(g)) for g in groups]
        of = children[0].metrics["time"].extra.get("of")
        known = [float(w) for w in waits if isinstance(w, int | float)]
        # the median process's: one process that waited moves the rank test by one rank;
        # each process's too, beside its median, when every process measured it — a
        # comparison of saved runs takes them into its model (analysis/saved_processes.py)
        wait: dict[str, Any] = {"cpu_wait": round(float(np.median(known)), 4)} if known else {}
        if every_wait:
            wait["process_waits"] = [round(float(w), 4) for w in known]
        refs = [c.metrics["time"].extra.get("reference") for c in timed]
        if refs and all(isinstance(r, int | float) and r > 0 for r in refs):
            # how fast the machine ran in each process (bench/_process_child.py)
            wait["process_references"] = [float(r) for r in refs if r is not None]
        metrics["time"] = replace(t, extra={**t.extra, "process_medians": per_process,
                                            **({"of": of} if of else {}), **wait})
    for key in ("alloc_bytes", "allocs", "alloc_peak", "retained_bytes", "retained_allocs"):
        if key in children[0].metrics:
            metrics[key] = children[0].metrics[key]
    phase_names = {k for c in children for k in c.metrics if k.startswith("time.")}
    for ph in sorted(phase_names):
        m = summarize([x for c in children if ph in c.metrics
                       for x in (c.metrics[ph].samples or ())], "s")
        if all(ph in c.metrics and c.metrics[ph].samples for c in timed):
            # a phase of every process: compared per process like the total, in the same
            # conditions (the process's wait)
            m = replace(m, extra={**m.extra, "process_medians": [
                float(np.median(c.metrics[ph].samples or ())) for c in timed],
                **({"process_waits": metrics["time"].extra["process_waits"]}
                   if pooled and every_wait else {}),
                **({"process_references": metrics["time"].extra["process_references"]}
                   if pooled and "process_references" in metrics["time"].extra else {})})
        of_ph = next((c.metrics[ph].extra.get("of") for c in children if ph in c.metrics), None)
        metrics[ph] = replace(m, extra={**m.extra, **({"of": of_ph} if of_ph else {})})
    rss = [c.metrics["rss"].value for c in children if "rss" in c.metrics]
    if rss:
        metrics["rss"] = Metric.gauge(float(max(v for v in rss if v is not None)), "B")
    first = children[0].params
    all_params = {
        **(params or {}),
        "iterations": first.get("iterations"),
        "rounds": sum(int(c.params.get("rounds", 0)) for c in children),
        "processes": len(children),
        "async": first.get("async"),
        "gc": opts.gc,
        "max_time": opts.max_time,
        "warmup": opts.warmup,
    }
    return Result(name=label, kind="bench", params=all_params, metrics=metrics, error=error)
