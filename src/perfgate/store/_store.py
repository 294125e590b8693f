"""The history store: every run, with its environment and git commit, in a SQL database.

SQLite (the default, ``.perfgate/history.db``) runs in WAL mode with a busy timeout; every
write transaction starts with ``BEGIN IMMEDIATE`` and is retried while the file is locked,
so two processes saving at once both land. WAL is switched on only once the file is known to
be a perfgate store (or empty): refusing someone else's database leaves it byte for byte as
it was. A save is one transaction: interrupted, it leaves the store as it was.

PostgreSQL (or any SQLAlchemy URL) is used as is; schema creation there is serialised by an
advisory lock. A libpq ``key=value`` connection string (``host=db dbname=perf user=ci
password=…``) is recognised as PostgreSQL; any other ``key=value`` text is refused rather
than taken for a SQLite file name.

Names are stored as text the database can hold: a name decoded from bytes that are not UTF-8
(a lone surrogate) is stored, and looked up, with those bytes written as ``\\udcff``.

Errors are :class:`perfgate.StoreError` with the password of the URL masked.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from perfgate._errors import ResultFormatError, StoreError
from perfgate.model import Environment, Metric, Result, ResultSet
from perfgate.store._schema import LATEST, MIGRATIONS, tables

__all__ = ["DEFAULT_URL", "MACHINE_METRIC", "MetricPoint", "RunInfo", "SeriesPoint", "Store",
           "mask_url", "open_store"]

DEFAULT_URL = "sqlite:///.perfgate/history.db"
_SECRET_PARAMS = {"password", "pass", "pwd", "sslpassword", "sslkey_password", "token"}
_RETRIES = 12
T = TypeVar("T")


@dataclass(frozen=True)
class RunInfo:
    """One stored run, without its results."""

    id: int
    started_at: str
    saved_at: str
    commit: str | None
    branch: str | None
    dirty: bool | None
    hostname: str | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "time": self.started_at, "saved_at": self.saved_at,
            "commit": self.commit, "branch": self.branch, "dirty": self.dirty,
            "hostname": self.hostname, "source": self.source,
        }


@dataclass(frozen=True)
class MetricPoint:
    """A metric's headline value in one stored result (what history and trends show)."""

    result: str
    metric: str
    unit: str
    kind: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "kind": self.kind, "value": self.value,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n}


@dataclass(frozen=True)
class SeriesPoint:
    """One run's headline value of one benchmark's metric: a point of its history."""

    run_id: int
    started_at: str
    commit: str | None
    hostname: str | None
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run_id, "time": self.started_at, "commit": self.commit,
                "hostname": self.hostname, "value": self.value, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "n": self.n}


# libpq's connection keywords (https://www.postgresql.org/docs/current/libpq-connect.html)
_LIBPQ_KEYS = frozenset((
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "require_auth",
    "channel_binding", "connect_timeout", "client_encoding", "options", "application_name",
    "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode",
    "requiressl", "sslnegotiation", "sslcompression", "sslcert", "sslkey", "sslkeylogfile",
    "sslpassword", "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
    "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname",
    "gsslib", "gssdelegation", "service", "target_session_attrs", "load_balance_hosts",
))
_CONNINFO_PAIR = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")


def _text(s: str) -> str:
    """A name as text every database driver can encode (lone surrogates written out)."""
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _conninfo(raw: str) -> dict[str, str] | None:
    """libpq ``key=value`` pairs (values may be 'single quoted' with \\ escapes), or None
    when ``raw`` does not start like a connection string."""
    if not _CONNINFO_PAIR.match(raw):
        return None
    pairs: dict[str, str] = {}
    i = 0
    while i < len(raw):
        m = _CONNINFO_PAIR.match(raw, i)
        if m is None:
            if raw[i:].strip():
                raise StoreError("store connection string is not valid: expected "
                                 "key=value pairs such as host=db dbname=perf")
            break
        i = m.end()
        value: list[str] = []
        if raw[i:i + 1] == "'":
            i += 1
            while i < len(raw) and raw[i] != "'":
                if raw[i] == "\\" and i + 1 < len(raw):
                    i += 1
                value.append(raw[i])
                i += 1
            if i >= len(raw):
                raise StoreError("store connection string is not valid: an unterminated "
                                 "quoted value")
            i += 1
        else:
            while i < len(raw) and not raw[i].isspace():
                if raw[i] == "\\" and i + 1 < len(raw):
                    i += 1
                value.append(raw[i])
                i += 1
        pairs[m.group(1)] = "".join(value)
    return pairs


