"""The query probe on a real PostgreSQL server, through psycopg.

A throwaway cluster: initdb in a temporary directory, pg_ctl start on 127.0.0.1 at a free
port (as ``nobody`` when the tests run as root: postgres refuses root), stopped and deleted
afterwards. Skips, saying why, only when the server binaries are not installed
(``scripts/system-deps`` installs them).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import perfgate as pg
from perfgate.bench import BenchOptions
from perfgate.probes import count_queries

psycopg = pytest.importorskip("psycopg", reason="psycopg is in the 'test' extra")

pytestmark = pytest.mark.slow
QUICK = BenchOptions(rounds=5, iterations=1, warmup=0.0, memory=False)


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
                    "scripts/system-deps installs them")
    tmp = Path(tempfile.mkdtemp(prefix="perfgate-probe-pg-"))
    data = tmp / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start postgres")
        os.chmod(tmp, 0o777)
        run_as = ["runuser", "-u", "nobody", "--"]
    port = _free_port()
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "probe",
                    "--auth=trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(tmp / "log"), "-o", f"-h 127.0.0.1 -p {port} -k {tmp} -F", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        url = f"postgresql://probe@127.0.0.1:{port}/postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create table item (id serial primary key, price numeric)")
            conn.execute("insert into item (price) select g * 1.5 from generate_series(1, 64) g")
        yield url
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=120, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


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
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with count_queries() as q, engine.connect() as conn:
            for i in range(3):
                conn.execute(sa.text("select price from item where id = :i"), {"i": i})
        assert q.statements == {"select price from item where id = ?": 3}
    finally:
        engine.dispose()
