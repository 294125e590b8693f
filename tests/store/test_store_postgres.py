"""The history store on a real PostgreSQL server: a throwaway cluster on 127.0.0.1.

The cluster is created with initdb in a temporary directory and started with pg_ctl (as the
``nobody`` user when the tests run as root, since postgres refuses to run as root). The
tests skip, saying why, only when the PostgreSQL server binaries are not installed
(``scripts/system-deps`` installs them).
"""

from __future__ import annotations

import multiprocessing
import socket
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from storehelp import make_rs

from perfgate.cli import main
from perfgate.store import open_store

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pg_url(pg_database: Callable[[str], str]) -> str:
    # trust auth ignores the password: it is there to prove it is never shown
    return pg_database("store").replace("perfgate@", "perfgate:s3cr3t-pw@")


def test_round_trip_and_masked_url(pg_url: str) -> None:
    with open_store(pg_url) as store:
        assert "s3cr3t-pw" not in store.display_url
        assert "***" in store.display_url
        a = store.save(make_rs("c1", "2026-11-01T00:00:00+00:00"))
        b = store.save(make_rs("c2", "2026-11-02T00:00:00+00:00"))
        assert [r.id for r in store.runs()][:2] == [b, a]
        back = store.load(a)
    assert back.environment.git_commit == "c1"
    assert back.results[0].metrics["time"].samples is not None
    with open_store(pg_url) as store:  # reopening does not re-create or re-migrate
        assert store.load(b).environment.git_commit == "c2"


def _writer(url: str, tag: str, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    with open_store(url) as store:
        for i in range(10):
            store.save(make_rs(f"pg-{tag}-{i}"))


def test_concurrent_writers(pg_url: str) -> None:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(pg_url, t, barrier)) for t in "xy"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    with open_store(pg_url) as store:
        got = {r.commit for r in store.runs() if (r.commit or "").startswith("pg-")}
    assert got == {f"pg-{t}-{i}" for t in "xy" for i in range(10)}


def test_cli_never_prints_the_password(pg_url: str) -> None:
    r = CliRunner().invoke(main, ["history", "--store", pg_url])
    assert r.exit_code == 0, r.output
    assert "s3cr3t-pw" not in r.output
    bad = pg_url.rsplit(":", 1)[0] + f":{_free_port()}/postgres"  # nothing listens there
    r = CliRunner().invoke(main, ["history", "--store", bad])
    assert r.exit_code == 2
    assert "s3cr3t-pw" not in r.output
    assert "***" in r.output
