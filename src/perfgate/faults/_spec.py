"""Fault schedules written as text (the CLI's ``--proxy`` and ``--fault``).

::

    --proxy db=127.0.0.1:6432,127.0.0.1:5432          a TCP fault proxy named db
    --http-proxy api=127.0.0.1:8081,127.0.0.1:9000    an HTTP fault proxy named api
    --fault 10s:baseline
    --fault "20s:fault:latency=300ms,jitter=10ms@db"  a phase named fault, one toxic on db
    --fault "20s:outage:down@db;status=503,fraction=0.2@api"
    --fault 20s:recovery

A phase is ``DURATION:NAME[:FAULT[;FAULT…]]``; a fault is ``WHAT@PROXY`` where WHAT is a
toxic (``latency=300ms``, see ``perfgate proxy --help``), ``down`` or ``blackhole`` for a TCP
proxy, or an HTTP rule (``status=503[,fraction=0.2]``, ``delay=2s``, ``cut``) for an HTTP
proxy. Phases named ``baseline`` and ``recovery`` take those roles; any other is a fault
phase.
"""

from __future__ import annotations

from typing import Any

from perfgate._errors import UsageError
from perfgate.faults._http import HttpFaultProxy
from perfgate.faults._proxy import Proxy
from perfgate.faults._schedule import Phase, baseline, fault, recovery
from perfgate.faults._toxics import parse_toxic

__all__ = ["parse_phase", "parse_proxy", "parse_rule"]


def parse_proxy(text: str, where: str = "--proxy") -> tuple[str, str, str]:
    """``NAME=LISTEN,UPSTREAM`` → (name, listen, upstream)."""
    name, eq, rest = text.partition("=")
    listen, comma, upstream = rest.partition(",")
    if not eq or not comma or not name.strip() or not listen.strip() or not upstream.strip():
        raise UsageError(f"{where} {text!r}: expected NAME=LISTEN,UPSTREAM "
                         "(e.g. db=127.0.0.1:6432,127.0.0.1:5432)")
    return name.strip(), listen.strip(), upstream.strip()


def parse_rule(p: HttpFaultProxy, text: str, where: str) -> Any:
    """``status=503,fraction=0.2`` / ``delay=2s`` / ``cut[,fraction=0.1]`` → a fault."""
    kw: dict[str, Any] = {}
    for part in (x.strip() for x in text.split(",") if x.strip()):
        k, eq, v = part.partition("=")
        try:
            if k == "cut" and not eq:
                kw["cut"] = True
            elif k == "status" and eq:
                kw["status"] = int(v)
            elif k == "fraction" and eq:
                kw["fraction"] = float(v[:-1]) / 100 if v.endswith("%") else float(v)
            elif k == "delay" and eq:
                kw["delay"] = v
            else:
                raise UsageError(f"{where}: unknown {part!r} (status=N, delay=D, cut, "
                                 "fraction=F)")
        except ValueError as exc:
            if isinstance(exc, UsageError):
                raise
            raise UsageError(f"{where}: {k}={v!r} is not a number") from None
    try:
        return p.fault(**kw)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _one_fault(text: str, proxies: dict[str, Proxy | HttpFaultProxy], where: str) -> Any:
    what, at, name = text.rpartition("@")
    if not at:
        raise UsageError(f"{where}: {text!r} names no proxy (write WHAT@PROXY, e.g. "
                         "latency=300ms@db)")
    p = proxies.get(name.strip())
    if p is None:
        known = ", ".join(proxies) or "none — add --proxy NAME=LISTEN,UPSTREAM"
        raise UsageError(f"{where}: no proxy named {name.strip()!r} (known: {known})")
    what = what.strip()
    if isinstance(p, HttpFaultProxy):
        return parse_rule(p, what, where)
    if what in ("down", "refuse"):
        return p.down("refuse")
    if what == "blackhole":
        return p.down("blackhole")
    return p.toxic(parse_toxic(what, where=where))


def parse_phase(text: str, proxies: dict[str, Proxy | HttpFaultProxy],
                where: str = "--fault") -> Phase:
    """``DURATION:NAME[:FAULT;…]`` → a :class:`Phase` (faults bound to ``proxies``)."""
    dur, c1, rest = text.partition(":")
    name, _, faults = rest.partition(":")
    place = f"{where} {text!r}"
    if not c1 or not name.strip():
        raise UsageError(f"{place}: expected DURATION:NAME[:FAULT;…] (e.g. 10s:baseline, "
                         "20s:fault:latency=300ms@db)")
    name = name.strip()
    items = [_one_fault(f, proxies, place) for f in faults.split(";") if f.strip()]
    if name == "baseline" and not items:
        return baseline(dur.strip(), name=name)
    if name == "recovery" and not items:
        return recovery(dur.strip(), name=name)
    if not items:
        raise UsageError(f"{place}: phase {name!r} has no fault (only baseline and recovery "
                         "may have none)")
    return fault(dur.strip(), *items, name=name)
