"""Fault scenarios against the shop service (service.py): slow database, cache down,
downstream timing out — each a load test with a baseline, a fault and a recovery phase.

The service talks to every dependency through a perfgate fault proxy::

    load ──▶ service ──▶ Proxy "db"  ──▶ PostgreSQL
                     ├─▶ Proxy "cache" ──▶ Redis
                     └─▶ HttpFaultProxy "pricing" ──▶ downstream pricing API

Run against your own PostgreSQL and Redis (the tests start throwaway ones)::

    python examples/faults/scenarios.py --db postgresql://user@127.0.0.1/shop \\
        --redis 127.0.0.1:6379 [--baseline 10 --fault 20 --recovery 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import perfgate as pg
from perfgate.faults import HttpFaultProxy, Proxy

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from service import QUERIES_PER_ORDER, seed  # noqa: E402

PRODUCTS = range(1, 21)  # the hot set: warmed into the cache before a scenario


class Degraded(Exception):
    """The service answered with its fallback (the breaker was open or the call failed)."""


class Stack:
    """The downstream, three proxies and the service, started and stopped together."""

    def __init__(self, db: str, redis_addr: str, reset_timeout: float = 2.0) -> None:
        self.db_dsn, self.redis_addr, self.reset_timeout = db, redis_addr, reset_timeout
        self.procs: list[subprocess.Popen[str]] = []

    def _spawn(self, *args: str) -> int:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        p = subprocess.Popen([sys.executable, str(HERE / "service.py"), *args],
                             stdout=subprocess.PIPE, text=True, env=env)
        self.procs.append(p)
        assert p.stdout is not None
        line = p.stdout.readline()  # printed once the socket listens
        if not line.startswith("listening"):
            raise RuntimeError(f"service.py {args[0]} did not start: {line!r}")
        return int(line.split()[1])

    def __enter__(self) -> Stack:
        seed(self.db_dsn)
        u = urlsplit(self.db_dsn)
        try:
            down_port = self._spawn("downstream")
            self.db = Proxy(f"{u.hostname}:{u.port or 5432}", name="db").start()
            self.cache = Proxy(self.redis_addr, name="cache").start()
            self.pricing = HttpFaultProxy(f"127.0.0.1:{down_port}", name="pricing").start()
            via = urlunsplit(u._replace(netloc=f"{u.username or ''}@{self.db.address}"))
            port = self._spawn("serve", "--db", via, "--redis", self.cache.address,
                               "--downstream", self.pricing.url,
                               "--reset-timeout", str(self.reset_timeout))
        except BaseException:
            self.__exit__()
            raise
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.kill()
            p.wait()
            if p.stdout is not None:
                p.stdout.close()
        for name in ("db", "cache", "pricing"):
            if hasattr(self, name):
                getattr(self, name).stop()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())


# --------------------------------------------------------------------------- iterations

_rng = random.Random(1)


async def get_order(client: pg.HttpClient) -> None:
    r = await client.get(f"/orders/{_rng.randint(1, 200)}")
    pg.expect(r.status == 200, f"HTTP {r.status}")


async def get_product(client: pg.HttpClient) -> None:
    r = await client.get(f"/products/{_rng.choice(PRODUCTS)}")
    pg.expect(r.status == 200, f"HTTP {r.status}")  # "cache": "down" is a success


async def get_quote(client: pg.HttpClient) -> None:
    r = await client.get(f"/quote/{_rng.randint(1, 50)}")
    pg.expect(r.status == 200, f"HTTP {r.status}")
    body = r.json()
    if body["degraded"]:
        raise Degraded(f"fallback price, breaker {body['breaker']}")


# --------------------------------------------------------------------------- scenarios


def _phases(fault: Any, label: str, b: float, f: float, r: float) -> list[Any]:
    return [pg.baseline(b), pg.fault(f, fault, label=label), pg.recovery(r)]


def slow_database(s: Stack, b: float = 10, f: float = 20, r: float = 20, tick: float = 1.0,
                  latency: float = 0.3) -> pg.Result:
    """300 ms on every database response: /orders should slow by 3 × 300 ms."""
    expect = QUERIES_PER_ORDER * latency
    return pg.load(
        get_order, base_url=s.url, rate="20/s", max_vus=100, tick=tick,
        name="slow database: GET /orders/{id}",
        faults=_phases(s.db.toxic(latency=latency), f"db latency {latency * 1e3:g}ms",
                       b, f, r),
        # requests in flight when the fault ends still take its latency: recovery ≈ that
        checks=["error_rate(phase=fault) < 1%", f"p(50, phase=fault) < {expect + 0.2}s",
                f"recovery_time < {expect + 2 * tick}s"])


def cache_down(s: Stack, b: float = 10, f: float = 20, r: float = 20,
               tick: float = 1.0) -> pg.Result:
    """Redis refuses connections: /products falls back to one query, without errors."""
    for pid in PRODUCTS:
        s.get(f"/products/{pid}")  # warm the hot set
    return pg.load(
        get_product, base_url=s.url, rate="50/s", max_vus=50, tick=tick,
        name="cache down: GET /products/{id}",
        faults=_phases(s.cache.down(), "redis refusing connections", b, f, r),
        checks=["error_rate(phase=fault) == 0", "p(95, phase=fault) < 250ms"])


def downstream_timeout(s: Stack, b: float = 10, f: float = 20, r: float = 20,
                       tick: float = 1.0) -> pg.Result:
    """The pricing API answers after 1 s (the client gives up at 200 ms): the breaker opens,
    quotes are degraded, and after the fault it closes once its reset timeout is over."""
    return pg.load(
        get_quote, base_url=s.url, rate="50/s", max_vus=50, tick=tick,
        name="downstream timing out: GET /quote/{id}",
        faults=_phases(s.pricing.fault(delay="1s"), "pricing API 1 s late", b, f, r),
        checks=["error_rate(phase=baseline) < 1%", f"recovery_time <= {s.reset_timeout + 2}s"])


def breaker_transitions(s: Stack, result: pg.Result) -> list[tuple[float, str]]:
    """The breaker's logged transitions, in seconds from the start of the fault phase."""
    fault = next(p for p in result.extra["phases"] if p["role"] == "fault")
    t0 = fault["applied_wall"] - fault["applied_at"]  # the load's start, wall clock
    return [(round(t - t0, 3), state) for t, state in s.get("/breaker")["log"]]


