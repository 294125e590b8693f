"""The demo suite that `perfgate demo` runs: a small order-processing service, measured.

Every case here is written the way a team would write its own suite file.
"""

from __future__ import annotations

import asyncio
import json
import threading

import perfgate as pg

ORDERS = [{"id": i, "sku": i % 17, "qty": 1 + i % 5, "price": 9.99 + i % 7} for i in range(2_000)]
PAYLOAD = json.dumps(ORDERS)


@pg.bench(checks=["median < 50ms", "alloc_bytes <= 5MB"])
def parse_orders() -> None:
    """Decode a 2,000-order JSON payload."""
    json.loads(PAYLOAD)


@pg.bench(setup=lambda: list(reversed(ORDERS)), checks=["p(95) < 20ms warn 10ms"])
def sort_orders(orders: list[dict[str, float]]) -> None:
    """Sort orders by price (the setup builds the list once, untimed)."""
    sorted(orders, key=lambda o: o["price"])


@pg.bench(checks=["median < 100ms", "time.total < 100ms"])
def import_batch() -> None:
    """One import in named phases: parse, validate, total."""
    with pg.phase("parse"):
        rows = json.loads(PAYLOAD)
    with pg.phase("validate"):
        bad = [r for r in rows if r["qty"] <= 0]
    with pg.phase("total"):
        sum(r["qty"] * r["price"] for r in rows if r not in bad)


@pg.bench(checks=["median < 5ms"])
async def async_lookup() -> None:
    """An async call path: ten concurrent awaits on the loop."""
    await asyncio.gather(*(asyncio.sleep(0) for _ in range(10)))


class Shift:
    """A shift that two nurses may try to swap at the same instant: one must win."""

    def __init__(self) -> None:
        self.owner = "alice"
        self._lock = threading.Lock()

    def swap(self, new_owner: str) -> None:
        if not self._lock.acquire(blocking=False):
            raise SwapConflict("another swap is in progress")
        try:
            if self.owner != "alice":
                raise SwapConflict("already swapped")
            self.owner = new_owner
        finally:
            self._lock.release()


class SwapConflict(Exception):
    pass


SHIFT = Shift()


@pg.burst_case(n=10, checks=["count(ok) == 1", "count(SwapConflict) == 9"])
def swap_same_shift() -> None:
    """Ten concurrent swaps of one shift: exactly one wins, nine get a clean error."""
    SHIFT.swap("bob")


# --------------------------------------------------------------------------- scaling
# An order store in SQLite. `load_orders` fetches orders with their lines in one JOIN;
# the sweep checks it stays linear and that its query count does not grow with n (no N+1).

import sqlite3  # noqa: E402 - kept beside the code that uses it, for the reader


def _order_db(n: int) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.executescript(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT);"
        "CREATE TABLE lines (order_id INTEGER, sku INTEGER, qty INTEGER);"
    )
    db.executemany("INSERT INTO orders VALUES (?, ?)", [(i, f"c{i % 50}") for i in range(n)])
    db.executemany("INSERT INTO lines VALUES (?, ?, ?)",
                   [(i, s, 1 + s % 3) for i in range(n) for s in range(3)])
    return db


@pg.bench(sizes=[100, 400, 1600, 6400], queries=True, budget=2.0,
          checks=["complexity <= O(n log n)", "complexity(queries) == O(1)", "n_plus_one == 0"])
def load_orders(n: int):  # type: ignore[no-untyped-def]
    """Factory style: build the data for size n (untimed), return the operation to time."""
    db = _order_db(n)

    def op() -> None:
        rows = db.execute(
            "SELECT o.id, o.customer, l.sku, l.qty FROM orders o JOIN lines l ON l.order_id = o.id"
        ).fetchall()
        by_order: dict[int, list[tuple[int, int]]] = {}
        for oid, _cust, sku, qty in rows:
            by_order.setdefault(oid, []).append((sku, qty))

    return op


# --------------------------------------------------------------------------- load
# A tiny HTTP service on 127.0.0.1 (an ephemeral port), loaded at a fixed arrival rate:
# latency counts from each request's intended start, so a stall cannot hide.

import http.server  # noqa: E402
import threading as _threading  # noqa: E402


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stall

    def do_GET(self) -> None:
        body = PAYLOAD[:512].encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


_SERVER = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
_SERVER.daemon_threads = True
_threading.Thread(target=_SERVER.serve_forever, daemon=True).start()
BASE_URL = f"http://127.0.0.1:{_SERVER.server_address[1]}"


@pg.scenario(executor=pg.open(rate="200/s", duration="3s", max_vus=20), base_url=BASE_URL,
             processes=1, checks=["p(95) < 100ms", "error_rate < 1%"])
async def browse_orders(client):  # type: ignore[no-untyped-def]
    """200 requests a second for 3 s against the service above."""
    r = await client.get("/orders")
    pg.expect(r.status == 200, f"status {r.status}")
