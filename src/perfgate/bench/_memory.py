"""Memory per operation, measured apart from timing (tracing slows calls down).

What each metric means — the names teams coming from Go's ``B/op``/``allocs/op`` or from
memray expect:

- ``alloc_bytes`` / ``allocs``: bytes and number of allocations *made* per operation, freed
  or not (a call that builds and drops 1,000 temporary objects makes 1,000 allocations).
  Counted with memray, which sees every allocation (Python's object allocator and malloc);
  the harness is cancelled out by tracking k and 2k calls and taking the difference per
  call. Every thread of the process is counted during those calls.
- ``alloc_peak``: the most memory held above the starting point at any moment of one call
  (tracemalloc's peak).
- ``retained_bytes`` / ``retained_allocs``: what is still allocated once the call returned
  and its return value was dropped (tracemalloc snapshots): a leak shows here.

Without memray (an unsupported platform) only the tracemalloc metrics are reported.
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import tempfile
import tracemalloc
from dataclasses import dataclass

from perfgate.bench._calls import Caller

__all__ = ["MemoryStats", "measure_memory"]


@dataclass(frozen=True)
class MemoryStats:
    alloc_bytes: float | None
    allocs: float | None
    alloc_peak: float
    retained_bytes: float
    retained_allocs: float
    method: str


def _made_per_call(caller: Caller, calls: int) -> tuple[float, float] | None:
    """(bytes, allocations) made per call, with memray: (2k calls − k calls) / k."""
    try:
        import memray
        from memray import AllocatorType as A
    except ImportError:
        return None
    made = {A.PYMALLOC_MALLOC, A.PYMALLOC_CALLOC, A.PYMALLOC_REALLOC, A.MALLOC, A.CALLOC,
            A.REALLOC, A.POSIX_MEMALIGN, A.ALIGNED_ALLOC, A.MEMALIGN, A.VALLOC, A.PVALLOC,
            A.MMAP}
    tmp = tempfile.mkdtemp(prefix="perfgate-mem-")
    totals: list[tuple[int, int]] = []
    try:
        for k in (calls, 2 * calls):
            path = os.path.join(tmp, f"{k}.bin")
            gc.collect()
            try:
                with memray.Tracker(path, trace_python_allocators=True, native_traces=False):
                    caller.run(k)
            except RuntimeError:  # another tracker is active (e.g. pytest-memray)
                return None
            n = size = 0
            for rec in memray.FileReader(path).get_allocation_records():
                if rec.allocator in made:
                    n += rec.n_allocations
                    size += rec.size
            totals.append((size, n))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (b1, n1), (b2, n2) = totals
    return max(0.0, (b2 - b1) / calls), max(0.0, (n2 - n1) / calls)


def _traced(caller: Caller, calls: int) -> tuple[float, float, float]:
    """(median peak above the start, median bytes retained, median blocks retained) per
    call, with tracemalloc; tracemalloc's and this harness's own bookkeeping left out."""
    from perfgate.bench import _calls

    peaks: list[int] = []
    kept: list[int] = []
    blocks: list[int] = []
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    filters = [tracemalloc.Filter(False, f) for f in
               (tracemalloc.__file__, __file__, _calls.__file__)]
    try:
        for _ in range(calls):
            gc.collect()
            start = tracemalloc.take_snapshot().filter_traces(filters)
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            caller.call_once()  # the return value is dropped at once: not "retained"
            peaks.append(max(0, tracemalloc.get_traced_memory()[1] - base))
            diff = tracemalloc.take_snapshot().filter_traces(filters).compare_to(
                start, "traceback")
            kept.append(sum(d.size_diff for d in diff if d.size_diff > 0))
            blocks.append(sum(d.count_diff for d in diff if d.count_diff > 0))
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return (float(statistics.median(peaks)), float(statistics.median(kept)),
            float(statistics.median(blocks)))


def measure_memory(caller: Caller, calls: int) -> MemoryStats:
    """Every memory metric of one operation (see the module docstring)."""
    calls = max(1, calls)
    made = _made_per_call(caller, calls)
    peak, kept, blocks = _traced(caller, calls)
    return MemoryStats(
        alloc_bytes=made[0] if made else None, allocs=made[1] if made else None,
        alloc_peak=peak, retained_bytes=kept, retained_allocs=blocks,
        method="memray+tracemalloc" if made else "tracemalloc",
    )
