"""The fault proxy in front of a real PostgreSQL and a real Redis: what their clients see."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from perfgate.faults import Proxy


@pytest.fixture
def pg_proxy(postgres_port: int) -> Iterator[Proxy]:
    with Proxy(f"127.0.0.1:{postgres_port}", name="db") as p:
        yield p


def _pg(proxy: Proxy, pg_database: Callable[[str], str]) -> psycopg.Connection:
    url = pg_database("faults").replace(
        f":{proxy.upstream_port}/", f":{proxy.port}/")
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


@pytest.mark.slow
def test_postgres_query_latency_is_the_toxic_per_round_trip(
        pg_proxy: Proxy, pg_database: Callable[[str], str]) -> None:
    with _pg(pg_proxy, pg_database) as conn:
        conn.execute("SELECT 1").fetchone()
        with pg_proxy.toxic(latency="50ms"):
            t = time.perf_counter()
            for _ in range(3):
                assert conn.execute("SELECT 1").fetchone() == (1,)
            assert time.perf_counter() - t >= 3 * 0.050
        assert conn.execute("SELECT 2").fetchone() == (2,)


@pytest.mark.slow
def test_postgres_down_then_up(pg_proxy: Proxy, pg_database: Callable[[str], str]) -> None:
    conn = _pg(pg_proxy, pg_database)
    with pg_proxy.down():
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError):
            _pg(pg_proxy, pg_database)
    conn.close()
    with _pg(pg_proxy, pg_database) as again:
        assert again.execute("SELECT 1").fetchone() == (1,)


@pytest.fixture
def redis_proxy(redis_port: int) -> Iterator[Proxy]:
    with Proxy(f"127.0.0.1:{redis_port}", name="cache", seed=1) as p:
        yield p


def _redis(proxy: Proxy, timeout: float = 5.0) -> redis.Redis:
    # no retries: the test sees what one call sees
    return redis.Redis(host="127.0.0.1", port=proxy.port, socket_timeout=timeout,
                       socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))


def test_redis_latency(redis_proxy: Proxy) -> None:
    r = _redis(redis_proxy)
    r.set("k", "v")
    with redis_proxy.toxic(latency="30ms"):
        t = time.perf_counter()
        assert r.get("k") == b"v"
        assert time.perf_counter() - t >= 0.030
    r.close()


def test_redis_reset_peer_is_a_connection_error(redis_proxy: Proxy) -> None:
    with redis_proxy.toxic("reset_peer", after=0):
        r = _redis(redis_proxy)
        with pytest.raises(redis.ConnectionError):
            r.ping()
        r.close()
    r = _redis(redis_proxy)
    assert r.ping()
    r.close()


def test_redis_timeout_toxic_times_the_client_out(redis_proxy: Proxy) -> None:
    r = _redis(redis_proxy, timeout=0.2)
    assert r.ping()
    with redis_proxy.toxic(timeout=0), pytest.raises(redis.TimeoutError):
        r.get("k")
    r.close()


def test_redis_limit_data_cuts_a_big_value(redis_proxy: Proxy) -> None:
    r = _redis(redis_proxy)
    r.set("big", b"x" * 100_000)
    r.close()
    with redis_proxy.toxic(limit_data="10kB"):
        r = _redis(redis_proxy)
        with pytest.raises(redis.ConnectionError):
            r.get("big")
        r.close()
