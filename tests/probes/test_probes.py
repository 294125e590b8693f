"""The query probe on real databases: sqlite3 directly, SQLAlchemy's ORM (sync and async),
and the DB-API wrapper; N+1 detection across a sweep, located in the user's code."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)

import perfgate as pg
from perfgate.bench import BenchOptions
from perfgate.probes import count_queries, normalize, query_pass, wrap

QUICK = BenchOptions(rounds=5, iterations=1, warmup=0.0, memory=False)
HERE = Path(__file__).name


def _line_of(fn: Callable[..., Any], marker: str) -> str:
    """``file:line`` of the line in ``fn``'s source that contains ``marker``."""
    lines, start = inspect.getsourcelines(fn)
    for i, text in enumerate(lines):
        if marker in text:
            return f"{HERE}:{start + i}"
    raise AssertionError(marker)


# --------------------------------------------------------------------------- normalising


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM book WHERE author_id = 42", "SELECT * FROM book WHERE author_id = ?"),
        ("select a from t where x='it''s' and y = -3.5e3", "select a from t where x=? and y = ?"),
        ("select * from t where id in (1, 2, 3)", "select * from t where id in (?)"),
        ("select * from t where id IN (?, ?)", "select * from t where id IN (?)"),
        ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT INTO t (a, b) VALUES (?, ?)"),
        ("select x::int, :name, %(p)s, %s, $1 from t2", "select x::int, ?, ?, ?, ? from t2"),
        ("select col1 /* c */ from  t3 -- trailing\n ;", "select col1 from t3"),
        ('select "t1"."c2" from "t1"', 'select "t1"."c2" from "t1"'),
    ],
)
def test_normalize(sql: str, expected: str) -> None:
    assert normalize(sql) == expected


# --------------------------------------------------------------------------- sqlite3


def _sqlite_db(n: int) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("create table item (id integer primary key, price real)")
    db.executemany("insert into item (price) values (?)", [(i * 1.5,) for i in range(n)])
    db.commit()
    return db


def _prices_one_by_one(db: sqlite3.Connection) -> float:
    ids = [row[0] for row in db.execute("select id from item")]
    total = 0.0
    for i in ids:
        total += db.execute("select price from item where id = ?", (i,)).fetchone()[0]  # N+1
    return total


def _prices_at_once(db: sqlite3.Connection) -> float:
    return float(db.execute("select sum(price) from item").fetchone()[0] or 0.0)


def test_sqlite3_connection_made_before_the_probe() -> None:
    db = _sqlite_db(5)
    with count_queries() as q:
        _prices_one_by_one(db)
    assert q.total == 6
    assert q.statements == {"select id from item": 1, "select price from item where id = ?": 5}
    assert q.location_of("select price from item where id = ?") == _line_of(
        _prices_one_by_one, "# N+1").replace(HERE, str(Path(__file__)))


def test_sqlite3_connection_made_inside_and_hooks_restored() -> None:
    original = sqlite3.connect
    with count_queries() as q:
        db = sqlite3.connect(":memory:")
        db.execute("create table t (x)")
        db.execute("insert into t values (1)")
        db.commit()  # transaction control is not counted
    assert sqlite3.connect is original
    assert q.total == 2
    with count_queries() as again:
        pass
    db.execute("select * from t")  # no probe: nothing recorded anywhere
    assert again.total == 0 and q.total == 2


def test_sweep_finds_and_locates_n_plus_one_with_sqlite3() -> None:
    r = pg.sweep(_prices_one_by_one, [4, 8, 16], setup=_sqlite_db, queries=True, options=QUICK)
    assert r.error is None, r.error
    assert [p["metrics"]["queries"]["value"] for p in r.extra["by_size"]] == [5, 9, 17]
    assert r.extra["complexity"]["queries"]["class"] == "O(n)"
    [found] = r.extra["n_plus_one"]
    assert found["statement"] == "select price from item where id = ?"
    assert found["count"] == 16 and found["counts"] == [4, 8, 16]
    assert found["location"].endswith(_line_of(_prices_one_by_one, "# N+1"))
    assert r.metrics["n_plus_one"].value == 1
    checked = pg.apply_checks(r, [pg.parse_check("n_plus_one == 0"),
                                  pg.parse_check("queries <= 3")])
    assert [v.status for v in checked.verdicts] == ["fail", "fail"]
    assert any("N+1" in w for w in r.warnings)

    fixed = pg.sweep(_prices_at_once, [4, 8, 16], setup=_sqlite_db, queries=True, options=QUICK)
    assert fixed.extra["n_plus_one"] == [] and fixed.metrics["queries"].value == 1
    assert fixed.extra["complexity"]["queries"]["class"] == "O(1)"


def test_queries_per_phase() -> None:
    db = _sqlite_db(3)

    def op(conn: sqlite3.Connection) -> None:
        with pg.phase("read"):
            conn.execute("select count(*) from item").fetchone()
            with pg.phase("inner"):
                conn.execute("select 1").fetchone()
        conn.execute("select 2").fetchone()

    metrics = query_pass(op, db).metrics()
    assert metrics["queries"].value == 3
    assert metrics["queries.read"].value == 2
    assert metrics["queries.inner"].value == 1


