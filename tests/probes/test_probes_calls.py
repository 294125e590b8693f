"""The HTTP and cache call probes against real servers on 127.0.0.1: for every supported
client, code that makes exactly k calls per operation is counted as k — in total, per
method, per host and per ``pg.phase`` — and the server agrees on what it received."""

from __future__ import annotations

import asyncio
import http.client
import inspect
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import redis
import redis.asyncio
import requests
import urllib3

import perfgate as pg
from _probe_servers import CountingServer, http_server, redis_binary, redis_server
from perfgate.probes import (
    CacheProbe,
    HttpProbe,
    calls_pass,
    count_cache_calls,
    count_http_calls,
    normalize_ids,
    normalize_url,
)

HERE = Path(__file__).name
OPS = 3  # calls of the operation in a calls pass


def line_of(fn: Callable[..., Any], marker: str) -> str:
    """``file:line`` of the line in ``fn``'s source that contains ``marker``."""
    lines, start = inspect.getsourcelines(fn)
    for i, text in enumerate(lines):
        if marker in text:
            return f"{HERE}:{start + i}"
    raise AssertionError(marker)


@pytest.fixture(scope="module")
def server() -> Iterator[CountingServer]:
    with http_server() as s:
        yield s


@pytest.fixture(scope="module")
def redis_port(require_system: Callable[[str], Any]) -> Iterator[int]:
    binary = redis_binary()
    if binary is None:
        require_system("redis-server is not installed; scripts/system-deps installs it")
    assert binary is not None
    with redis_server(binary) as port:
        yield port


# --------------------------------------------------------------------------- normalising


@pytest.mark.parametrize(("url", "expected"), [
    ("http://api.example/items/42", "http://api.example/items/{id}"),
    ("https://api.example:443/u/7/orders/123?page=3&sort=asc#top",
     "https://api.example/u/{id}/orders/{id}?page={}&sort={}"),
    ("http://127.0.0.1:8000/v2/doc/3f2b8a1c-9d4e-4f6a-8b2c-1d2e3f4a5b6c",
     "http://127.0.0.1:8000/v2/doc/{id}"),
    ("http://h/blob/0123456789abcdef0123", "http://h/blob/{id}"),
    ("http://[::1]:9000/", "http://[::1]:9000/"),
    ("http://h", "http://h/"),
])
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_normalize_ids_keeps_words_with_digits() -> None:
    assert normalize_ids("user:42:cart") == "user:{id}:cart"
    assert normalize_ids("v2/utf8/item_9/x1") == "v2/utf8/item_9/x1"


# --------------------------------------------------------------------------- HTTP clients

# Each client's operation: k GETs of /items/<i> inside the phase "fetch", then one POST
# inside the phase "save" — k + 1 requests per operation.


def _check_http(server: CountingServer, op: Callable[..., Any], k: int, get_line: str,
                host: str = "127.0.0.1") -> None:
    before = server.total
    cp = calls_pass(op, calls=OPS)
    assert server.total - before == OPS * (k + 1)  # the server saw what the probe counted
    assert [o.total for o in cp.http.ops] == [k + 1] * OPS
    m = cp.metrics()
    assert m["http_calls"].value == k + 1 and m["http_calls"].n == OPS
    assert m["http_calls.GET"].value == k
    assert m["http_calls.POST"].value == 1
    assert m["http_calls.fetch"].value == k
    assert m["http_calls.save"].value == 1
    assert m[f"http_calls.host={host}"].value == k + 1
    assert m["cache_calls"].value == 0
    target = f"GET {server.url}/items/{{id}}"
    assert cp.http.targets()[target] == k
    loc = cp.http.location_of(target)
    assert loc is not None and loc.endswith(get_line), loc


def test_requests(server: CountingServer) -> None:
    session = requests.Session()

    def op() -> None:
        with pg.phase("fetch"):
            for i in range(4):
                session.get(f"{server.url}/items/{i}").raise_for_status()  # GET-requests
        with pg.phase("save"):
            session.post(f"{server.url}/orders", json={"n": 4}).raise_for_status()

    _check_http(server, op, 4, line_of(op, "GET-requests"))
    session.close()


def test_requests_counts_each_redirect_hop(server: CountingServer) -> None:
    with count_http_calls() as calls:
        r = requests.get(f"{server.url}/redirect")
    assert r.status_code == 200
    assert calls.count == 2
    assert calls.targets == {f"GET {server.url}/redirect": 1, f"GET {server.url}/items/{{id}}": 1}


def test_urllib3(server: CountingServer) -> None:
    pool = urllib3.PoolManager()

    def op() -> None:
        with pg.phase("fetch"):
            for i in range(2):
                assert pool.request("GET", f"{server.url}/items/{i}").status == 200  # GET-u3
        with pg.phase("save"):
            pool.request("POST", f"{server.url}/orders", body=b"{}")

    _check_http(server, op, 2, line_of(op, "GET-u3"))
    pool.clear()


