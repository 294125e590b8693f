"""The query probe on a real PostgreSQL server, through psycopg.

A throwaway cluster: initdb in a temporary directory, pg_ctl start on 127.0.0.1 at a free
port (as ``nobody`` when the tests run as root: postgres refuses root), stopped and deleted
afterwards. Skips, saying why, only when the server binaries are not installed
(``scripts/system-deps`` installs them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

import perfgate as pg
from perfgate.bench import BenchOptions
from perfgate.probes import count_queries

pytestmark = pytest.mark.slow
QUICK = BenchOptions(rounds=5, iterations=1, warmup=0.0, memory=False)


@pytest.fixture(scope="module")
def dsn(pg_database: Callable[[str], str]) -> str:
    url = pg_database("probe")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table item (id serial primary key, price numeric)")
        conn.execute("insert into item (price) select g * 1.5 from generate_series(1, 64) g")
    return url


class Shop:
    """Holds one wrapped psycopg connection and the size of the working set."""

    def __init__(self, conn: Any, n: int) -> None:
        self.conn, self.n = conn, n


def test_psycopg_wrapper_counts_and_normalises(dsn: str) -> None:
    conn = pg.wrap_connection(psycopg.connect(dsn, autocommit=True))
    try:
        with count_queries() as q:
            with conn.cursor() as cur:
                cur.execute("select price from item where id = %s", (1,))
                assert cur.fetchone() is not None
                cur.execute("select price from item where id = %s", (2,))
            conn.execute("select count(*) from item where price > 10")
        assert q.total == 3
        assert q.statements == {"select price from item where id = ?": 2,
                                "select count(*) from item where price > ?": 1}
    finally:
        conn.close()


def test_psycopg_n_plus_one_in_a_sweep(dsn: str) -> None:
    conns: list[Any] = []

    def setup(n: int) -> Shop:
        conns.append(pg.wrap_connection(psycopg.connect(dsn, autocommit=True)))
        return Shop(conns[-1], n)

    def one_by_one(shop: Shop) -> float:
        ids = [r[0] for r in shop.conn.execute("select id from item order by id limit %s",
                                               (shop.n,))]
        total = 0.0
        for i in ids:
            total += float(shop.conn.execute("select price from item where id = %s",
                                             (i,)).fetchone()[0])  # N+1 here
        return total

    try:
        r = pg.sweep(one_by_one, [4, 8, 16], setup=setup, queries=True, options=QUICK)
    finally:
        for c in conns:
            c.close()
    assert r.error is None, r.error
    assert r.params["clock"] == "wall"  # it waits on the server: CPU time would miss that
    assert [p["metrics"]["queries"]["value"] for p in r.extra["by_size"]] == [5, 9, 17]
    [found] = r.extra["n_plus_one"]
    assert found["statement"] == "select price from item where id = ?"
    assert found["count"] == 16
    assert Path(found["location"].rsplit(":", 1)[0]).name == Path(__file__).name
    assert r.extra["complexity"]["queries"]["class"] == "O(n)"


def test_sqlalchemy_engine_on_postgres(dsn: str) -> None:
    import sqlalchemy as sa
    engine = sa.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with count_queries() as q, engine.connect() as conn:
            for i in range(3):
                conn.execute(sa.text("select price from item where id = :i"), {"i": i})
        assert q.statements == {"select price from item where id = ?": 3}
    finally:
        engine.dispose()
