"""perfgate's load engine against wrk and Locust, on one machine, side by side.

nginx (Debian's package) serves a small static response on 127.0.0.1 with one worker
pinned to core 0; wrk, Locust's FastHttpUser and ``perfgate load`` take turns on core 1 with
the same number of connections, and the script prints requests/s and the ratios. Then:
timed no-op callables per second against a bare timed loop, and RSS while 10 million
samples are recorded.

    apt-get install -y nginx wrk && .venv/bin/pip install locust
    .venv/bin/python benchmarks/load_vs_wrk.py [--duration 5] [--connections 50] [--rounds 1]

Goals (issue 4): perfgate ≥ 10× Locust FastHttpUser and ≥ 0.8× wrk; no-op callables
≥ 65 % of the bare loop; RSS flat over 10 million samples. On a shared machine the figures
are noisy: rounds alternate the clients so drifts hit all of them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "hello, perfgate\\n"; }}
  }}
}}
"""

LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

class Hit(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(core: int, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *cmd] if shutil.which("taskset") else cmd


def start_nginx(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=tmp, port=port))
    proc = subprocess.Popen(pinned(0, ["nginx", "-c", str(conf), "-p", str(tmp)]))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("nginx did not start")


def run_wrk(url: str, conns: int, secs: float) -> float:
    out = subprocess.run(pinned(1, ["wrk", "-t1", f"-c{conns}", f"-d{secs:g}s", url]),
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else float("nan")


def run_locust(url: str, conns: int, secs: float, tmp: Path) -> float:
    lf = tmp / "locustfile.py"
    lf.write_text(LOCUSTFILE)
    prefix = tmp / "locust"
    locust = str(Path(PY).with_name("locust"))
    subprocess.run(
        pinned(1, [locust, "-f", str(lf), "--headless", "-u", str(conns), "-r", str(conns),
                   "-t", f"{max(1, round(secs))}s", "--host", url.rstrip("/"), "--only-summary",
                   "--csv", str(prefix), "--loglevel", "ERROR"]),
        capture_output=True, text=True, check=False,
    )
    rows = (tmp / "locust_stats.csv").read_text().splitlines()
    head = rows[0].split(",")
    for row in rows[1:]:
        cols = row.split(",")
        if cols[1] == "Aggregated":
            return float(cols[head.index("Requests/s")])
    return float("nan")


def run_perfgate(url: str, conns: int, secs: float, tmp: Path) -> tuple[float, dict[str, object]]:
    out = tmp / "pg.json"
    perfgate = str(Path(PY).with_name("perfgate"))
    subprocess.run(
        pinned(1, [perfgate, "load", url, "--vus", str(conns), "--duration", f"{secs:g}s",
                   "--processes", "1", "--json", str(out)]),
        capture_output=True, text=True, check=False,
    )
    r = json.loads(out.read_text())["results"][0]
    m = r["metrics"]
    info = {"p99_ms": round(m["latency"]["p99"] * 1e3, 2), "errors": m["errors"]["value"],
            "series_points": len(m["series.rps"]["points"]), "warnings": r.get("warnings", [])}
    return float(m["rps"]["value"]), info


CALLS = """
import time, sys
import perfgate as pg

def noop():
    pass

def bare(seconds):
    pc = time.perf_counter_ns
    lat = []
    app = lat.append
    n = 0
    end = pc() + int(seconds * 1e9)
    t1 = pc()
    while t1 < end:
        for _ in range(1000):
            t0 = pc()
            noop()
            t1 = pc()
            app(t1 - t0)
        n += 1000
        if len(lat) > 1_000_000:
            lat.clear()
    return n / seconds

if __name__ == "__main__":
    secs = float(sys.argv[1])
    b = bare(secs)
    r = pg.load(noop, vus=1, duration=secs, processes=1)
    print(b, r.metrics["rps"].value)
"""

RSS = """
import sys
import perfgate as pg

def noop():
    pass

if __name__ == "__main__":
    r = pg.load(noop, vus=1, iterations=int(sys.argv[1]), processes=1)
    pts = r.metrics["series.rss"].points
    n = r.metrics["requests"].value
    print(n, r.extra["duration"], pts[0][1], pts[len(pts) // 10][1], pts[-1][1],
          r.metrics["rss_growth"].value)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per client run")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds (median kept)")
    ap.add_argument("--samples", type=int, default=10_000_000, help="for the RSS check")
    ap.add_argument("--skip-http", action="store_true")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="pg-bench-") as d:
        tmp = Path(d)
        if not args.skip_http:
            missing = [t for t in ("nginx", "wrk") if not shutil.which(t)]
            if missing:
                raise SystemExit(f"missing {missing}: apt-get install -y nginx wrk")
            nginx, url = start_nginx(tmp)
            try:
                res: dict[str, list[float]] = {"wrk": [], "locust FastHttpUser": [],
                                               "perfgate": []}
                info: dict[str, object] = {}
                for i in range(args.rounds):
                    res["wrk"].append(run_wrk(url, args.connections, args.duration))
                    res["locust FastHttpUser"].append(
                        run_locust(url, args.connections, args.duration, tmp))
                    rps, info = run_perfgate(url, args.connections, args.duration, tmp)
                    res["perfgate"].append(rps)
                    print(f"round {i + 1}: " + ", ".join(
                        f"{k} {v[-1]:,.0f}/s" for k, v in res.items())
                        + f"; perfgate/wrk {rps / res['wrk'][-1]:.2f}×")
            finally:
                nginx.terminate()
                nginx.wait(5)
            med = {k: statistics.median(v) for k, v in res.items()}
            print(f"\nHTTP, {args.connections} connections, {args.duration:g} s, nginx on core 0,"
                  " client on core 1 (median of rounds):")
            for k, v in med.items():
                print(f"  {k:<22} {v:>12,.0f} req/s")
            pg = med["perfgate"]
            print(f"  perfgate / wrk                {pg / med['wrk']:.2f}×   (goal ≥ 0.8)")
            print(f"  perfgate / locust FastHttpUser {pg / med['locust FastHttpUser']:.1f}×"
                  "   (goal ≥ 10)")
            paired = [p / w for p, w in zip(res["perfgate"], res["wrk"], strict=True)]
            print(f"  perfgate / wrk per round      {', '.join(f'{x:.2f}' for x in paired)}")
            print(f"  perfgate run: {info}")
        out = subprocess.run(pinned(1, [PY, "-c", CALLS, str(min(args.duration, 3.0))]),
                             capture_output=True, text=True, check=True).stdout.split()
        bare, pgc = float(out[0]), float(out[1])
        print(f"\nno-op callables, one core: bare timed loop {bare:,.0f}/s, perfgate "
              f"{pgc:,.0f}/s = {pgc / bare:.0%} (goal ≥ 65 %)")
        out = subprocess.run(pinned(1, [PY, "-c", RSS, str(args.samples)]),
                             capture_output=True, text=True, check=True).stdout.split()
        n, secs, first, tenth, last, slope = (float(x) for x in out)
        print(f"RSS over {n:,.0f} recorded samples ({secs:.1f} s): {first / 1e6:.1f} MB at the "
              f"start, {tenth / 1e6:.1f} MB after 10 %, {last / 1e6:.1f} MB at the end "
              f"(slope after warm-up {slope / 1e3:.1f} kB/s)")


if __name__ == "__main__":
    main()
