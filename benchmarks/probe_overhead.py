"""The call probes' cost per call: HTTP requests and Redis commands with and without a probe.

Two figures per client:

1. **end to end** — blocks of ``--calls`` calls against a local server (a threaded HTTP/1.1
   server on 127.0.0.1; ``redis-server`` on a free port when installed), alternating blocks
   without and with a probe active (``HttpProbe``/``CacheProbe``, each block one operation),
   ``--blocks`` of each. Each block is timed twice: the calling thread's CPU time (the
   probe's work is CPU work in that thread; the servers run in other threads and processes,
   and waiting for a core on a busy machine does not count) and the wall clock. Printed: the
   median CPU µs per call of each mode, their difference — the probe's cost per call — with
   its range over the block pairs, and the wall-clock difference, which carries the noise of
   a loopback round trip and of the machine's load.
2. **the door alone** — ``record_http`` / ``record_command`` called in a loop, the work a door
   adds to one call with no I/O around it: URL or key normalised, the user's frame found, the
   phase stack read, every active probe updated. With ``locate=False`` too.

The probe is meant for an untimed pass (perfgate never counts calls while it times rounds):
these figures say what that pass costs, and what ``count_http_calls()`` around a real
workload adds.

Usage: python benchmarks/probe_overhead.py [--calls 200] [--blocks 10]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from perfgate.probes import CacheProbe, HttpProbe
from perfgate.probes._cache import record_command
from perfgate.probes._http import record_http


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def redis_server() -> Iterator[int | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    tmp = tempfile.mkdtemp()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--dir", tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    for line in proc.stdout:  # ready when it says so
        if b"Ready to accept connections" in line:
            break
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


Block = Callable[[int], tuple[float, float]]  # n calls → (CPU seconds, wall seconds)


def sync_block(call: Callable[[int], Any]) -> Block:
    def run(n: int) -> tuple[float, float]:
        c0, t0 = time.thread_time(), time.perf_counter()
        for i in range(n):
            call(i)
        return time.thread_time() - c0, time.perf_counter() - t0
    return run


def async_block(loop: asyncio.AbstractEventLoop, call: Callable[[int], Any]) -> Block:
    async def many(n: int) -> None:
        for i in range(n):
            await call(i)

    def run(n: int) -> tuple[float, float]:
        c0, t0 = time.thread_time(), time.perf_counter()
        loop.run_until_complete(many(n))
        return time.thread_time() - c0, time.perf_counter() - t0
    return run


def measure(block: Block, probe_cls: type[Any], calls: int, blocks: int) -> tuple[float, ...]:
    """CPU µs/call without and with the probe (medians), the median, min and max of the
    per-pair CPU difference, and the median per-pair wall-clock difference."""
    block(max(10, calls // 10))  # warm-up: connections opened, code paths imported
    off: list[tuple[float, float]] = []
    on: list[tuple[float, float]] = []
    for _ in range(blocks):
        off.append(block(calls))
        with probe_cls() as probe:
            probe.begin_op()
            on.append(block(calls))
            op = probe.end_op()
            assert op.total == calls, (op.total, calls)  # every call was counted
    us = 1e6 / calls
    cpu = [(b[0] - a[0]) * us for a, b in zip(off, on, strict=True)]
    wall = [(b[1] - a[1]) * us for a, b in zip(off, on, strict=True)]
    return (statistics.median(a[0] for a in off) * us, statistics.median(b[0] for b in on) * us,
            statistics.median(cpu), min(cpu), max(cpu), statistics.median(wall))


def door_cost(record: Callable[[], None], probe_cls: type[Any], locate: bool,
              n: int = 20_000) -> float:
    """CPU µs per call of a door's work, the best of five runs."""
    best = float("inf")
    for _ in range(5):
        with probe_cls(locate=locate) as probe:
            probe.begin_op()
            c0 = time.thread_time()
            for _ in range(n):
                record()
            best = min(best, time.thread_time() - c0)
            probe.end_op()
    return best / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--blocks", type=int, default=10)
    args = ap.parse_args()

    import aiohttp
    import httpx
    import requests
    import urllib3

    rows: list[tuple[str, tuple[float, ...]]] = []
    with http_server() as url, redis_server() as redis_port:
        port = int(url.rsplit(":", 1)[1])
        session = requests.Session()
        pool = urllib3.PoolManager()
        client = httpx.Client()
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def raw(i: int) -> None:
            conn.request("GET", f"/items/{i}")
            conn.getresponse().read()

        def urlopen(i: int) -> None:
            with urllib.request.urlopen(f"{url}/items/{i}") as r:
                r.read()

        clients: list[tuple[str, Block, type[Any]]] = [
            ("http.client", sync_block(raw), HttpProbe),
            ("urllib.request", sync_block(urlopen), HttpProbe),
            ("urllib3", sync_block(lambda i: pool.request("GET", f"{url}/items/{i}")), HttpProbe),
            ("requests", sync_block(lambda i: session.get(f"{url}/items/{i}")), HttpProbe),
            ("httpx (sync)", sync_block(lambda i: client.get(f"{url}/items/{i}")), HttpProbe),
        ]
        loop = asyncio.new_event_loop()
        aclient = loop.run_until_complete(_make(httpx.AsyncClient))
        asession = loop.run_until_complete(_make(aiohttp.ClientSession))

        async def aio_get(i: int) -> None:
            async with asession.get(f"{url}/items/{i}") as r:
                await r.read()

        clients += [
            ("httpx (async)", async_block(loop, lambda i: aclient.get(f"{url}/items/{i}")),
             HttpProbe),
            ("aiohttp", async_block(loop, aio_get), HttpProbe),
        ]
        rclient: Any = None
        arclient: Any = None
        if redis_port is not None:
            import redis
            import redis.asyncio

            rclient = redis.Redis(host="127.0.0.1", port=redis_port)
            arclient = redis.asyncio.Redis(host="127.0.0.1", port=redis_port)
            clients += [
                ("redis-py (sync)", sync_block(lambda i: rclient.get(f"item:{i}")), CacheProbe),
                ("redis-py (asyncio)", async_block(loop, lambda i: arclient.get(f"item:{i}")),
                 CacheProbe),
            ]
        for name, block, probe_cls in clients:
            rows.append((name, measure(block, probe_cls, args.calls, args.blocks)))
        loop.run_until_complete(aclient.aclose())
        loop.run_until_complete(asession.close())
        if arclient is not None:
            loop.run_until_complete(arclient.aclose())
            rclient.close()
        loop.close()
        conn.close()
        client.close()
        session.close()

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"{args.blocks} block pairs of {args.calls} calls per client\n")
    print(f"{'client':<20}{'CPU µs/call':>12}{'with probe':>12}{'probe CPU µs':>14}"
          f"{'range over pairs':>20}{'wall Δ µs':>11}")
    for name, (off, on, diff, lo, hi, wall) in rows:
        print(f"{name:<20}{off:>12.1f}{on:>12.1f}{diff:>14.1f}{f'{lo:.1f} … {hi:.1f}':>20}"
              f"{wall:>11.1f}")

    print("\nthe door alone (no I/O), CPU µs per call (best of 5 × 20,000):")
    for label, record, probe_cls in [
        ("record_http", lambda: record_http("GET", "http://api.example:8000/items/42?x=1"),
         HttpProbe),
        ("record_command", lambda: record_command(("GET", "item:42")), CacheProbe),
    ]:
        located = door_cost(record, probe_cls, True)
        bare = door_cost(record, probe_cls, False)
        print(f"  {label:<16} with location {located:6.2f}   without {bare:6.2f}")


async def _make(factory: Callable[[], Any]) -> Any:
    return factory()  # an aiohttp session must be made inside its loop


if __name__ == "__main__":
    main()
