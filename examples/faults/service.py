"""A small shop service backed by PostgreSQL, a Redis cache and a downstream pricing API.

    GET /orders/{id}    uncached: 3 queries in a row (the order, its lines, the customer's
                        order count) — a slow database costs 3 × its latency here
    GET /products/{id}  Redis first; on a miss *or when Redis fails* one query, then cache
                        it — a cache outage costs the fallback path, not errors
    GET /quote/{id}     the pricing API through a circuit breaker (200 ms timeout); when it
                        fails or the breaker is open, the last known price, marked degraded
    GET /breaker        the breaker's state and its logged transitions

Run (each prints ``listening PORT`` once its socket accepts connections)::

    python examples/faults/service.py downstream --port 0
    python examples/faults/service.py serve --db postgresql://… --redis 127.0.0.1:6379 \\
        --downstream http://127.0.0.1:8081 --port 0 [--reset-timeout 2]

Starlette on uvicorn; psycopg (async, autocommit: one round trip per query), redis-py's
asyncio client (no retries: a failure is seen at once), httpx for the downstream call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis.asyncio as aioredis
import uvicorn
from redis.backoff import NoBackoff
from redis.retry import Retry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).parent))
from breaker import BreakerOpen, CircuitBreaker

QUERIES_PER_ORDER = 3
DOWNSTREAM_TIMEOUT = 0.2
SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (id int PRIMARY KEY, name text);
CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, customer int, total numeric);
CREATE TABLE IF NOT EXISTS lines (order_id int, sku int, qty int);
CREATE TABLE IF NOT EXISTS products (id int PRIMARY KEY, name text, price numeric);
"""


def seed(dsn: str, n: int = 200) -> None:
    """Create and fill the tables (directly, not through any proxy)."""
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(SCHEMA)
        if c.execute("SELECT count(*) FROM orders").fetchone() != (0,):
            return
        c.execute("INSERT INTO customers SELECT i, 'c' || i FROM generate_series(1, 50) i")
        c.execute(f"INSERT INTO orders SELECT i, 1 + i % 50, i * 1.5 "
                  f"FROM generate_series(1, {n}) i")
        c.execute(f"INSERT INTO lines SELECT 1 + i % {n}, i, 1 + i % 3 "
                  f"FROM generate_series(1, {3 * n}) i")
        c.execute(f"INSERT INTO products SELECT i, 'p' || i, 9.99 + i "
                  f"FROM generate_series(1, {n}) i")


class Pool:
    """A fixed set of connections opened up front (a slow database must not also mean a
    slow connect per request); big enough that 20 requests/s at +0.9 s do not queue."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn, self.size = dsn, size
        self.q: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.q.put_nowait(await psycopg.AsyncConnection.connect(self.dsn, autocommit=True))

    @contextlib.asynccontextmanager
    async def conn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        c = await self.q.get()
        try:
            yield c
        finally:
            self.q.put_nowait(c)


def create_app(db: str, redis_addr: str, downstream: str, pool_size: int = 32,
               reset_timeout: float = 2.0, threshold: int = 3) -> Starlette:
    pool = Pool(db, pool_size)
    host, _, port = redis_addr.rpartition(":")
    cache = aioredis.Redis(host=host, port=int(port), socket_timeout=0.1,
                           socket_connect_timeout=0.1, retry=Retry(NoBackoff(), 0))
    http = httpx.AsyncClient(base_url=downstream, timeout=DOWNSTREAM_TIMEOUT)
    breaker = CircuitBreaker(threshold=threshold, reset_timeout=reset_timeout)
    stats = {"cache_fallbacks": 0, "degraded": 0}
    last_price: dict[int, float] = {}

    async def order(request: Request) -> JSONResponse:
        oid = int(request.path_params["id"])
        async with pool.conn() as c:
            o = await (await c.execute("SELECT id, customer, total FROM orders WHERE id = %s",
                                       (oid,))).fetchone()
            if o is None:
                return JSONResponse({"error": "no such order"}, 404)
            lines = await (await c.execute(
                "SELECT sku, qty FROM lines WHERE order_id = %s", (oid,))).fetchall()
            n = await (await c.execute("SELECT count(*) FROM orders WHERE customer = %s",
                                       (o[1],))).fetchone()
        return JSONResponse({"id": o[0], "total": float(o[2]), "lines": len(lines),
                             "customer_orders": n[0] if n else 0})

    async def product(request: Request) -> JSONResponse:
        pid = int(request.path_params["id"])
        key = f"product:{pid}"
        try:
            hit = await cache.get(key)
            if hit is not None:
                return JSONResponse({**json.loads(hit), "cache": "hit"})
        except (aioredis.ConnectionError, aioredis.TimeoutError, OSError):
            stats["cache_fallbacks"] += 1
            return JSONResponse({**await _load_product(pid), "cache": "down"})
        row = await _load_product(pid)
        with contextlib.suppress(aioredis.ConnectionError, aioredis.TimeoutError, OSError):
            await cache.set(key, json.dumps(row), ex=300)
        return JSONResponse({**row, "cache": "miss"})

    async def _load_product(pid: int) -> dict[str, Any]:
        async with pool.conn() as c:
            r = await (await c.execute("SELECT id, name, price FROM products WHERE id = %s",
                                       (pid,))).fetchone()
        return {"id": pid, "name": r[1], "price": float(r[2])} if r else {"id": pid}

    async def quote(request: Request) -> JSONResponse:
        pid = int(request.path_params["id"])

        async def fetch() -> float:
            r = await http.get(f"/price/{pid}")
            r.raise_for_status()
            return float(r.json()["price"])

        try:
            price = await breaker.call(fetch)
            last_price[pid] = price
            return JSONResponse({"id": pid, "price": price, "degraded": False})
        except (BreakerOpen, httpx.HTTPError):
            stats["degraded"] += 1
            return JSONResponse({"id": pid, "price": last_price.get(pid, 10.0),
                                 "degraded": True, "breaker": breaker.state})

    async def breaker_state(request: Request) -> JSONResponse:
        return JSONResponse({"state": breaker.state, "reset_timeout": breaker.reset_timeout,
                             "log": breaker.log, **stats})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        yield
        await http.aclose()
        await cache.aclose()

    return Starlette(routes=[
        Route("/orders/{id:int}", order), Route("/products/{id:int}", product),
        Route("/quote/{id:int}", quote), Route("/breaker", breaker_state),
    ], lifespan=lifespan)


def create_downstream() -> Starlette:
    async def price(request: Request) -> JSONResponse:
        return JSONResponse({"price": 10.0 + int(request.path_params["id"]) % 7})

    return Starlette(routes=[Route("/price/{id:int}", price)])


def serve(app: Starlette, port: int) -> None:
    """Bind first and say so: the socket accepts (into its backlog) from that moment."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(512)
    print(f"listening {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, loop="asyncio", log_level="warning", access_log=False,
                            lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["serve", "downstream"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--db")
    ap.add_argument("--redis")
    ap.add_argument("--downstream")
    ap.add_argument("--reset-timeout", type=float, default=2.0)
    a = ap.parse_args()
    if a.role == "downstream":
        serve(create_downstream(), a.port)
    else:
        serve(create_app(a.db, a.redis, a.downstream, reset_timeout=a.reset_timeout), a.port)


if __name__ == "__main__":
    main()