def summary(res: pg.Result) -> list[str]:
    """Lines to print: each phase's latency, errors and throughput; degradation, recovery."""
    m = res.metrics
    lines = [res.name]
    for ph in (p["name"] for p in res.extra["phases"]):
        lat = m[f"phase.{ph}.latency"]
        lines.append(f"  {ph:9} p50 {lat.p50 or 0:8.4f}s  p95 {lat.p95 or 0:8.4f}s  "
                     f"errors {m[f'phase.{ph}.error_rate'].value:6.1%}  "
                     f"{m[f'phase.{ph}.rps'].value:6.1f}/s")
    d, rec = m.get("degradation.p50"), m.get("recovery_time")
    if d is not None and d.value is not None:
        lines.append(f"  degradation p50 ×{d.value:.2f}")
    if rec is not None and rec.value is not None:
        lines.append(f"  recovery {rec.value:.2f}s")
    lines += [f"  [{v.status}] {v.evidence}" for v in res.verdicts]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--redis", required=True, help="HOST:PORT")
    ap.add_argument("--baseline", type=float, default=10)
    ap.add_argument("--fault", type=float, default=20)
    ap.add_argument("--recovery", type=float, default=20)
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    results = []
    with Stack(a.db, a.redis) as s:
        for scenario in (slow_database, cache_down, downstream_timeout):
            res = scenario(s, a.baseline, a.fault, a.recovery)
            results.append(res)
            print("\n" + "\n".join(summary(res)))
            if scenario is downstream_timeout:
                for t, state in breaker_transitions(s, res):
                    print(f"  breaker {state:9} at {t:7.2f}s")
    if a.json:
        pg.write_json(a.json, pg.ResultSet(pg.collect_environment(), tuple(results)))


if __name__ == "__main__":
    main()