def test_urllib_request(server: CountingServer) -> None:
    def op() -> None:
        with pg.phase("fetch"):
            for i in range(3):
                with urllib.request.urlopen(f"{server.url}/items/{i}") as r:  # GET-urllib
                    r.read()
        with pg.phase("save"):
            req = urllib.request.Request(f"{server.url}/orders", data=b"{}", method="POST")
            with urllib.request.urlopen(req) as r:
                r.read()

    _check_http(server, op, 3, line_of(op, "GET-urllib"))


def test_http_client_directly(server: CountingServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])

    def op() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        with pg.phase("fetch"):
            conn.request("GET", "/items/1")  # GET-http-client
            conn.getresponse().read()
        with pg.phase("save"):
            conn.request("POST", "/orders", body=b"{}")
            conn.getresponse().read()
        conn.close()

    _check_http(server, op, 1, line_of(op, "GET-http-client"))


def test_httpx_sync(server: CountingServer) -> None:
    client = httpx.Client()

    def op() -> None:
        with pg.phase("fetch"):
            for i in range(5):
                client.get(f"{server.url}/items/{i}").raise_for_status()  # GET-httpx
        with pg.phase("save"):
            client.post(f"{server.url}/orders", json={})

    _check_http(server, op, 5, line_of(op, "GET-httpx"))
    client.close()


def test_httpx_async(server: CountingServer) -> None:
    async def op() -> None:
        async with httpx.AsyncClient() as client:
            with pg.phase("fetch"):
                for i in range(3):
                    (await client.get(f"{server.url}/items/{i}")).raise_for_status()  # GET-ax
            with pg.phase("save"):
                await client.post(f"{server.url}/orders", json={})

    _check_http(server, op, 3, line_of(op, "GET-ax"))


def test_httpx_async_concurrent_requests(server: CountingServer) -> None:
    async def op() -> None:
        async with httpx.AsyncClient() as client:
            with pg.phase("fetch"):
                await asyncio.gather(*(client.get(f"{server.url}/items/{i}")  # GET-gather
                                       for i in range(6)))
            with pg.phase("save"):
                await client.post(f"{server.url}/orders", json={})

    _check_http(server, op, 6, line_of(op, "GET-gather"))


def test_aiohttp(server: CountingServer) -> None:
    async def op() -> None:
        async with aiohttp.ClientSession() as session:
            with pg.phase("fetch"):
                for i in range(4):
                    async with session.get(f"{server.url}/items/{i}") as r:  # GET-aiohttp
                        await r.read()
            with pg.phase("save"):
                async with session.post(f"{server.url}/orders", json={}) as r:
                    await r.read()

    _check_http(server, op, 4, line_of(op, "GET-aiohttp"))


def test_aiohttp_gathered_requests_are_located(server: CountingServer) -> None:
    async def op() -> None:
        async with aiohttp.ClientSession() as session:
            with pg.phase("fetch"):
                for r in await asyncio.gather(*(session.get(f"{server.url}/items/{i}")  # GATHER
                                                for i in range(3))):
                    r.release()
            with pg.phase("save"):
                async with session.post(f"{server.url}/orders", json={}) as r:
                    await r.read()

    _check_http(server, op, 3, line_of(op, "# GATHER"))


def test_aiohttp_session_made_before_the_probe(server: CountingServer) -> None:
    async def run() -> int:
        async with aiohttp.ClientSession() as session:
            with count_http_calls() as calls:
                for i in range(2):
                    async with session.get(f"{server.url}/items/{i}") as r:
                        await r.read()
            return calls.count

    assert asyncio.run(run()) == 2


def test_nested_phases_count_like_time_and_queries(server: CountingServer) -> None:
    # A call counts toward every phase open around it, as phase times and queries do:
    # the outer phase's count includes the inner one's.
    def op() -> None:
        with pg.phase("page"):
            with pg.phase("fetch"):
                requests.get(f"{server.url}/items/1")
            requests.post(f"{server.url}/orders")
        requests.get(f"{server.url}/after")

    m = calls_pass(op, calls=1).metrics()
    assert (m["http_calls"].value, m["http_calls.page"].value, m["http_calls.fetch"].value) \
        == (3, 2, 1)


