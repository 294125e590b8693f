"""Store inputs (issue 12, points 11 and 12, and names that are not UTF-8).

A libpq ``key=value`` string is PostgreSQL (a real server on 127.0.0.1), never a SQLite file
named after it, and its password is never shown; any other ``key=value`` text is refused.
Refusing someone else's SQLite database leaves it byte for byte as it was (no WAL switch, no
``-wal``/``-shm`` files). A run name that is not UTF-8 is refused before anything runs; a
stored name decoded from such bytes (imported JSON) is saved and listed without a crash.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from rbhelp import no_traceback, run, sha

BENCH = ["bench", "mod:f", "--max-time", "0.02", "--warmup", "0", "--no-memory"]


def _target(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("def f():\n    return sum(range(10))\n")


@pytest.mark.slow
def test_a_libpq_connection_string_is_postgresql(tmp_path: Path,
                                                 pg_database: Callable[[str], str]) -> None:
    url = pg_database("conninfo")  # postgresql://perfgate@127.0.0.1:PORT/conninfo
    port = url.rsplit(":", 1)[1].split("/")[0]
    # trust auth ignores the password: it is there to prove it is never shown
    conninfo = (f"host=127.0.0.1 port={port} user=perfgate password='s3cr3t pw' "
                "dbname=conninfo application_name=perfgate-test")
    _target(tmp_path)
    done = run([*BENCH, "--store", conninfo, "--json", "r.json"], tmp_path)
    assert done.code == 0, done.both
    no_traceback(done)
    assert "s3cr3t" not in done.both and "saved to postgresql+psycopg://perfgate:***@" in done.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py", "r.json"]  # no file
    done = run(["history", "--store", conninfo, "--json"], tmp_path)
    assert done.code == 0, done.both
    assert len(json.loads(done.out)["runs"]) == 1


@pytest.mark.slow
def test_other_key_value_text_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    done = run(["history", "--store", "hots=127.0.0.1 password=s3cr3t dbname=x"], tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    assert "not a libpq connection keyword" in done.err and "s3cr3t" not in done.both
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_refusing_a_foreign_sqlite_file_leaves_it_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "theirs.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        c.execute("INSERT INTO invoices (total) VALUES (12.5)")
    c.close()
    before = sha(db)
    _target(tmp_path)
    for args in ([*BENCH, "--store", "theirs.db", "--json", "r.json"],
                 ["history", "--store", "sqlite:///theirs.db"],
                 ["import", "r.json", "--store", "theirs.db"]):
        done = run(args, tmp_path)
        assert done.code == 2, done.both
        no_traceback(done)
        assert "not a perfgate store" in done.err
        assert sha(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py", "r.json", "theirs.db"]
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    c.close()


@pytest.mark.slow
def test_a_run_name_that_is_not_utf8(tmp_path: Path) -> None:
    _target(tmp_path)
    bad = "bad\udcffname"  # what Python makes of the argument bytes b"bad\xffname"
    done = run([*BENCH, "--name", bad, "--store", "h.db"], tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    assert "not valid UTF-8 (byte ff at position 3)" in done.err
    assert list(tmp_path.iterdir()) == [tmp_path / "mod.py"]  # nothing ran, nothing written
    # a name carried by a results file (JSON can escape a lone surrogate) is stored and shown
    doc = {"schema": 1, "environment": {}, "results": [
        {"name": "bad\\udcffname", "kind": "bench", "metrics": {
            "time": {"unit": "s", "kind": "distribution", "median": 0.001, "n": 3}}}]}
    (tmp_path / "r.json").write_text(json.dumps(doc))
    done = run(["import", "r.json", "--store", "h.db"], tmp_path)
    assert done.code == 0, done.both
    for name in (bad, "bad\\udcffname"):  # the argument's bytes, or the name as shown
        done = run(["history", name, "--store", "h.db"], tmp_path)
        assert done.code == 0, done.both
        no_traceback(done)
        assert "1.00 ms" in done.out or "1 ms" in done.out, done.out
