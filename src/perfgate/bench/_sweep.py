"""Sweeps: one benchmark at each of several sizes, and the big-O class of every metric.

Three ways to say what runs at size n (see docs/sweeps.md):

- ``sweep(fn, sizes, setup=make_input)``: ``setup(n)`` builds the input, untimed; ``fn(input)``
  is timed. (The CLI's ``--setup``.)
- ``sweep(fn, sizes)`` where ``fn(n)`` does the work: ``fn`` is timed, called with n.
- ``sweep(factory, sizes)`` where ``factory(n)`` builds the input and *returns the operation*
  (a callable of no arguments): the operation is timed. This is the ``@pg.bench(sizes=…)``
  style. With ``factory=None`` (the default) perfgate calls ``fn(n)`` once at the first size
  and looks: a callable came back → factory; anything else → ``fn`` is the operation (that
  call served as a warm-up). Pass ``factory=True``/``False`` to say it outright.

At each size the benchmark engine measures time, ``alloc_bytes``/``allocs`` and phases; with
``queries=True`` a separate untimed pass counts database statements (``queries``,
``queries.<phase>``), and with ``calls=True`` one counts outbound HTTP requests and cache
commands (``http_calls``, ``cache_calls``, by method, command, host and phase); statements
and calls whose count grows with n are reported as N+1, located in the user's code.
``measure(n, arg)`` may return more metrics per size.

With ``sizes=None`` perfgate picks a geometric range that fits the time budget: it times one
call at n = 8, 16, 32, … until a call would take more than a tenth of a size's share of the
budget, then spreads ``auto_sizes`` sizes geometrically over the range it reached.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from itertools import pairwise
from typing import Any

import numpy as np

from perfgate._errors import Interrupted, UsageError
from perfgate._timing import sched_times
from perfgate.analysis.complexity import NOISE_FLOOR, classify_exact, classify_metric
from perfgate.bench._calls import NO_ARG, Caller, is_async
from perfgate.bench._engine import BenchOptions, Progress, bench_callable
from perfgate.model import Metric, Result

__all__ = [
    "DEFAULT_BUDGET", "Measure", "check_sizes", "choose_sizes", "n_plus_one", "parse_sizes",
    "sweep",
]

DEFAULT_BUDGET = 5.0
AUTO_SIZES = 6
MAX_AUTO_SIZE = 1 << 24
_NOT_SWEPT = frozenset({"ops", "rss", "per_item"})
Measure = Callable[[int, Any], Mapping[str, float]]


class _Target:
    """What runs at size n: (callable, argument), built by setup, factory or plain n."""

    def __init__(self, fn: Callable[..., Any], setup: Callable[[int], Any] | None,
                 factory: bool | None) -> None:
        if not callable(fn):
            raise UsageError(f"sweep: {fn!r} is not callable")
        if setup is not None and factory:
            raise UsageError("sweep: pass either setup= or a factory, not both")
        self.fn = fn
        self.setup = setup
        self.factory = factory if setup is None else False
        if self.factory is None and is_async(fn):
            self.factory = False

    @property
    def mode(self) -> str:
        if self.setup is not None:
            return "setup"
        return "factory" if self.factory else "argument"

    def build(self, n: int) -> tuple[Callable[..., Any], Any]:
        """The callable to time at size n and its argument (``NO_ARG`` for none)."""
        if self.setup is not None:
            return self.fn, self.setup(n)
        if self.factory is None:  # first size: look at what fn(n) returns
            out = self.fn(n)
            self.factory = callable(out)
            if self.factory:
                return out, NO_ARG
        if self.factory:
            op = self.fn(n)
            if not callable(op):
                raise UsageError(
                    f"sweep: the factory returned {type(op).__name__} at n={n}, not a callable"
                )
            return op, NO_ARG
        return self.fn, n


def check_sizes(sizes: Sequence[int]) -> list[int]:
    try:
        out = sorted({int(s) for s in sizes})
    except (TypeError, ValueError):
        raise UsageError(f"sweep: sizes must be integers, got {list(sizes)!r}") from None
    if len(out) != len(list(sizes)) or any(float(s) != int(s) for s in sizes):
        raise UsageError(f"sweep: sizes must be distinct integers, got {list(sizes)!r}")
    if not out or out[0] < 1:
        raise UsageError("sweep: sizes must be ≥ 1 (and at least one given)")
    return out


def parse_sizes(text: str) -> list[int] | str:
    """``"10,100,1000"`` → ``[10, 100, 1000]``; ``"auto"`` stays ``"auto"``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise UsageError(f"--sizes {text!r}: expected integers such as 10,100,1000") from None
    return check_sizes(values)


