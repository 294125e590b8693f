"""How exact is the fault proxy, and what does it cost?

An asyncio echo server and ``perfgate proxy`` run as processes of their own; this process
is the client: ``--conns`` blocking sockets in threads, each sending a 64-byte ping and
waiting for its echo. Printed:

- the latency a ``latency`` toxic adds, at p50 and p99, for 50 ms and 200 ms toxics:
  round trip through the toxic proxy minus the same percentile through the proxy without a
  toxic, paced so that both see the same request rate (goal: within 1 ms of the toxic);
- the proxy's own timer error: how late it wrote delayed data (measured inside the proxy,
  free of the client's and the echo server's scheduling noise);
- the proxy's own overhead at p50: through the proxy minus direct, without toxic;
- round trips per second through the proxy beside the same clients on a direct connection.

    .venv/bin/python benchmarks/proxy_accuracy.py [--samples 400] [--conns 20] [--seconds 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ECHO = r"""
import asyncio, sys
async def echo(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except ConnectionError:
        pass
    w.close()
async def main():
    s = await asyncio.start_server(echo, "127.0.0.1", 0)
    print(s.sockets[0].getsockname()[1], flush=True)
    await s.serve_forever()
asyncio.run(main())
"""
PAYLOAD = b"p" * 64
SRC = str(Path(__file__).resolve().parents[1] / "src")


def _ping(c: socket.socket) -> float:
    t = time.perf_counter()
    c.sendall(PAYLOAD)
    got = 0
    while got < len(PAYLOAD):
        d = c.recv(65536)
        if not d:
            raise ConnectionError("closed")
        got += len(d)
    return time.perf_counter() - t


def _connect(port: int) -> socket.socket:
    c = socket.create_connection(("127.0.0.1", port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def round_trips(port: int, samples: int, conns: int, pace: float = 0.0) -> list[float]:
    """``samples`` round trips spread over ``conns`` connections in threads, each waiting
    ``pace`` between its pings (so that a reference without toxic sees the same load as a
    run with one: a toxic's connections are idle while they wait)."""
    out: list[float] = []
    lock = threading.Lock()
    per = max(1, samples // conns)

    def worker() -> None:
        with _connect(port) as c:
            _ping(c)  # warm the connection
            mine = []
            for _ in range(per):
                mine.append(_ping(c))
                if pace:
                    time.sleep(pace)
        with lock:
            out.extend(mine)

    ts = [threading.Thread(target=worker) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sorted(out)


def throughput(port: int, conns: int, seconds: float) -> float:
    count = [0] * conns
    end = time.perf_counter() + seconds

    def worker(i: int) -> None:
        with _connect(port) as c:
            while time.perf_counter() < end:
                _ping(c)
                count[i] += 1

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(count) / seconds


def q(xs: list[float], p: float) -> float:
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def ms(x: float) -> str:
    return f"{x * 1e3:8.3f} ms"


class ProxyProc:
    def __init__(self, upstream: int) -> None:
        env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "200"}
        self.p = subprocess.Popen(
            [sys.executable, "-m", "perfgate", "proxy", "127.0.0.1:0",
             f"127.0.0.1:{upstream}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        assert self.p.stdout is not None
        self.port = int(self.p.stdout.readline().split()[2].rsplit(":", 1)[1])

    def command(self, line: str) -> str:
        assert self.p.stdin is not None
        assert self.p.stdout is not None
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()  # the acknowledgement: the change is live

    def close(self) -> None:
        self.p.kill()
        self.p.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    echo = subprocess.Popen([sys.executable, "-c", ECHO], stdout=subprocess.PIPE, text=True)
    assert echo.stdout is not None
    eport = int(echo.stdout.readline())
    proxy = ProxyProc(eport)
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f}  (cores: {os.cpu_count()})")
        direct = round_trips(eport, a.samples, a.conns)
        plain = round_trips(proxy.port, a.samples, a.conns)
        print(f"\nround trip, {len(direct)} samples over {a.conns} connections")
        print(f"  direct          p50 {ms(q(direct, .5))}  p99 {ms(q(direct, .99))}")
        print(f"  proxy, no toxic p50 {ms(q(plain, .5))}  p99 {ms(q(plain, .99))}")
        print(f"  proxy overhead  p50 {ms(q(plain, .5) - q(direct, .5))}")
        print("\nadded latency (through the toxic minus through the proxy without one, "
              "paced alike)")
        for lat in (0.050, 0.200):
            plain = round_trips(proxy.port, a.samples, a.conns, pace=lat)
            proxy.command(f"add latency={lat * 1e3:g}ms,name=lat")
            tox = round_trips(proxy.port, a.samples, a.conns)
            proxy.command("remove lat")
            timer = proxy.command("stats").partition("; ")[2]
            e50 = q(tox, .5) - q(plain, .5) - lat
            e99 = q(tox, .99) - q(plain, .99) - lat
            ok = "ok" if abs(e50) <= 1e-3 and abs(e99) <= 1e-3 else "OUTSIDE 1 ms"
            print(f"  toxic {lat * 1e3:4.0f} ms: added p50 {ms(q(tox, .5) - q(plain, .5))} "
                  f"(error {e50 * 1e3:+.3f} ms), added p99 {ms(q(tox, .99) - q(plain, .99))} "
                  f"(error {e99 * 1e3:+.3f} ms)  {ok}\n      proxy's own {timer}")
        print(f"\nround trips/s, {a.conns} connections, {a.seconds:g} s each, "
              f"{a.rounds} alternating rounds (median)")
        ds, ps = [], []
        for _ in range(a.rounds):  # alternate, so that a neighbour's burst hits both sides
            ds.append(throughput(eport, a.conns, a.seconds))
            ps.append(throughput(proxy.port, a.conns, a.seconds))
        d, p = statistics.median(ds), statistics.median(ps)
        print(f"  direct {d:10.0f}/s  (rounds: {', '.join(f'{x:.0f}' for x in ds)})\n"
              f"  proxy  {p:10.0f}/s  (rounds: {', '.join(f'{x:.0f}' for x in ps)})  "
              f"({p / d:.2f}× direct)")
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    finally:
        proxy.close()
        echo.kill()
        echo.wait()


if __name__ == "__main__":
    main()
