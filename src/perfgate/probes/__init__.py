"""Probes: measurements attached to a run. Here: database statements (queries).

``QueryProbe`` counts statements from SQLAlchemy engines and sqlite3 connections with no
change to the code under test, and from any DB-API connection passed through :func:`wrap`.
See docs/sweeps.md.
"""

from perfgate.probes._dbapi import ProbedConnection, ProbedCursor, wrap
from perfgate.probes._pass import QueryPass, query_pass
from perfgate.probes._queries import OpQueries, QueryProbe, count_queries, record_statement
from perfgate.probes._sql import is_transaction_control, normalize

__all__ = [
    "OpQueries",
    "ProbedConnection",
    "ProbedCursor",
    "QueryPass",
    "QueryProbe",
    "count_queries",
    "is_transaction_control",
    "normalize",
    "query_pass",
    "record_statement",
    "wrap",
]