def _one_call(fn: Callable[..., Any], arg: Any,
              clock: Callable[[], float] = time.perf_counter) -> float:
    caller = Caller(fn, arg)
    try:
        t0 = clock()
        caller.call_once()
        return clock() - t0
    finally:
        caller.close()


def choose_sizes(target: _Target, budget: float, count: int = AUTO_SIZES,
                 clock: Callable[[], float] = time.perf_counter) -> list[int]:
    """Geometric sizes from 8 up to where one call still fits the budget comfortably."""
    share = budget * 0.8 / count
    deadline = clock() + budget * 0.2
    n, last_ok = 8, 8
    prev: float | None = None
    while n <= MAX_AUTO_SIZE:
        fn, arg = target.build(n)
        t = _one_call(fn, arg, clock)
        if t > share / 10:
            break
        last_ok = n
        if clock() > deadline:
            break
        ratio = t / prev if prev and prev > 0 else 2.0
        predicted = t * (ratio**2 if ratio > 8 else ratio * 2)
        if predicted > share / 10:
            break
        prev, n = t, n * 2
    if last_ok <= 8 + count:
        return list(range(max(1, last_ok - count + 1), last_ok + 1))
    pts = np.unique(np.round(np.geomspace(8, last_ok, count)).astype(np.int64))
    return [int(p) for p in pts]


def _size_options(options: BenchOptions | None, budget: float, count: int) -> BenchOptions:
    if options is not None:
        return options
    share = budget * 0.75 / max(count, 1)
    return BenchOptions(max_time=share, warmup=min(0.05, share / 5), memory_calls=3)


def _strip(m: Metric) -> Metric:
    return replace(m, samples=None) if m.samples is not None else m


def _timing(name: str) -> bool:
    return name == "time" or name.startswith("time.")


def _per_item(t: Metric, n: int) -> Metric | None:
    if t.median is None:
        return None
    ci = (t.ci_low / n, t.ci_high / n) if t.ci_low is not None and t.ci_high is not None else None
    return Metric.gauge(t.median / n, "s", ci)


