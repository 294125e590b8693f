"""The load engine: closed and open models, HTTP at wrk-class speed, honest percentiles.

Engine-level names only; the public ``pg.load(...)``, ``pg.scenario`` (entry points that
build specs) live in :mod:`perfgate._api` and :mod:`perfgate.suite`. See docs/load.md.
"""

from __future__ import annotations

from perfgate.load._api import make_executor, run_load
from perfgate.load._executors import Closed, Open, closed, open
from perfgate.load._histogram import LogHistogram
from perfgate.load._http import HttpClient, Request, Response
from perfgate.load._outcomes import expect
from perfgate.load._run import LiveStats

__all__ = [
    "Closed",
    "HttpClient",
    "LiveStats",
    "LogHistogram",
    "Open",
    "Request",
    "Response",
    "closed",
    "expect",
    "make_executor",
    "open",
    "run_load",
]
