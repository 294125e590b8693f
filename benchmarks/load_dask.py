"""Distributed load on Dask against local processes, on one machine (issue 16).

Against the same local server, ``cluster="local:2"`` (two Dask worker processes) and
``processes=2`` (two spawned processes) take turns:

1. closed model, a server that answers after 5 ms: the request counts of the two should be
   within 1 % (the count is set by the server's pace, so any gap is the backend's);
2. open model at a fixed rate: total sent (requests + dropped) against rate × duration
   (goal: within 0.5 %; the split schedule makes it exact);
3. merged percentiles: a latency sample split over 2–8 histograms and merged has the p99 of
   one histogram holding every sample (exact: bucket counts add) and within the bucket
   resolution of the raw samples' p99;
4. coordinator overhead: throughput of the two on a fast target (nginx when installed,
   else a Python server in this process), ratio cluster / processes (goal ≥ 95 %);
5. the 100-worker plan: bytes per snapshot on the wire, the coordinator's cost to unpack and
   merge one, measured with 2–8 workers' snapshots, and the message rate extrapolated.

    .venv/bin/python benchmarks/load_dask.py [--duration 3] [--rounds 2] [--only throughput]

Run it on a quiet machine: it prints ``uptime`` beside the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import perfgate as pg  # noqa: E402
from perfgate.load import LogHistogram  # noqa: E402
from perfgate.load._dask_task import from_wire, to_wire  # noqa: E402
from perfgate.load._outcomes import Tally  # noqa: E402
from perfgate.load._recorder import Aggregator, Snapshot  # noqa: E402

SERVER = """
import sys
sys.path.insert(0, sys.argv[2])
from _load_servers import Reply, Server
delay = float(sys.argv[1])
with Server(lambda n, p: Reply(delay=delay)) as s:
    print(s.url, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
"""


@contextlib.contextmanager
def serve(delay: float = 0.0) -> Iterator[str]:
    """tests/_load_servers.py's server in its own process (not competing with the
    coordinator, nor with a LocalCluster's scheduler, for this process's GIL)."""
    p = subprocess.Popen([sys.executable, "-c", SERVER, str(delay), str(HERE.parent / "tests")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        yield p.stdout.readline().strip()
    finally:
        assert p.stdin is not None
        p.stdin.close()
        p.wait(10)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def load(url: str, backend: str, **kw: object) -> pg.Result:
    if backend == "cluster":
        return pg.load(url, cluster="local:2", **kw)  # type: ignore[arg-type]
    return pg.load(url, processes=2, **kw)  # type: ignore[arg-type]


def count(r: pg.Result, name: str) -> int:
    return int(r.metrics[name].value or 0)


def closed_counts(url: str, secs: float, rounds: int) -> None:
    print(f"\n1. closed model, 10 VUs, {secs:g} s, server answers after 5 ms")
    got: dict[str, list[int]] = {"processes": [], "cluster": []}
    for _ in range(rounds):
        for b in ("processes", "cluster"):
            got[b].append(count(load(url, b, vus=10, duration=secs), "requests"))
    p, c = sum(got["processes"]), sum(got["cluster"])
    print(f"   requests --processes 2: {got['processes']}  --cluster local:2: {got['cluster']}"
          f"  difference {abs(c - p) / p:.2%} (goal ≤ 1 %)")


def open_total(url: str, secs: float) -> None:
    rate = 500
    print(f"\n2. open model, {rate}/s for {secs:g} s")
    for b in ("processes", "cluster"):
        r = load(url, b, rate=rate, duration=secs)
        sent = count(r, "requests") + count(r, "dropped")
        want = rate * secs
        print(f"   {b:9}: sent {sent} of {want:g} ({abs(sent - want) / want:.2%} off; goal "
              f"≤ 0.5 %)  p99 {r.metrics['latency'].p99 * 1e3:.2f} ms")


def merged_p99() -> None:
    print("\n3. merged p99 against one histogram of every sample (200 000 lognormal samples)")
    rng = np.random.default_rng(1)
    v = (rng.lognormal(np.log(2e6), 0.6, 200_000)).astype(np.int64)
    one = LogHistogram.of(v)
    exact = float(np.percentile(v, 99, method="inverted_cdf"))
    for k in (2, 4, 8):
        parts = np.array_split(rng.permutation(v), k)
        merged = LogHistogram.empty()
        for part in parts:
            merged.merge(LogHistogram.of(part))
        p_m, p_1 = merged.quantile(0.99), one.quantile(0.99)
        print(f"   {k} workers: merged p99 {p_m / 1e6:.4f} ms, one histogram {p_1 / 1e6:.4f} ms "
              f"(equal: {p_m == p_1}), raw samples {exact / 1e6:.4f} ms "
              f"({abs(p_m - exact) / exact:.3%} off)")


def throughput(url: str, secs: float, rounds: int) -> None:
    print(f"\n4. throughput on a fast target, 50 VUs, {secs:g} s, {rounds} round(s) alternated")
    rps: dict[str, list[float]] = {"processes": [], "cluster": []}
    for _ in range(rounds):
        for b in ("processes", "cluster"):
            r = load(url, b, vus=50, duration=secs)
            rps[b].append(float(r.metrics["rps"].value or 0))
    p, c = float(np.median(rps["processes"])), float(np.median(rps["cluster"]))
    print(f"   --processes 2: {[round(x) for x in rps['processes']]} /s   --cluster local:2: "
          f"{[round(x) for x in rps['cluster']]} /s   ratio {c / p:.1%} (goal ≥ 95 %)")


def plan_100(tick_requests: int = 20_000) -> None:
    print(f"\n5. the 100-worker plan: one snapshot a second per worker, {tick_requests} "
          "requests per tick per worker")
    rng = np.random.default_rng(2)

    def snap(w: int, t: int) -> Snapshot:
        v = rng.lognormal(np.log(2e6), 0.5, tick_requests).astype(np.int64)
        return Snapshot(worker=w, tick=t, t_end=t + 1.0, lat=LogHistogram.of(v),
                        svc=LogHistogram.of((v * 0.9).astype(np.int64)), tally=Tally(),
                        requests=tick_requests)

    wire = pickle.dumps(to_wire(("tick", snap(0, 0))))
    dense = pickle.dumps(("tick", snap(0, 0)))
    print(f"   bytes per snapshot: {len(wire):,} on the Dask wire (sparse), "
          f"{len(dense):,} dense (local pipe)")
    per: dict[int, float] = {}
    for workers in (2, 4, 8):
        ticks = 20
        msgs = [pickle.dumps(to_wire(("tick", snap(w, t)))) for t in range(ticks)
                for w in range(workers)]
        agg = Aggregator(workers, 1.0)
        t0 = time.perf_counter()
        for m in msgs:
            agg.add(from_wire(pickle.loads(m))[1])
        per[workers] = (time.perf_counter() - t0) / len(msgs)
        print(f"   {workers} workers: unpack + merge {per[workers] * 1e6:.0f} µs per snapshot")
    cost = max(per.values())
    print(f"   100 workers: 100 messages/s at the coordinator, {100 * len(wire) / 1e6:.2f} MB/s "
          f"through the scheduler, merge CPU {100 * cost:.1%} of one core")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", choices=["merge", "plan", "closed", "open", "throughput"],
                    action="append", help="run only these parts (repeatable)")
    args = ap.parse_args()
    want = set(args.only or ["merge", "plan", "closed", "open", "throughput"])
    print(f"machine: {uptime()}")
    if "merge" in want:
        merged_p99()
    if "plan" in want:
        plan_100()
    if "closed" in want:
        with serve(0.005) as slow:
            closed_counts(slow, args.duration, args.rounds)
    with serve() as fast:
        if "open" in want:
            open_total(fast, args.duration)
        if "throughput" not in want:
            pass
        elif shutil.which("nginx"):
            from load_vs_wrk import start_nginx

            with tempfile.TemporaryDirectory() as tmp:
                proc, url = start_nginx(Path(tmp))
                try:
                    throughput(url, args.duration, args.rounds)
                finally:
                    proc.terminate()
                    proc.wait(10)
        else:
            throughput(fast, args.duration, args.rounds)
    print(f"\nmachine after: {uptime()}")


if __name__ == "__main__":
    main()