def sweep(
    fn: Callable[..., Any],
    sizes: Sequence[int] | None = None,
    *,
    setup: Callable[[int], Any] | None = None,
    budget: float = DEFAULT_BUDGET,
    queries: bool = False,
    calls: bool = False,
    name: str | None = None,
    options: BenchOptions | None = None,
    factory: bool | None = None,
    measure: Measure | None = None,
    noise_floor: float = NOISE_FLOOR,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    timer: Callable[[], float] | None = None,
    clock: str = "auto",
) -> Result:
    """Benchmark at each size and classify how every metric grows. Returns a ``sweep`` Result.

    ``budget`` is the total seconds to aim for (each size gets a share of it unless
    ``options`` fixes the per-size benchmark). If the target raises at some size, the Result
    carries ``error`` and everything measured at the sizes before. ``timer`` replaces the
    engine's clock (tests inject a fake one to make the timings exact).

    ``clock``: ``"wall"`` (perf_counter), ``"cpu"`` (the thread's CPU time) or ``"auto"``:
    the CPU clock when a call at the first size never waits (no voluntary context switch:
    no I/O, no lock, no sleep), the wall clock otherwise. For code that only computes the
    two agree on an idle machine; on a busy one a call longer than a scheduler time slice
    also times the neighbours on the wall clock, and only big sizes have such calls, which
    bends a linear cost into n^1.3. Where ``RUSAGE_THREAD`` is missing, "auto" is "wall".
    """
    if clock not in ("auto", "wall", "cpu"):
        raise UsageError(f"sweep: clock must be 'auto', 'wall' or 'cpu', not {clock!r}")
    if budget <= 0:
        raise UsageError("sweep: budget must be > 0 seconds")
    label = name or getattr(fn, "__qualname__", None) or repr(fn)
    target = _Target(fn, setup, factory)
    chosen = check_sizes(sizes) if sizes is not None else choose_sizes(target, budget)
    opts = _size_options(options, budget, len(chosen))
    report = progress or (lambda _f: None)
    points: list[tuple[int, dict[str, Metric], Any]] = []
    error: str | None = None
    interrupted: BaseException | None = None

    used = "custom" if timer is not None else clock
    for i, n in enumerate(chosen):
        def sub(f: float, i: int = i) -> None:
            report((i + f) / len(chosen))

        try:
            op, arg = target.build(n)
            if used == "auto":
                used = "cpu" if _never_waits(op, arg) else "wall"
        except KeyboardInterrupt as exc:
            interrupted, error = exc, "interrupted (Ctrl-C)"
            break
        except Exception as exc:  # noqa: BLE001 - the user's setup failed: recorded
            error = f"at n={n}: building the input raised {type(exc).__name__}: {exc}"
            break
        if used == "cpu":
            timer = time.thread_time
        try:
            r = bench_callable(op, name=f"{label}[n={n}]", arg=arg, options=opts, progress=sub,
                               timer=timer)
        except Interrupted as exc:
            interrupted = exc
            error = "interrupted (Ctrl-C)"
            break
        if r.error is not None:
            error = f"at n={n}: {r.error}"
            break
        metrics = {k: m for k, m in r.metrics.items() if k not in ("ops", "rss")}
        per_item = _per_item(metrics["time"], n) if "time" in metrics else None
        if per_item is not None:
            metrics["per_item"] = per_item
        qpass: Any = None
        try:
            if queries:
                from perfgate.probes._pass import query_pass

                qpass = query_pass(op, arg, calls=3)
                metrics.update(qpass.metrics())
            if calls:
                from perfgate.probes._calls_pass import calls_pass

                cpass = calls_pass(op, arg, calls=3)
                metrics.update(cpass.metrics())
                qpass = [qpass, cpass]
            if measure is not None:
                for k, v in measure(n, arg).items():
                    value = float(v)
                    metrics[str(k)] = (Metric.counter(value) if value.is_integer()
                                       else Metric.gauge(value))
        except KeyboardInterrupt as exc:
            interrupted, error = exc, "interrupted (Ctrl-C)"
            break
        except Exception as exc:  # noqa: BLE001 - the target failed: recorded, sizes kept
            error = f"at n={n}: {type(exc).__name__}: {exc}"
            break
        points.append((n, metrics, qpass))
    report(1.0)
    all_params = {**(params or {}), "clock": used}
    result = _result(label, chosen, points, error, target, budget, queries, noise_floor,
                     all_params, calls)
    if interrupted is not None:
        raise Interrupted([result]) from interrupted
    return result


def _result(
    label: str,
    chosen: list[int],
    points: list[tuple[int, dict[str, Metric], Any]],
    error: str | None,
    target: _Target,
    budget: float,
    queries: bool,
    noise_floor: float,
    params: Mapping[str, Any] | None,
    calls: bool = False,
) -> Result:
    sizes = [n for n, _, _ in points]
    # Time and phase samples stay at every size: `perfgate compare` tests each size.
    by_size = [
        {"n": n, "metrics": {k: (m if _timing(k) else _strip(m)).to_dict()
                             for k, m in ms.items()}}
        for n, ms, _ in points
    ]
    complexity: dict[str, Any] = {}
    if points:
        common = set(points[0][1])
        for _, ms, _ in points[1:]:
            common &= set(ms)
        names = sorted(common - _NOT_SWEPT, key=lambda k: (k != "time", k))
        for k in names:
            series = [ms[k] for _, ms, _ in points]
            if any(m.central is None for m in series):
                continue
            complexity[k] = classify_metric(k, sizes, series, noise_floor).to_dict()
    metrics: dict[str, Metric] = dict(points[-1][1]) if points else {}
    extra: dict[str, Any] = {"sizes": sizes, "by_size": by_size, "complexity": complexity}
    warnings: list[str] = []
    if len(sizes) < len(chosen):
        warnings.append(f"measured {len(sizes)} of {len(chosen)} sizes")
    loaded = _load_warning(metrics.get("time"), str((params or {}).get("clock", "")))
    if loaded:
        warnings.append(loaded)
    if (queries or calls) and points:
        from perfgate.probes._calls_pass import CallsPass, iter_passes

        found = n_plus_one(points)
        extra["n_plus_one"] = found
        for p in iter_passes(points[-1][2]):
            extra["calls" if isinstance(p, CallsPass) else "queries"] = p.to_dict()
        metrics["n_plus_one"] = Metric.counter(float(len(found)))
        for item in found:
            what = "" if item["kind"] == "query" else f"{item['kind']} call "
            warnings.append(
                f"N+1: {what}{item['statement']!r} ran {item['count']} times at n={sizes[-1]} "
                f"({item['location'] or 'location unknown'})"
            )
    all_params: dict[str, Any] = {
        **(params or {}),
        "sizes": chosen,
        "mode": target.mode,
        "budget": budget,
        "queries": queries,
        **({"calls": True} if calls else {}),
    }
    return Result(name=label, kind="sweep", params=all_params, metrics=metrics,
                  warnings=tuple(warnings), error=error, extra=extra)


