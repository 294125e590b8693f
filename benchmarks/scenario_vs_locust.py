"""A scripted scenario — two GETs and one JSON body parsed per iteration — run by perfgate
(``async def scenario(client)``) and by Locust's FastHttpUser, side by side.

The server takes core 0: nginx (Debian's package) when installed, else a small uvloop server
in its own process (tests/_fast_server.py) — say which in any figure you quote. Each client
takes core 1 in turn, with the same number of users, for the same time; rounds alternate the
two so that a drifting neighbour hits both alike. Printed: HTTP requests/s and iterations/s
of each, perfgate's requests/s per second of CPU (its worker's own CPU time: the rate one
full core would give), its generator warning (a scenario saturating a core must say it is
bounded by the generator), and the load average.

    .venv/bin/python benchmarks/scenario_vs_locust.py [--duration 5] [--users 50] [--rounds 2]

Goal (issue 10): ≥ 48k HTTP requests/s per core inside scripted scenarios.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from load_vs_wrk import pinned, run_locust, start_nginx  # noqa: E402

PY = sys.executable
JSON_BODY = '{"id": 1, "items": [1, 2, 3], "name": "perfgate"}'
NGINX_JSON = ('location / { default_type application/json; return 200 \'' + JSON_BODY
              + '\'; }')

SCENARIO = """
import os

import perfgate as pg

BASE = os.environ["SCENARIO_BASE"]

async def scenario(client):
    await client.get(BASE + "/a")
    r = await client.get(BASE + "/b")
    pg.expect(r.json()["id"] == 1)
"""

LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

class Scenario(FastHttpUser):
    wait_time = constant(0)

    @task
    def two_gets(self):
        self.client.get("/a")
        r = self.client.get("/b")
        assert r.json()["id"] == 1
"""


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes] | subprocess.Popen[str], str, str]:
    if shutil.which("nginx"):
        import load_vs_wrk

        load_vs_wrk.NGINX_CONF = load_vs_wrk.NGINX_CONF.replace(
            'location / {{ return 200 "hello, perfgate\\n"; }}',
            NGINX_JSON.replace("{", "{{").replace("}", "}}"))
        proc, url = start_nginx(tmp)
        return proc, url.rstrip("/"), "nginx (1 worker, core 0)"
    p = subprocess.Popen(pinned(0, [PY, str(ROOT / "tests" / "_fast_server.py")]),
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    port = int(p.stdout.readline())
    return p, f"http://127.0.0.1:{port}", "tests/_fast_server.py (uvloop, core 0; no nginx here)"


def run_perfgate(url: str, users: int, secs: float, tmp: Path) -> dict[str, float | str]:
    (tmp / "pg_scenario.py").write_text(SCENARIO)
    out = tmp / "pg.json"
    env = {**os.environ, "SCENARIO_BASE": url, "PYTHONPATH": os.pathsep.join(
        [str(tmp), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    subprocess.run(
        pinned(1, [PY, "-m", "perfgate", "load", "pg_scenario:scenario", "--vus", str(users),
                   "--duration", f"{secs:g}s", "--processes", "1", "--json", str(out)]),
        capture_output=True, text=True, check=False, env=env, cwd=tmp,
    )
    if not out.exists():
        raise SystemExit("perfgate wrote no result (is the URL right?)")
    r = json.loads(out.read_text())["results"][0]
    m = r["metrics"]
    cpu = float(r["generator"]["cpu"]["0"] or 0.0)
    rps = float(m["rps"]["value"])
    return {"rps": rps, "ips": float(m.get("iteration_rate", m["rps"])["value"]),
            "cpu": cpu, "per_core": rps / cpu if cpu > 0 else float("nan"),
            "errors": float(m["errors"]["value"]),
            "warning": next((w for w in r.get("warnings", []) if "generator" in w), "none")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        proc, url, what = start_server(tmp)
        import load_vs_wrk

        load_vs_wrk.LOCUSTFILE = LOCUSTFILE
        pg_runs: list[dict[str, float | str]] = []
        locust: list[float] = []
        try:
            for _ in range(a.rounds):
                pg_runs.append(run_perfgate(url, a.users, a.duration, tmp))
                locust.append(run_locust(url, a.users, a.duration, tmp))
        finally:
            proc.terminate()  # nginx: a fast shutdown takes its worker along
            proc.wait()
    load = os.getloadavg()
    med = statistics.median
    pg_rps = med([float(r["rps"]) for r in pg_runs])
    print(f"server: {what}; {a.users} users, {a.duration:g} s, {a.rounds} round(s); "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"perfgate scenario: {pg_rps:,.0f} HTTP requests/s "
          f"({med([float(r['ips']) for r in pg_runs]):,.0f} iterations/s), "
          f"worker CPU {med([float(r['cpu']) for r in pg_runs]):.0%} of a core → "
          f"{med([float(r['per_core']) for r in pg_runs]):,.0f} requests/s per core; "
          f"errors {med([float(r['errors']) for r in pg_runs]):.0f}")
    print(f"  generator warning: {pg_runs[-1]['warning']}")
    lo = med(locust)
    print(f"Locust FastHttpUser: {lo:,.0f} HTTP requests/s ({lo / 2:,.0f} iterations/s)")
    print(f"perfgate / Locust: {pg_rps / lo:.1f}×" if lo > 0 else "Locust: no figure")


if __name__ == "__main__":
    main()