def _from_conninfo(pairs: dict[str, str]) -> URL:
    unknown = sorted(k for k in pairs if k not in _LIBPQ_KEYS)
    if unknown:
        # refused, not guessed: a SQLite file named after it would hold the password
        raise StoreError(f"store {', '.join(unknown)}=…: not a libpq connection keyword; "
                         "write sqlite:///path.db for a SQLite file or postgresql://… / "
                         "host=… dbname=… for PostgreSQL")
    q = dict(pairs)
    port = q.pop("port", None)
    try:
        port_n = int(port) if port is not None else None
    except ValueError:
        raise StoreError(f"store connection string: port {port!r} is not a number") from None
    return URL.create("postgresql+psycopg", username=q.pop("user", None),
                      password=q.pop("password", None), host=q.pop("host", None),
                      port=port_n, database=q.pop("dbname", None), query=q)


def _parse_url(url: str | None) -> URL:
    raw = (url or "").strip() or DEFAULT_URL
    if "://" not in raw:
        pairs = _conninfo(raw)
        if pairs is not None:
            return _from_conninfo(pairs)
        raw = f"sqlite:///{raw}"  # a bare path is a SQLite file
    try:
        u = make_url(raw)
    except Exception:  # noqa: BLE001 - any parse failure is the same bad URL
        raise StoreError("store URL is not valid (expected sqlite:///path.db or "
                         "postgresql://user@host/db)") from None
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def mask_url(url: str | URL) -> str:
    """The URL with its password (and any secret query parameter) replaced by ``***``."""
    u = url if isinstance(url, URL) else _parse_url(url)
    query = {k: ("***" if k.lower() in _SECRET_PARAMS else v) for k, v in u.query.items()}
    return u.set(query=query).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