_WAIT_PROBE_CALLS = 5


def _never_waits(fn: Callable[..., Any], arg: Any) -> bool:
    """True when a few calls never waited for anything but the CPU: no voluntary context
    switch (Linux: RUSAGE_THREAD), no time blocked (wall − thread CPU − run-queue wait), and
    no more preemptions than time slices. The last is for a busy machine: with one core
    taken, a query to a local server wakes the server on the client's own core, which
    preempts the client — 25 queries, 0 voluntary and 25 involuntary switches, the whole
    wait counted as waiting for the CPU. A CPU-bound call is preempted at most once per
    time slice (≥ 0.75 ms)."""
    try:
        import resource

        who = resource.RUSAGE_THREAD
    except (ImportError, AttributeError):
        return False
    caller = Caller(fn, arg)
    try:
        if caller.is_async:  # the event loop's selector counts as a wait
            return False
        caller.call_once()  # the first call may import, open, compile
        r0 = resource.getrusage(who)
        sched0 = sched_times()
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        for _ in range(_WAIT_PROBE_CALLS):
            caller.call_once()
        cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
        sched1 = sched_times()
        r1 = resource.getrusage(who)
        if r1.ru_nvcsw != r0.ru_nvcsw or r1.ru_nivcsw - r0.ru_nivcsw > 2 + cpu / 0.75e-3:
            return False
        if sched0 is not None and sched1 is not None and wall > 1e-3:
            # off the CPU and not waiting for it: blocked (the thread clock is exact; the
            # scheduler's run-queue wait is settled whenever the thread gets the CPU)
            blocked = wall - cpu - (sched1[1] - sched0[1])
            return blocked < 0.05 * wall
        return True
    finally:
        caller.close()



def _load_warning(t: Metric | None, clock: str) -> str | None:
    """On a loaded machine, calls longer than a time slice also time the neighbours."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    cpus = os.cpu_count() or 1
    if t is None or t.median is None or t.median < 2e-3 or load <= cpus or clock == "cpu":
        return None
    return (f"the machine was loaded (load {load:.1f} on {cpus} CPUs) and a call at the "
            f"largest size takes {t.median * 1e3:.1f} ms, longer than a scheduler time slice: "
            "big sizes also time other processes")


def n_plus_one(points: Sequence[tuple[int, Mapping[str, Metric], Any]]) -> list[dict[str, Any]]:
    """Statements and calls repeated within one operation whose count grows with n across
    the sweep. A point's third item holds its probe passes (a query pass, a calls pass, or
    a list of them); each finding has a ``kind``: ``query``, ``http`` or ``cache``."""
    from perfgate.probes._calls_pass import iter_passes

    passes = [list(iter_passes(q)) for _, _, q in points]
    sizes = [n for n, _, _ in points]
    if len(points) < 2 or any(not p for p in passes):
        return []
    per_size: list[dict[tuple[str, str], int]] = []
    for ps in passes:
        merged: dict[tuple[str, str], int] = {}
        for p in ps:
            merged.update(p.counted())
        per_size.append(merged)
    found: list[dict[str, Any]] = []
    for kind, statement in sorted({s for counts in per_size for s in counts}):
        counts = [c.get((kind, statement), 0) for c in per_size]
        growing = counts[-1] > counts[0] and all(b >= a for a, b in pairwise(counts))
        if counts[-1] >= 2 and growing:
            cls = classify_exact(sizes, counts, metric="count").cls
            location = next((loc for p in passes[-1]
                             if (loc := p.locate(kind, statement)) is not None), None)
            found.append({
                "kind": kind,
                "statement": statement,
                "count": counts[-1],
                "location": location,
                "counts": counts,
                "class": cls,
            })
    found.sort(key=lambda d: -int(d["count"]))
    return found
