"""The load engine: closed and open models, HTTP at wrk-class speed, honest percentiles.

Public entry points (re-exported by :mod:`perfgate`): :func:`load`, :func:`expect`,
:func:`scenario`, :func:`closed`, :func:`open`, :class:`Request`, :class:`HttpClient`,
:class:`Response`, :class:`LiveStats`, and the capacity search :func:`capacity`.
See docs/load.md and docs/capacity.md.
"""

from __future__ import annotations

from perfgate.load._api import load, make_executor
from perfgate.load._capacity import capacity
from perfgate.load._executors import Closed, Open, closed, open
from perfgate.load._histogram import LogHistogram
from perfgate.load._http import HttpClient, Request, Response, is_loopback
from perfgate.load._outcomes import expect
from perfgate.load._run import LiveStats
from perfgate.load._scenario import scenario

__all__ = [
    "Closed",
    "HttpClient",
    "LiveStats",
    "LogHistogram",
    "Open",
    "Request",
    "Response",
    "capacity",
    "closed",
    "expect",
    "is_loopback",
    "load",
    "make_executor",
    "open",
    "scenario",
]
