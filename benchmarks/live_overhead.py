"""The cost of live metrics: HTTP requests/s of ``perfgate load`` with and without
``--prometheus`` (scraped once a second, as Prometheus would) and ``--dashboard``.

nginx (Debian's package) serves a small response on 127.0.0.1, pinned to core 0 when
``taskset`` exists; ``perfgate load`` runs on core 1 with one worker process. Rounds
alternate the variants so that a drift in the machine's load hits all of them alike; the
script prints each variant's median requests/s, its ratio to the plain run, and the load
average it saw.

    apt-get install -y nginx
    .venv/bin/python benchmarks/live_overhead.py [--duration 5] [--rounds 3] [--vus 50]

Goal (issue 17): within 2 % of the plain run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from load_vs_wrk import free_port, pinned, start_nginx

PY = sys.executable


def run_load(url: str, vus: int, secs: float, tmp: Path, extra: list[str]
             ) -> tuple[float, float]:
    """(requests/s, CPU µs of the generator's process per request: exporter threads
    included, and less sensitive than throughput to a busy machine)."""
    out = tmp / "r.json"
    cmd = pinned(1, [PY, "-m", "perfgate", "load", url, "--vus", str(vus), "--duration",
                     f"{secs:g}s", "--processes", "1", "--json", str(out), *extra])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    scraper = None
    if "--prometheus" in extra:
        port = extra[extra.index("--prometheus") + 1].rsplit(":", 1)[1]
        stop = threading.Event()

        def scrape() -> None:  # once a second, like a Prometheus server
            while not stop.wait(1.0):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                                timeout=2) as r:
                        r.read()
                except OSError:
                    pass

        scraper = threading.Thread(target=scrape, daemon=True)
        scraper.start()
    proc.wait()
    if scraper is not None:
        stop.set()
        scraper.join()
    r = json.loads(out.read_text())["results"][0]
    requests = r["metrics"]["requests"]["value"]
    cpu_s = sum(r["generator"]["cpu"].values()) * r["duration"]
    return float(r["metrics"]["rps"]["value"]), cpu_s / requests * 1e6


def micro(workers: int = 4, reps: int = 2000) -> None:
    """CPU cost of the pieces, independent of the machine's load: per snapshot on the
    coordinator's thread (the per-worker copy), and per scrape on the server's thread."""
    import numpy as np
    from prometheus_client import generate_latest

    from perfgate.export._prometheus import PrometheusOutput
    from perfgate.load import LiveStats, LogHistogram
    from perfgate.load._outcomes import Tally
    from perfgate.load._recorder import Snapshot
    from perfgate.load._run import WorkerLive

    rng = np.random.default_rng(1)
    lat = LogHistogram.of(rng.lognormal(13, 0.5, 10_000).astype(np.int64))
    tally = Tally({"http_5xx": 3})
    snap = Snapshot(worker=0, tick=0, t_end=1.0, lat=lat, svc=None, tally=tally)
    w = WorkerLive(0)
    t0 = time.process_time()
    for _ in range(reps):
        w = w.advanced(snap)
    per_snap = (time.process_time() - t0) / reps
    out = PrometheusOutput()
    ws = tuple(WorkerLive(i, requests=w.requests, errors=w.errors, latency=w.latency)
               for i in range(workers))
    out.add("s", LiveStats(elapsed=1, fraction=None, rps=0, errors=0, p99=0, requests=0,
                           total_errors=0, inflight=0, workers=ws))
    t0 = time.process_time()
    for _ in range(reps // 10):
        generate_latest(out.registry)
    per_scrape = (time.process_time() - t0) / (reps // 10)
    print(f"per snapshot (coordinator thread, one worker's histogram copy+merge): "
          f"{per_snap * 1e6:.1f} µs CPU")
    print(f"per scrape ({workers} workers, 46 buckets each; scrape thread): "
          f"{per_scrape * 1e6:.0f} µs CPU")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--vus", type=int, default=50)
    if not shutil.which("nginx"):
        raise SystemExit("needs nginx (apt-get install -y nginx)")
    ap.add_argument("--micro-only", action="store_true")
    a = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    micro()
    if a.micro_only:
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        nginx, url = start_nginx(tmp)
        try:
            variants = {
                "plain": lambda: [],
                "--prometheus (scraped 1/s)": lambda: ["--prometheus",
                                                       f"127.0.0.1:{free_port()}"],
                "--dashboard (no browser)": lambda: ["--dashboard"],
            }
            got: dict[str, list[float]] = {k: [] for k in variants}
            cpu: dict[str, list[float]] = {k: [] for k in variants}
            for i in range(a.rounds):
                for name, extra in variants.items():
                    rps, us = run_load(url, a.vus, a.duration, tmp, extra())
                    got[name].append(rps)
                    cpu[name].append(us)
                    print(f"round {i + 1} {name:28s} {rps:10.0f} req/s  {us:6.1f} µs CPU/req",
                          flush=True)
        finally:
            nginx.terminate()
            nginx.wait()
    base = statistics.median(got["plain"])
    base_cpu = statistics.median(cpu["plain"])
    print()
    for name, vals in got.items():
        med = statistics.median(vals)
        spread = (max(vals) - min(vals)) / med if med else float("nan")
        c = statistics.median(cpu[name])
        # paired by round: each variant against the plain run next to it in time
        pr = statistics.median(v / b for v, b in zip(vals, got["plain"], strict=True))
        pc = statistics.median(v / b for v, b in zip(cpu[name], cpu["plain"], strict=True))
        print(f"{name:28s} median {med:10.0f} req/s  ratio {med / base:6.3f}  "
              f"spread {spread:6.1%}  CPU/req {c:6.1f} µs (×{c / base_cpu:.3f}); "
              f"paired medians: req/s ×{pr:.3f}, CPU/req ×{pc:.3f}")
    print(f"load average after: {os.getloadavg()}  ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
