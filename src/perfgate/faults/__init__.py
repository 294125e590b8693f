"""Fault injection: what a system does when a dependency is slow, down or flaky, and how fast
it recovers (docs/faults.md).

- :class:`Proxy` — a TCP fault proxy with toxics (latency, bandwidth, slow_close, timeout,
  reset_peer, slicer, limit_data) and down/up, in front of PostgreSQL, Redis, any TCP server;
- :class:`HttpFaultProxy` — HTTP-level faults: error statuses, delays, responses cut short;
- :func:`faulty` — in-process faults for callables: delayed, raising or hanging calls;
- :func:`baseline`, :func:`fault`, :func:`recovery` — a load test's fault schedule
  (``pg.load(..., faults=[...])``), with per-phase metrics, degradation and recovery time.
"""

from perfgate.faults._callables import Faulty, faulty
from perfgate.faults._http import HttpFaultProxy, HttpRule
from perfgate.faults._proxy import Proxy, ProxyStats, Switch
from perfgate.faults._schedule import Phase, baseline, fault, recovery, schedule
from perfgate.faults._toxics import KINDS, ToxicSpec, parse_toxic

__all__ = [
    "KINDS",
    "Faulty",
    "HttpFaultProxy",
    "HttpRule",
    "Phase",
    "Proxy",
    "ProxyStats",
    "Switch",
    "ToxicSpec",
    "baseline",
    "fault",
    "faulty",
    "parse_toxic",
    "recovery",
    "schedule",
]
