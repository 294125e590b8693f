"""The query probe: counts database statements per operation and per phase.

While a :class:`QueryProbe` is active, statements are seen through three doors, none of which
needs a change to the code under test:

- **SQLAlchemy** (any engine, sync or async: an ``AsyncEngine`` runs on a sync ``Engine``):
  a ``before_cursor_execute`` listener on the :class:`~sqlalchemy.engine.Engine` class,
  installed only if SQLAlchemy is already imported, removed when the probe ends.
- **sqlite3**: ``sqlite3.connect`` is wrapped while the probe is active, and connections that
  already exist are found (through the garbage collector's list of objects) and given a
  trace callback; every callback is cleared and ``connect`` restored when the probe ends.
  A connection that SQLAlchemy drives is counted once, through SQLAlchemy. The probe
  replaces a trace callback the program had set on a connection (sqlite3 cannot tell which
  one is set) and clears it at the end.
- **any DB-API connection**, by one line: ``conn = perfgate.probes.wrap(conn)``.

Transaction control (``BEGIN``, ``COMMIT``, ``ROLLBACK``, ``SAVEPOINT``, ``RELEASE``) is not
counted: drivers issue it implicitly and differently. Each statement is normalised
(:func:`perfgate.probes.normalize`) and remembered with the ``file:line`` of the user code
that issued it: the innermost frame outside the database libraries, the standard library
and perfgate itself.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
import sys
import sysconfig
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from perfgate.bench._phases import current_phases
from perfgate.probes._bracket import OpBracket
from perfgate.probes._sql import is_transaction_control, normalize

__all__ = ["OpQueries", "QueryProbe", "count_queries", "record_statement"]


@dataclass
class OpQueries:
    """What one operation (or one ``count_queries`` block) issued."""

    total: int = 0
    phases: Counter[str] = field(default_factory=Counter)
    statements: Counter[str] = field(default_factory=Counter)
    locations: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, statement: str, location: str | None, phases: tuple[str, ...]) -> None:
        self.total += 1
        self.statements[statement] += 1
        if location is not None:
            self.locations.setdefault(statement, Counter())[location] += 1
        for p in set(phases):
            self.phases[p] += 1

    def location_of(self, statement: str) -> str | None:
        """The user line that issued ``statement`` most often."""
        locs = self.locations.get(statement)
        return locs.most_common(1)[0][0] if locs else None

    def repeated(self, at_least: int = 2) -> list[tuple[str, int]]:
        """Statements issued at least ``at_least`` times, most frequent first."""
        return [(s, c) for s, c in self.statements.most_common() if c >= at_least]

    @property
    def count(self) -> int:
        return self.total


class QueryProbe(OpBracket[OpQueries]):
    """Count statements while active; :meth:`operation` brackets one operation.

    Use as a context manager. Probes nest and may overlap; each sees every statement
    issued while it is active.
    """

    def __init__(self, *, sqlalchemy: bool = True, sqlite: bool = True, locate: bool = True):
        self.use_sqlalchemy = sqlalchemy
        self.use_sqlite = sqlite
        self.locate = locate
        super().__init__(OpQueries)

    def __enter__(self) -> QueryProbe:
        _HOOKS.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _HOOKS.remove(self)

    def _record(self, statement: str, location: str | None, phases: tuple[str, ...]) -> None:
        with self._lock:
            self.all.add(statement, location, phases)
            if self._op is not None:
                self._op.add(statement, location, phases)


@contextmanager
def count_queries(**kwargs: bool) -> Iterator[OpQueries]:
    """Count the statements issued inside the block::

        with perfgate.count_queries() as q:
            load_orders(session)
        assert q.count <= 3
    """
    with QueryProbe(**kwargs) as probe:
        yield probe.all


# --------------------------------------------------------------------------- locations

_SKIP_PACKAGES = ("sqlalchemy", "sqlite3", "psycopg", "psycopg2", "psycopg_binary",
                  "aiosqlite", "asyncpg", "greenlet", "pymysql", "MySQLdb", "_pytest",
                  "pluggy", "pytest")
_Dirs = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # packages, stdlib, site
_skip_dirs_cache: _Dirs | None = None


def _skip_dirs() -> _Dirs:
    """Where frames are not the user's: perfgate and the database libraries, and the
    standard library (but not site-packages inside it, as on a system Python)."""
    global _skip_dirs_cache
    if _skip_dirs_cache is None:
        paths = sysconfig.get_paths()
        pkgs = {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}  # perfgate/
        for name in _SKIP_PACKAGES:
            f = getattr(sys.modules.get(name), "__file__", None)
            if f:
                pkgs.add(os.path.dirname(os.path.abspath(f)))
        std = {os.path.abspath(paths[k]) for k in ("stdlib", "platstdlib") if paths.get(k)}
        site = {os.path.abspath(paths[k]) for k in ("purelib", "platlib") if paths.get(k)}

        def sep(ds: set[str]) -> tuple[str, ...]:
            return tuple(d + os.sep for d in ds)

        _skip_dirs_cache = (sep(pkgs), sep(std), sep(site))
    return _skip_dirs_cache


def _reset_skip_dirs() -> None:
    global _skip_dirs_cache
    _skip_dirs_cache = None


def _user_frame(frame: FrameType | None, dirs: _Dirs) -> FrameType | None:
    pkgs, std, site = dirs
    while frame is not None:
        fn = frame.f_code.co_filename
        if not fn.startswith("<"):
            path = os.path.abspath(fn)
            if not path.startswith(pkgs) and (
                not path.startswith(std) or path.startswith(site)
            ):
                return frame
        frame = frame.f_back
    return None


def _location() -> str | None:
    skip = _skip_dirs()
    found = _user_frame(sys._getframe(1), skip)
    if found is None and "greenlet" in sys.modules:
        # SQLAlchemy's asyncio runs sync code in a child greenlet: the user's coroutine is
        # on the parent greenlet's stack.
        import greenlet  # type: ignore[import-untyped,unused-ignore]

        g = greenlet.getcurrent().parent
        while found is None and g is not None:
            found = _user_frame(g.gr_frame, skip)
            g = g.parent
    if found is None:
        return None
    return f"{found.f_code.co_filename}:{found.f_lineno}"


def record_statement(sql: Any) -> None:
    """Count one statement in every active probe (the doors call this)."""
    probes = _HOOKS.probes
    if not probes:
        return
    text = sql.decode() if isinstance(sql, bytes) else str(sql)
    if is_transaction_control(text):
        return
    statement = normalize(text)
    location = _location() if any(p.locate for p in probes) else None
    phases = current_phases()
    for p in probes:
        p._record(statement, location, phases)


# --------------------------------------------------------------------------- doors


def _sa_before_cursor_execute(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    raw = _sqlite_inside(getattr(conn, "connection", None))
    if raw is not None:
        _OWNED.add(raw)
    record_statement(statement)


def _sqlite_inside(obj: Any, depth: int = 0) -> sqlite3.Connection | None:
    """The sqlite3 connection under a pooled/adapted connection, if there is one."""
    if isinstance(obj, sqlite3.Connection):
        return obj
    if obj is None or depth > 4:
        return None
    for attr in ("dbapi_connection", "driver_connection", "_connection", "_conn"):
        try:
            inner = getattr(obj, attr, None)
        except Exception:  # noqa: BLE001 - an adapter's property may raise when closed
            continue
        if inner is not None and inner is not obj:
            found = _sqlite_inside(inner, depth + 1)
            if found is not None:
                return found
    return None


class _Owned:
    """sqlite3 connections counted through another door (SQLAlchemy, a DB-API wrapper).

    sqlite3 connections cannot be weakly referenced: those SQLAlchemy drives are held (by
    id) only while a probe is active; a wrapped one is held as long as its wrapper lives.
    """

    def __init__(self) -> None:
        self._session: dict[int, object] = {}
        self._wrapped: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()

    def add(self, conn: sqlite3.Connection) -> None:
        self._session[id(conn)] = conn

    def add_wrapped(self, conn: sqlite3.Connection, wrapper: Any) -> None:
        self._wrapped[id(conn)] = wrapper

    def clear_session(self) -> None:
        self._session.clear()

    def __contains__(self, conn_id: object) -> bool:
        return conn_id in self._session or conn_id in self._wrapped


_OWNED = _Owned()


def _make_trace(conn: sqlite3.Connection) -> Callable[[str], None]:
    conn_id = id(conn)  # no reference to conn: the callback is stored on it

    def trace(sql: str) -> None:
        if conn_id not in _OWNED:
            record_statement(sql)

    return trace


def _called_from_sqlalchemy() -> bool:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("sqlalchemy."):
            return True
        frame = frame.f_back
    return False


def _subclasses(cls: type) -> set[type]:
    found = {cls}
    subs: list[type] = cls.__subclasses__()
    for sub in subs:
        found |= _subclasses(sub)
    return found


class _Hooks:
    """Installs the doors when the first probe starts and removes them after the last."""

    def __init__(self) -> None:
        self.probes: tuple[QueryProbe, ...] = ()
        self._lock = threading.RLock()
        self._sa_listening = False
        self._connect: Any = None
        self._traced: list[sqlite3.Connection] = []

    def add(self, probe: QueryProbe) -> None:
        with self._lock:
            first = not self.probes
            self.probes = (*self.probes, probe)
            if first:
                _reset_skip_dirs()
            if probe.use_sqlalchemy and not self._sa_listening and "sqlalchemy" in sys.modules:
                from sqlalchemy import event
                from sqlalchemy.engine import Engine

                event.listen(Engine, "before_cursor_execute", _sa_before_cursor_execute)
                self._sa_listening = True
            if probe.use_sqlite and self._connect is None:
                self._install_sqlite()

    def remove(self, probe: QueryProbe) -> None:
        with self._lock:
            self.probes = tuple(p for p in self.probes if p is not probe)
            if self._sa_listening and not any(p.use_sqlalchemy for p in self.probes):
                from sqlalchemy import event
                from sqlalchemy.engine import Engine

                event.remove(Engine, "before_cursor_execute", _sa_before_cursor_execute)
                self._sa_listening = False
            if self._connect is not None and not any(p.use_sqlite for p in self.probes):
                self._uninstall_sqlite()

    def _trace(self, conn: sqlite3.Connection) -> None:
        try:
            conn.set_trace_callback(_make_trace(conn))
        except sqlite3.ProgrammingError:  # closed
            return
        self._traced.append(conn)

    def _install_sqlite(self) -> None:
        original = sqlite3.connect
        self._connect = original

        def connect(*args: Any, **kwargs: Any) -> Any:
            conn = original(*args, **kwargs)
            if isinstance(conn, sqlite3.Connection):
                if _called_from_sqlalchemy():
                    _OWNED.add(conn)
                self._trace(conn)
            return conn

        sqlite3.connect = connect
        sqlite3.dbapi2.connect = connect
        kinds = _subclasses(sqlite3.Connection)  # a type-set test: 6x faster than isinstance
        for obj in [o for o in gc.get_objects() if type(o) in kinds]:
            self._trace(obj)

    def _uninstall_sqlite(self) -> None:
        sqlite3.connect = self._connect
        sqlite3.dbapi2.connect = self._connect
        self._connect = None
        for conn in self._traced:
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed, another thread's
                conn.set_trace_callback(None)
        self._traced.clear()
        _OWNED.clear_session()


_HOOKS = _Hooks()
