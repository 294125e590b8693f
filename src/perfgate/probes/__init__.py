"""Probes: measurements attached to a run. Here: database statements (queries), outbound
HTTP requests and cache commands (calls).

``QueryProbe`` counts statements from SQLAlchemy engines and sqlite3 connections with no
change to the code under test, and from any DB-API connection passed through :func:`wrap`.
``HttpProbe`` counts requests made through requests, urllib3, urllib.request, httpx and
aiohttp; ``CacheProbe`` counts redis-py commands (sync and asyncio). See docs/sweeps.md.
"""

from perfgate.probes._cache import CacheProbe, count_cache_calls
from perfgate.probes._calls import Call, CallProbe, OpCalls, normalize_ids
from perfgate.probes._calls_pass import CallsPass, KindPass, calls_pass
from perfgate.probes._dbapi import ProbedConnection, ProbedCursor, wrap
from perfgate.probes._http import HttpProbe, count_http_calls, normalize_url
from perfgate.probes._pass import QueryPass, query_pass
from perfgate.probes._queries import OpQueries, QueryProbe, count_queries, record_statement
from perfgate.probes._sql import is_transaction_control, normalize

__all__ = [
    "CacheProbe",
    "Call",
    "CallProbe",
    "CallsPass",
    "HttpProbe",
    "KindPass",
    "OpCalls",
    "OpQueries",
    "ProbedConnection",
    "ProbedCursor",
    "QueryPass",
    "QueryProbe",
    "calls_pass",
    "count_cache_calls",
    "count_http_calls",
    "count_queries",
    "is_transaction_control",
    "normalize",
    "normalize_ids",
    "normalize_url",
    "query_pass",
    "record_statement",
    "wrap",
]