class Store:
    """A history store. Build with :func:`open_store`; use as a context manager."""

    def __init__(self, url: str | None = None) -> None:
        self.url = _parse_url(url)
        self.display_url = mask_url(self.url)
        self._secrets = [s for s in (
            self.url.password, *(str(v) for k, v in self.url.query.items()
                                 if k.lower() in _SECRET_PARAMS)) if s]
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._t = tables(sa.MetaData())
        self.engine = self._engine()
        try:
            self._retry(self._migrate)
            self._retry(self._wal)
        except BaseException:
            self.engine.dispose()
            raise

    # ------------------------------------------------------------------ plumbing

    def _engine(self) -> sa.Engine:
        if not self.is_sqlite:
            try:
                return sa.create_engine(self.url, poolclass=NullPool)
            except ImportError:
                raise StoreError(f"{self.display_url}: the database driver is not installed "
                                 "(for PostgreSQL: pip install 'perfgate[postgres]')") from None
            except Exception as exc:  # noqa: BLE001 - dialect errors vary; message kept
                raise StoreError(f"{self.display_url}: cannot use this store: "
                                 f"{self._clean(exc)}") from None
        db = self.url.database
        if db and db != ":memory:":
            path = Path(db)
            if path.is_dir():
                raise StoreError(f"{self.display_url}: {path} is a directory, not a database")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{self.display_url}: cannot create {path.parent}: "
                                 f"{exc.strerror}") from None
        engine = sa.create_engine(self.url, poolclass=NullPool,
                                  connect_args={"timeout": 30.0})

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            try:  # neither pragma writes to the file (WAL is set after _migrate's check)
                cur.execute("PRAGMA busy_timeout = 30000")
                cur.execute("PRAGMA foreign_keys = ON")
            finally:
                cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    def _clean(self, exc: BaseException) -> str:
        orig = getattr(exc, "orig", None)
        msg = str(orig if orig is not None else exc).strip().splitlines()
        text = msg[0] if msg else type(exc).__name__
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def _error(self, exc: BaseException, doing: str) -> StoreError:
        text = self._clean(exc)
        if self.is_sqlite and ("not a database" in text or "malformed" in text):
            return StoreError(f"{self.display_url}: the file is corrupt or not a SQLite "
                              f"database ({text}); move it away to start a new history")
        return StoreError(f"{self.display_url}: cannot {doing}: {text}")

    def _retry(self, fn: Callable[[], T], doing: str = "open the store") -> T:
        """Run fn, retrying while SQLite reports the database locked or busy."""
        delay = 0.02
        for attempt in range(_RETRIES):
            try:
                return fn()
            except StoreError:
                raise
            except sa.exc.OperationalError as exc:
                text = self._clean(exc).lower()
                if attempt + 1 < _RETRIES and ("locked" in text or "busy" in text):
                    time.sleep(delay)  # back-off before retrying, not synchronisation
                    delay = min(delay * 2, 1.0)
                    continue
                raise self._error(exc, doing) from None
            except sa.exc.SQLAlchemyError as exc:
                raise self._error(exc, doing) from None
        raise StoreError(f"{self.display_url}: cannot {doing}: still locked")  # pragma: no cover

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            if self.url.get_backend_name() == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(83420119)"))
            names = set(sa.inspect(conn).get_table_names())
            version = 0
            if "perfgate_meta" in names:
                row = conn.execute(sa.select(self._t["meta"].c.value).where(
                    self._t["meta"].c.key == "schema_version")).first()
                try:
                    version = int(row[0]) if row else 0
                except ValueError:
                    version = -1
                if version < 1:
                    raise StoreError(f"{self.display_url}: the perfgate_meta table has no "
                                     "valid schema_version; the store is damaged")
            elif names:
                shown = ", ".join(sorted(names)[:5])
                raise StoreError(f"{self.display_url}: this database is not a perfgate store "
                                 f"(it holds other tables: {shown}); refusing to write into it")
            if version > LATEST:
                raise StoreError(f"{self.display_url}: schema version {version} was written "
                                 f"by a newer perfgate (this one knows up to {LATEST}); "
                                 "upgrade perfgate")
            if version == LATEST:
                return
            for v in range(version + 1, LATEST + 1):
                MIGRATIONS[v](conn)
            meta = self._t["meta"]
            if version == 0:
                conn.execute(sa.insert(meta).values(key="schema_version", value=str(LATEST)))
                conn.execute(sa.insert(meta).values(
                    key="created_at", value=_dt.datetime.now(_dt.UTC).isoformat()))
            else:
                conn.execute(sa.update(meta).where(meta.c.key == "schema_version")
                             .values(value=str(LATEST)))

    def _wal(self) -> None:
        """WAL (concurrent readers beside a writer) for a file now known to be ours; the
        mode is kept in the file, so this is a no-op after the first time."""
        db = self.url.database
        if not self.is_sqlite or not db or db == ":memory:":
            return
        raw = self.engine.raw_connection()  # no BEGIN: SQLite refuses it in a transaction
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA journal_mode = WAL")
            cur.close()
        except sqlite3.Error as exc:  # as SQLAlchemy would wrap it: _retry knows "locked"
            raise sa.exc.OperationalError("PRAGMA journal_mode = WAL", {}, exc) from exc
        finally:
            raw.close()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def save(self, rs: ResultSet, source: str = "perfgate") -> int:
        """Store a run with all its results; returns its id. Safe with concurrent writers."""
        return self._retry(lambda: self._save(rs, source), "save the run")

    def _save(self, rs: ResultSet, source: str) -> int:
        env = rs.environment
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        t = self._t
        with self.engine.begin() as conn:
            run_id = int(conn.execute(sa.insert(t["runs"]).values(
                started_at=env.started_at or now, saved_at=now,
                git_commit=env.git_commit and _text(env.git_commit),
                git_branch=env.git_branch and _text(env.git_branch),
                git_dirty=env.git_dirty, hostname=_text(env.hostname) or None,
                environment=json.dumps(env.to_dict(), default=str), source=source,
            ).returning(t["runs"].c.id)).scalar_one())
            for pos, r in enumerate(rs.results):
                doc = json.dumps(r.to_dict(), allow_nan=False, default=str)
                res_id = int(conn.execute(sa.insert(t["results"]).values(
                    run_id=run_id, position=pos, name=_text(r.name), kind=r.kind,
                    status=r.status, document=doc,
                ).returning(t["results"].c.id)).scalar_one())
                rows = [_metric_row(run_id, res_id, r.name, k, m) for k, m in r.metrics.items()]
                machine = _machine(r)
                if machine is not None and MACHINE_METRIC not in r.metrics:
                    rows.append(_metric_row(run_id, res_id, r.name, MACHINE_METRIC, machine))
                if rows:
                    conn.execute(sa.insert(t["metrics"]), rows)
        return run_id

    # ------------------------------------------------------------------ reading

    def _run_info(self, row: sa.Row[Any]) -> RunInfo:
        return RunInfo(id=int(row.id), started_at=row.started_at, saved_at=row.saved_at,
                       commit=row.git_commit, branch=row.git_branch,
                       dirty=None if row.git_dirty is None else bool(row.git_dirty),
                       hostname=row.hostname, source=row.source)

    def runs(self, name: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """Stored runs, newest first; with ``name``, only runs holding that result."""
        runs, results = self._t["runs"], self._t["results"]
        q = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc())
        if name is not None:
            q = q.where(runs.c.id.in_(sa.select(results.c.run_id).where(
                results.c.name == _text(name))))
        if limit is not None:
            q = q.limit(limit)

        def go() -> list[RunInfo]:
            with self.engine.begin() as conn:
                return [self._run_info(r) for r in conn.execute(q)]

        return self._retry(go, "read the runs")

    def metric_points(self, run_ids: list[int], name: str | None = None
                      ) -> dict[int, list[MetricPoint]]:
        """Headline metric values of the given runs (optionally of one result only)."""
        m = self._t["metrics"]
        out: dict[int, list[MetricPoint]] = {i: [] for i in run_ids}
        if not run_ids:
            return out
        q = sa.select(m).where(m.c.run_id.in_(run_ids)).order_by(m.c.id)
        if name is not None:
            q = q.where(m.c.result_name == _text(name))

        def go() -> None:
            with self.engine.begin() as conn:
                for r in conn.execute(q):
                    out[int(r.run_id)].append(MetricPoint(
                        r.result_name, r.name, r.unit, r.kind, r.value, r.ci_low,
                        r.ci_high, r.n))

        self._retry(go, "read the metrics")
        return out

    def series(self, name: str, metric: str = "time", *, hostname: str | None = None,
               limit: int | None = None, before: int | None = None) -> list[SeriesPoint]:
        """A benchmark's metric run by run, oldest first: the newest ``limit`` runs with a
        value, only from ``hostname`` when given (the same machine), only runs with an id
        below ``before`` when given. One indexed query, whatever the history's length."""
        runs, m = self._t["runs"], self._t["metrics"]
        q = (sa.select(runs.c.id, runs.c.started_at, runs.c.git_commit, runs.c.hostname,
                       m.c.value, m.c.ci_low, m.c.ci_high, m.c.n)
             .join(runs, runs.c.id == m.c.run_id)
             .where(m.c.result_name == name, m.c.name == metric, m.c.value.is_not(None))
             .order_by(runs.c.started_at.desc(), runs.c.id.desc(), m.c.id.desc()))
        if hostname is not None:
            q = q.where(runs.c.hostname == hostname)
        if before is not None:
            q = q.where(runs.c.id < before)
        if limit is not None:
            q = q.limit(limit)

        def go() -> list[SeriesPoint]:
            with self.engine.begin() as conn:
                return [SeriesPoint(int(r.id), r.started_at, r.git_commit, r.hostname,
                                    float(r.value), r.ci_low, r.ci_high, r.n)
                        for r in conn.execute(q)]

        return list(reversed(self._retry(go, "read the series")))

    def result_history(self, name: str, *, hostname: str | None = None,
                       limit: int | None = None) -> list[tuple[SeriesPoint, Result]]:
        """The stored result ``name`` run by run, oldest first (newest ``limit`` runs, only
        from ``hostname`` when given): for checks evaluated on each run's full result."""
        runs, results = self._t["runs"], self._t["results"]
        q = (sa.select(runs.c.id, runs.c.started_at, runs.c.git_commit, runs.c.hostname,
                       results.c.document)
             .join(runs, runs.c.id == results.c.run_id).where(results.c.name == name)
             .order_by(runs.c.started_at.desc(), runs.c.id.desc(), results.c.id.desc()))
        if hostname is not None:
            q = q.where(runs.c.hostname == hostname)
        if limit is not None:
            q = q.limit(limit)

        def go() -> list[Any]:
            with self.engine.begin() as conn:
                return list(conn.execute(q))

        out = []
        for r in reversed(self._retry(go, "read the results")):
            where = f"{self.display_url} run {r.id}"
            try:
                res = Result.from_dict(json.loads(r.document), where)
            except (ValueError, ResultFormatError) as exc:
                raise StoreError(f"{where}: stored data is damaged: {exc}") from None
            out.append((SeriesPoint(int(r.id), r.started_at, r.git_commit, r.hostname,
                                    math.nan, None, None, None), res))
        return out

    def load(self, run_id: int) -> ResultSet:
        """The full stored run (results with raw samples, verdicts, environment)."""
        runs, results = self._t["runs"], self._t["results"]

        def go() -> tuple[Any, list[Any]]:
            with self.engine.begin() as conn:
                run = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
                docs = list(conn.execute(sa.select(results.c.document).where(
                    results.c.run_id == run_id).order_by(results.c.position)).scalars())
                return run, docs

        run, docs = self._retry(go, "read the run")
        if run is None:
            raise StoreError(f"{self.display_url}: no run with id {run_id}")
        where = f"{self.display_url} run {run_id}"
        try:
            env = Environment.from_dict(json.loads(run.environment))
            res = tuple(Result.from_dict(json.loads(d), where) for d in docs)
        except (ValueError, ResultFormatError) as exc:
            raise StoreError(f"{where}: stored data is damaged: {exc}") from None
        return ResultSet(environment=env, results=res)