def test_calls_from_worker_threads_are_counted_and_located(server: CountingServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def fetch(i: int) -> int:
        return requests.get(f"{server.url}/items/{i}").status_code  # GET-thread

    with count_http_calls() as calls, ThreadPoolExecutor(3) as pool:
        assert list(pool.map(fetch, range(6))) == [200] * 6
    assert calls.count == 6
    assert calls.location_of(f"GET {server.url}/items/{{id}}").endswith(  # type: ignore[union-attr]
        line_of(fetch, "GET-thread"))


def test_doors_are_removed_when_the_last_probe_ends() -> None:
    originals = (http.client.HTTPConnection.putrequest, httpx.HTTPTransport.handle_request,
                 httpx.AsyncHTTPTransport.handle_async_request, aiohttp.BaseConnector.connect,
                 redis.Redis.execute_command, redis.asyncio.Redis.execute_command)
    with HttpProbe(), HttpProbe(), CacheProbe():
        assert http.client.HTTPConnection.putrequest is not originals[0]
        assert redis.Redis.execute_command is not originals[4]
    after = (http.client.HTTPConnection.putrequest, httpx.HTTPTransport.handle_request,
             httpx.AsyncHTTPTransport.handle_async_request, aiohttp.BaseConnector.connect,
             redis.Redis.execute_command, redis.asyncio.Redis.execute_command)
    assert after == originals


def test_nested_probes_both_count(server: CountingServer) -> None:
    with count_http_calls() as outer:
        requests.get(f"{server.url}/a")
        with count_http_calls() as inner:
            requests.get(f"{server.url}/b")
    assert (outer.count, inner.count) == (2, 1)


def test_no_probe_no_count(server: CountingServer) -> None:
    with count_http_calls() as calls:
        pass
    requests.get(f"{server.url}/after")
    assert calls.count == 0


# --------------------------------------------------------------------------- Redis


def test_redis_sync(redis_port: int) -> None:
    r = redis.Redis(host="127.0.0.1", port=redis_port)
    r.mset({f"item:{i}": i for i in range(10)})

    def op() -> None:
        with pg.phase("lookup"):
            for i in range(3):
                r.get(f"item:{i}")  # GET-redis
        with pg.phase("store"):
            r.set("last", 1)

    cp = calls_pass(op, calls=OPS)
    m = cp.metrics()
    assert [o.total for o in cp.cache.ops] == [4] * OPS
    assert m["cache_calls"].value == 4
    assert m["cache_calls.GET"].value == 3 and m["cache_calls.SET"].value == 1
    assert m["cache_calls.lookup"].value == 3 and m["cache_calls.store"].value == 1
    assert m["cache_calls.host=127.0.0.1"].value == 4
    assert m["http_calls"].value == 0
    assert cp.cache.targets() == {"GET item:{id}": 3, "SET last": 1}
    loc = cp.cache.location_of("GET item:{id}")
    assert loc is not None and loc.endswith(line_of(op, "GET-redis"))
    r.close()


def test_redis_pipeline_counts_each_queued_command(redis_port: int) -> None:
    r = redis.Redis(host="127.0.0.1", port=redis_port)
    with count_cache_calls() as cache:
        pipe = r.pipeline()
        for i in range(5):
            pipe.get(f"item:{i}")
        pipe.execute()
        r.mget([f"item:{i}" for i in range(5)])
    assert cache.count == 6
    assert cache.names == {"GET": 5, "MGET": 1}
    r.close()


def test_redis_asyncio(redis_port: int) -> None:
    async def op() -> None:
        r = redis.asyncio.Redis(host="127.0.0.1", port=redis_port)
        with pg.phase("lookup"):
            for i in range(2):
                await r.get(f"item:{i}")  # GET-aredis
        with pg.phase("store"):
            await r.incr("hits")
            async with r.pipeline(transaction=True) as pipe:
                await pipe.set("a", 1).set("b", 2).execute()
        await r.aclose()

    cp = calls_pass(op, calls=OPS)
    m = cp.metrics()
    assert [o.total for o in cp.cache.ops] == [5] * OPS
    assert m["cache_calls"].value == 5
    assert m["cache_calls.GET"].value == 2 and m["cache_calls.SET"].value == 2
    assert m["cache_calls.INCRBY"].value == 1  # what redis-py sends for incr()
    assert m["cache_calls.lookup"].value == 2 and m["cache_calls.store"].value == 3
    loc = cp.cache.location_of("GET item:{id}")
    assert loc is not None and loc.endswith(line_of(op, "GET-aredis"))


def test_redis_handshake_is_not_counted(redis_port: int) -> None:
    with count_cache_calls() as cache:
        r = redis.Redis(host="127.0.0.1", port=redis_port, client_name="perfgate-test")
        assert r.ping()
        r.close()
    assert cache.names == {"PING": 1}


def test_redis_asyncio_gathered_commands_are_located(redis_port: int) -> None:
    async def op() -> None:
        r = redis.asyncio.Redis(host="127.0.0.1", port=redis_port)
        await asyncio.gather(*(r.get(f"item:{i}") for i in range(4)))  # GATHER-redis
        await r.aclose()

    cp = calls_pass(op, calls=1)
    assert cp.cache.targets() == {"GET item:{id}": 4}
    loc = cp.cache.location_of("GET item:{id}")
    assert loc is not None and loc.endswith(line_of(op, "GATHER-redis"))


def test_a_refused_request_is_still_a_call() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with count_http_calls() as calls:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/x")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/x")
    assert calls.names == {"GET": 2}