# --------------------------------------------------------------------------- SQLAlchemy ORM


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    books: Mapped[list[Book]] = relationship(back_populates="author", lazy="select")


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("author.id"))
    author: Mapped[Author] = relationship(back_populates="books")


def _library(n: int) -> sa.Engine:
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        for i in range(n):
            s.add(Author(name=f"a{i}", books=[Book(title=f"b{i}.{j}") for j in range(2)]))
        s.commit()
    return engine


def _titles_lazy(engine: sa.Engine) -> list[str]:
    with Session(engine) as s:
        out: list[str] = []
        for author in s.scalars(sa.select(Author)):
            out.extend(b.title for b in author.books)  # lazy load: one query per author
        return out


def _titles_eager(engine: sa.Engine) -> list[str]:
    with Session(engine) as s:
        out: list[str] = []
        for author in s.scalars(sa.select(Author).options(selectinload(Author.books))):
            out.extend(b.title for b in author.books)
        return out


def test_orm_lazy_relationship_is_n_plus_one() -> None:
    r = pg.sweep(_titles_lazy, [3, 6, 12], setup=_library, queries=True, options=QUICK)
    assert r.error is None, r.error
    assert [p["metrics"]["queries"]["value"] for p in r.extra["by_size"]] == [4, 7, 13]
    [found] = r.extra["n_plus_one"]
    assert found["statement"].startswith("SELECT book.id")
    assert "WHERE ? = book.author_id" in found["statement"]
    assert found["count"] == 12 and found["class"] == "O(n)"
    assert found["location"].endswith(_line_of(_titles_lazy, "# lazy load"))
    assert r.extra["complexity"]["queries"]["class"] == "O(n)"
    checked = pg.apply_checks(r, [pg.parse_check("complexity(queries) == O(1)")])
    assert checked.verdicts[0].status == "fail"


def test_orm_eager_fix_has_constant_queries() -> None:
    r = pg.sweep(_titles_eager, [3, 6, 12], setup=_library, queries=True, options=QUICK)
    assert [p["metrics"]["queries"]["value"] for p in r.extra["by_size"]] == [2, 2, 2]
    assert r.extra["n_plus_one"] == [] and r.metrics["n_plus_one"].value == 0
    checked = pg.apply_checks(r, [pg.parse_check("complexity(queries) == O(1)"),
                                  pg.parse_check("queries <= 3"),
                                  pg.parse_check("n_plus_one == 0")])
    assert [v.status for v in checked.verdicts] == ["pass", "pass", "pass"]


def test_sqlalchemy_statements_are_not_counted_twice() -> None:
    engine = _library(2)  # its pooled sqlite3 connection exists before the probe starts
    with count_queries() as q:
        _titles_eager(engine)
    assert q.total == 2


def test_async_engine() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    async def work(n: int) -> None:
        engine = create_async_engine("sqlite+aiosqlite://")
        async with engine.connect() as conn:
            await conn.execute(sa.text("select 1"))  # first connect: dialect set-up
            with count_queries() as q:
                for i in range(n):
                    await conn.execute(sa.text("select :i"), {"i": i})  # async query
        await engine.dispose()
        assert q.total == n
        assert q.statements == {"select ?": n}
        assert q.location_of("select ?") is not None
        assert q.location_of("select ?").endswith(_line_of(work, "# async query"))  # type: ignore[union-attr]

    asyncio.run(work(3))


def test_decorator_with_queries_and_no_sizes() -> None:
    db = _sqlite_db(4)

    @pg.bench(setup=lambda: db, queries=True, checks=["queries <= 5"], rounds=5, iterations=1,
              warmup=0.0, memory=False)
    def prices(conn: sqlite3.Connection) -> None:
        _prices_one_by_one(conn)

    [r] = pg.run_specs(list(prices.__perfgate__))
    assert r.kind == "bench" and r.error is None, r.error
    assert r.metrics["queries"].value == 5
    assert r.verdicts[0].status == "pass"
    assert r.extra["queries"][0] == {
        "statement": "select price from item where id = ?", "count": 4,
        "location": r.extra["queries"][0]["location"],
    }


# --------------------------------------------------------------------------- DB-API wrapper


def test_dbapi_wrapper_counts_once() -> None:
    conn = wrap(sqlite3.connect(":memory:"))
    assert wrap(conn) is conn
    with count_queries() as q:
        cur = conn.cursor()
        cur.execute("create table t (x)")
        cur.executemany("insert into t values (?)", [(1,), (2,)])
        assert conn.execute("select count(*) from t").fetchone() == (2,)
        with conn:  # context manager passes through (commit)
            pass
    assert q.total == 3  # the sqlite3 trace door does not count the wrapped connection again
    assert q.statements == {"create table t (x)": 1, "insert into t values (?)": 1,
                            "select count(*) from t": 1}
    with pytest.raises(pg.UsageError):
        wrap(object())