# A row beside a saved run's metrics: the median seconds per round of the reference loop
# its worker processes timed (``time.extra["process_references"]``) — how fast the machine
# ran. History reads it to tell a run on a machine in another state from a change.
MACHINE_METRIC = "machine"


def _machine(r: Result) -> Metric | None:
    from perfgate.analysis.run_noise import machine_level

    t = r.metrics.get("time")
    refs = t.extra.get("process_references") if t is not None and t.extra else None
    level = machine_level(refs) if isinstance(refs, list) else None
    return None if level is None else Metric.gauge(level, "s")


def _metric_row(run_id: int, res_id: int, result: str, name: str, m: Metric) -> dict[str, Any]:
    def fin(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else float(x)

    return {"run_id": run_id, "result_id": res_id, "result_name": _text(result),
            "name": _text(name),
            "unit": _text(m.unit), "kind": m.kind, "value": fin(m.central), "ci_low": fin(m.ci_low),
            "ci_high": fin(m.ci_high), "n": m.n}


def open_store(url: str | None = None) -> Store:
    """Open (creating or migrating) the store at ``url``: ``None``/"" is
    ``sqlite:///.perfgate/history.db``, a bare path is a SQLite file, ``postgresql://…``
    uses psycopg. Raises :class:`perfgate.StoreError` with the password masked."""
    return Store(url)
