"""The history store (SQLAlchemy): SQLite by default, PostgreSQL or any SQLAlchemy URL.

    with open_store("sqlite:///.perfgate/history.db") as store:
        run_id = store.save(result_set)
        for run in store.runs("parse_orders"):
            ...

See docs/history.md.
"""

from __future__ import annotations

from perfgate.store._import import from_pytest_benchmark, import_file
from perfgate.store._schema import LATEST as SCHEMA_VERSION
from perfgate.store._store import (
    DEFAULT_URL,
    MACHINE_METRIC,
    MetricPoint,
    RunInfo,
    SeriesPoint,
    Store,
    mask_url,
    open_store,
)

__all__ = [
    "DEFAULT_URL",
    "MACHINE_METRIC",
    "SCHEMA_VERSION",
    "MetricPoint",
    "RunInfo",
    "SeriesPoint",
    "Store",
    "from_pytest_benchmark",
    "import_file",
    "mask_url",
    "open_store",
]
