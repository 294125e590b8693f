"""The history store on a real SQLite file: round trips, migration, concurrency, bad files."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from storehelp import make_rs

from perfgate._errors import StoreError
from perfgate.cli import main
from perfgate.store import SCHEMA_VERSION, open_store
from perfgate.store._schema import MIGRATIONS


def test_round_trip_on_a_real_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/h.db"
    with open_store(url) as store:
        first = store.save(make_rs("c1", "2026-11-01T10:00:00+00:00", 1e-3))
        second = store.save(make_rs("c2", "2026-11-02T10:00:00+00:00", 2e-3))
    with open_store(url) as store:  # a fresh connection reads what was written
        runs = store.runs()
        assert [r.id for r in runs] == [second, first]  # newest first
        assert runs[0].commit == "c2"
        assert runs[0].source == "perfgate"
        back = store.load(first)
        pts = store.metric_points([first, second], "parse")
    orig = make_rs("c1", "2026-11-01T10:00:00+00:00", 1e-3)
    assert back.results[0].metrics["time"].samples == orig.results[0].metrics["time"].samples
    assert back.environment.git_commit == "c1"
    assert {p.metric for p in pts[second]} == {"time", "alloc_bytes"}
    assert (tmp_path / "h.db").exists()


def test_default_url_and_bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store(None) as store:
        store.save(make_rs())
        assert store.display_url == "sqlite:///.perfgate/history.db"
    assert (tmp_path / ".perfgate" / "history.db").is_file()
    with open_store("other.db") as store:
        assert store.runs() == []
    assert (tmp_path / "other.db").is_file()


def test_runs_filtered_by_name(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "h.db")) as store:
        a = store.save(make_rs(name="a"))
        store.save(make_rs(name="b"))
        assert [r.id for r in store.runs("a")] == [a]
        with pytest.raises(StoreError, match="no run with id 999"):
            store.load(999)


def _build_v1(path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        MIGRATIONS[1](conn)
        conn.execute(sa.text("INSERT INTO perfgate_meta VALUES ('schema_version', '1')"))
        conn.execute(sa.text(
            "INSERT INTO runs (started_at, saved_at, git_commit, environment) "
            "VALUES ('2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', 'old', '{}')"))
    engine.dispose()


def test_a_version_1_store_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    _build_v1(db)
    with open_store(str(db)) as store:
        runs = store.runs()
        assert [(r.commit, r.source) for r in runs] == [("old", "perfgate")]
        store.save(make_rs())
    conn = sqlite3.connect(db)
    version = conn.execute("SELECT value FROM perfgate_meta WHERE key='schema_version'").fetchone()
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(metrics)")}
    conn.close()
    assert version == (str(SCHEMA_VERSION),)
    assert "ix_metrics_result_metric" in indexes


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    with open_store(str(db)):
        pass
    conn = sqlite3.connect(db)
    conn.execute("UPDATE perfgate_meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer perfgate"):
        open_store(str(db))


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    db.write_bytes(b"\x00garbage that is not sqlite" * 200)
    with pytest.raises(StoreError, match="corrupt or not a SQLite database"):
        open_store(str(db))
    r = CliRunner().invoke(main, ["history", "--store", f"sqlite:///{db}"])
    assert r.exit_code == 2
    assert "corrupt or not a SQLite database" in " ".join(r.output.split())
    assert "Traceback" not in r.output


def test_foreign_database_is_not_written(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a perfgate store.*customers"):
        open_store(str(db))
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert tables == {"customers"}


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_store(str(tmp_path))


def _writer(url: str, tag: str, count: int, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    with open_store(url) as store:
        for i in range(count):
            store.save(make_rs(f"{tag}-{i}"))


@pytest.mark.slow
def test_two_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/h.db"
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(url, tag, 25, barrier)) for tag in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    with open_store(url) as store:
        commits = sorted(r.commit or "" for r in store.runs())
    assert commits == sorted(f"{t}-{i}" for t in "ab" for i in range(25))


def test_unknown_driver_and_bad_url(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        open_store("nosuchdb://user:pw@host/db")
