"""A one-line wrapper that lets the query probe see any DB-API 2.0 connection.

    conn = perfgate.probes.wrap(psycopg.connect(dsn))

The wrapper forwards everything to the real connection; ``execute``/``executemany`` on its
cursors (and ``conn.execute`` where the driver has it, as psycopg 3 and sqlite3 do) report
the statement to the active probes first. With no probe active the cost is one attribute
lookup per statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from perfgate.probes._queries import _OWNED, _sqlite_inside, record_statement

__all__ = ["wrap"]


def _text(sql: Any, conn: Any) -> Any:
    as_string = getattr(sql, "as_string", None)  # psycopg.sql.Composable
    if callable(as_string):
        try:
            return as_string(conn)
        except Exception:  # noqa: BLE001 - fall back to the object's text
            return str(sql)
    return sql


class ProbedCursor:
    """A DB-API cursor that reports its statements to the query probe."""

    def __init__(self, cursor: Any, conn: Any) -> None:
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_conn", conn)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        record_statement(_text(sql, self._conn))
        result = self._cursor.execute(sql, *args, **kwargs)
        return self if result is self._cursor else result

    def executemany(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        record_statement(_text(sql, self._conn))
        result = self._cursor.executemany(sql, *args, **kwargs)
        return self if result is self._cursor else result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._cursor, name, value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def __enter__(self) -> ProbedCursor:
        self._cursor.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._cursor.__exit__(*exc)


class ProbedConnection:
    """A DB-API connection whose statements the query probe counts."""

    def __init__(self, conn: Any) -> None:
        object.__setattr__(self, "_conn", conn)
        raw = _sqlite_inside(conn)
        if raw is not None:  # counted here, not through the sqlite3 trace door as well
            _OWNED.add_wrapped(raw, self)

    @property
    def wrapped(self) -> Any:
        """The real connection."""
        return self._conn

    def cursor(self, *args: Any, **kwargs: Any) -> ProbedCursor:
        return ProbedCursor(self._conn.cursor(*args, **kwargs), self._conn)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        record_statement(_text(sql, self._conn))
        return self._conn.execute(sql, *args, **kwargs)

    def executemany(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        record_statement(_text(sql, self._conn))
        return self._conn.executemany(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._conn, name, value)

    def __enter__(self) -> ProbedConnection:
        self._conn.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._conn.__exit__(*exc)


def wrap(conn: Any) -> Any:
    """Wrap a DB-API connection so that the query probe counts its statements."""
    if isinstance(conn, ProbedConnection):
        return conn
    if not hasattr(conn, "cursor"):
        from perfgate._errors import UsageError

        raise UsageError(f"wrap: {type(conn).__name__} is not a DB-API connection (no cursor())")
    return ProbedConnection(conn)

