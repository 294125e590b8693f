"""The history store's tables and their migrations.

Schema history (``perfgate_meta.schema_version``; bump ``LATEST`` and add a migration for
any change, never edit an old one):
    1 — runs, results, metrics (perfgate 0.1).
    2 — ``runs.source`` (where a run came from: perfgate, gate, pytest-benchmark import),
        an index on ``metrics(result_name, name)`` for history queries.

A database with tables but no ``perfgate_meta`` is someone else's: perfgate refuses to
write into it. A schema newer than ``LATEST`` was written by a newer perfgate: refused too.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

__all__ = ["LATEST", "MIGRATIONS", "tables"]

LATEST = 2


def tables(md: sa.MetaData, version: int = LATEST) -> dict[str, sa.Table]:
    """The tables as they are at ``version`` (the migrations build exactly these)."""
    meta = sa.Table(
        "perfgate_meta", md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    run_cols: list[sa.Column[object]] = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.String(40), nullable=False, index=True),
        sa.Column("saved_at", sa.String(40), nullable=False),
        sa.Column("git_commit", sa.String(64)),
        sa.Column("git_branch", sa.String(255)),
        sa.Column("git_dirty", sa.Boolean),
        sa.Column("hostname", sa.String(255)),
        sa.Column("environment", sa.Text, nullable=False),
    ]
    if version >= 2:
        run_cols.append(
            sa.Column("source", sa.String(64), nullable=False, server_default="perfgate")
        )
    runs = sa.Table("runs", md, *run_cols)
    results = sa.Table(
        "results", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(512), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )
    metrics = sa.Table(
        "metrics", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("result_name", sa.String(512), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("ci_low", sa.Float),
        sa.Column("ci_high", sa.Float),
        sa.Column("n", sa.Integer),
    )
    if version >= 2:
        sa.Index("ix_metrics_result_metric", metrics.c.result_name, metrics.c.name)
    return {"meta": meta, "runs": runs, "results": results, "metrics": metrics}


def _v1(conn: sa.Connection) -> None:
    md = sa.MetaData()
    tables(md, 1)
    md.create_all(conn)


def _v2(conn: sa.Connection) -> None:
    conn.execute(sa.text(
        "ALTER TABLE runs ADD COLUMN source VARCHAR(64) NOT NULL DEFAULT 'perfgate'"
    ))
    conn.execute(sa.text(
        "CREATE INDEX IF NOT EXISTS ix_metrics_result_metric ON metrics (result_name, name)"
    ))


# MIGRATIONS[v] brings a store from version v - 1 to v.
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {1: _v1, 2: _v2}
