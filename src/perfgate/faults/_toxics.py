"""Toxics: what the fault proxy does to the bytes of one direction of one connection.

The model is Toxiproxy's. A toxic has a kind, a direction (``upstream``: client → server,
``downstream``: server → client, the default) and a *toxicity*, the probability that it
applies to a given connection (drawn once per connection and toxic, from a seeded RNG).

The proxy reads a chunk, stamps it with its arrival time and passes it through the
direction's toxics in the order they were added. Each toxic turns the list of pending
:class:`Item` s — bytes with the instant they may be written, or a close/reset — into a new
list: ``latency`` moves the instants later, ``bandwidth`` spaces them by size / rate,
``slicer`` cuts the bytes into small delayed pieces, ``limit_data`` and ``reset_peer``
truncate and end the connection, ``timeout`` swallows everything (and optionally closes
later). ``slow_close`` acts on the end of the stream only. A writer then emits the items at
their instants, never reordering them. Because a chunk's delay counts from its own arrival,
a response of many chunks is delayed once, not once per chunk.

Specs are immutable; changing a toxic replaces its spec (a new ``version``), and each
connection keeps its per-toxic state (bytes seen, the bandwidth clock) keyed by name.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from perfgate._errors import UsageError
from perfgate.units import parse_duration, parse_unit

__all__ = ["KINDS", "Item", "LinkState", "ToxicSpec", "apply_toxics", "make_toxic",
           "parse_toxic"]

Direction = Literal["upstream", "downstream"]
Action = Literal["data", "close", "reset"]

# kind -> (main parameter, {parameter: type}) ; "s" durations, "B" bytes, "B/s" rates
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "latency": ("latency", {"latency": "s", "jitter": "s", "distribution": "str"}),
    "bandwidth": ("rate", {"rate": "B/s"}),
    "slow_close": ("delay", {"delay": "s"}),
    "timeout": ("timeout", {"timeout": "s"}),
    "reset_peer": ("after", {"after": "B"}),
    "slicer": ("size", {"size": "B", "variation": "B", "delay": "s"}),
    "limit_data": ("bytes", {"bytes": "B"}),
}
_DISTRIBUTIONS = ("uniform", "normal", "exponential")
_DEFAULTS: dict[str, dict[str, Any]] = {
    "latency": {"jitter": 0.0, "distribution": "uniform"},
    "bandwidth": {},
    "slow_close": {"delay": 0.0},
    "timeout": {"timeout": 0.0},
    "reset_peer": {"after": 0},
    "slicer": {"size": 64, "variation": 0, "delay": 0.0},
    "limit_data": {},
}
_BANDWIDTH_PIECE_S = 0.01  # a bandwidth-limited chunk is written in pieces of 10 ms each


@dataclass(frozen=True)
class ToxicSpec:
    """One toxic as configured (``params`` in base units: s, B, B/s)."""

    name: str
    kind: str
    params: dict[str, Any]
    direction: Direction = "downstream"
    toxicity: float = 1.0
    version: int = 0

    def describe(self) -> str:
        main = KINDS[self.kind][0]
        v = self.params.get(main)
        shown = f"={_show(v, KINDS[self.kind][1][main])}" if v is not None else ""
        extra = "" if self.toxicity >= 1 else f" p={self.toxicity:g}"
        return f"{self.kind}{shown} {self.direction}{extra}"


def _show(v: Any, typ: str) -> str:
    from perfgate.units import format_value

    if typ == "str":
        return str(v)
    return format_value(float(v), typ).replace(" ", "")


@dataclass
class Item:
    """Pending output of one direction: bytes to write at ``t`` (loop time, s), or an end."""

    t: float
    action: Action = "data"
    data: bytes = b""


@dataclass
class LinkState:
    """One connection-direction's memory of each toxic (by name)."""

    rng: random.Random
    applies: dict[tuple[str, int], bool] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # bytes passed (limit, reset)
    free_at: dict[str, float] = field(default_factory=dict)  # bandwidth clock
    ended: bool = False  # a toxic ended the stream: drop the rest
    timeout_armed: set[str] = field(default_factory=set)
    last_t: float = 0.0  # items never leave before an earlier one

    def active(self, spec: ToxicSpec) -> bool:
        key = (spec.name, spec.version)
        if key not in self.applies:
            self.applies[key] = spec.toxicity >= 1 or self.rng.random() < spec.toxicity
        return self.applies[key]


def _delay(p: dict[str, Any], rng: random.Random) -> float:
    base, jitter = float(p["latency"]), float(p.get("jitter", 0.0))
    dist = p.get("distribution", "uniform")
    if jitter <= 0:
        return base
    if dist == "normal":
        d = rng.gauss(base, jitter)
    elif dist == "exponential":
        d = base + rng.expovariate(1 / jitter)
    else:
        d = base + rng.uniform(-jitter, jitter)
    return max(0.0, d)


def apply_toxics(items: list[Item], toxics: tuple[ToxicSpec, ...], st: LinkState,
                 now: float) -> list[Item]:
    """Pass one chunk's items through the toxics (see the module docstring)."""
    if st.ended:
        return []
    for spec in toxics:
        if not items or not st.active(spec):
            continue
        items = _one(spec, items, st, now)
    if any(it.action != "data" for it in items):
        st.ended = True
    for it in items:  # keep order: nothing is written before what came earlier
        it.t = max(it.t, st.last_t)
        st.last_t = it.t
    return items


def _one(spec: ToxicSpec, items: list[Item], st: LinkState, now: float) -> list[Item]:
    p, kind = spec.params, spec.kind
    if kind == "latency":
        for it in items:
            it.t += _delay(p, st.rng)
        return items
    if kind == "bandwidth":
        rate = float(p["rate"])
        out: list[Item] = []
        for it in items:
            if it.action != "data":
                out.append(it)
                continue
            piece = max(1, int(rate * _BANDWIDTH_PIECE_S))
            for i in range(0, len(it.data), piece):
                chunk = it.data[i:i + piece]
                start = max(it.t, st.free_at.get(spec.name, 0.0))
                st.free_at[spec.name] = start + len(chunk) / rate
                out.append(Item(st.free_at[spec.name], "data", chunk))
        return out
    if kind == "slicer":
        size, var, delay = int(p["size"]), int(p.get("variation", 0)), float(p["delay"])
        out = []
        for it in items:
            if it.action != "data":
                out.append(it)
                continue
            i, t = 0, it.t
            while i < len(it.data):
                n = max(1, size + (st.rng.randint(-var, var) if var else 0))
                out.append(Item(t, "data", it.data[i:i + n]))
                i += n
                t += delay
        return out
    if kind in ("limit_data", "reset_peer"):
        limit = int(p["bytes"] if kind == "limit_data" else p["after"])
        end: Action = "close" if kind == "limit_data" else "reset"
        out = []
        for it in items:
            if it.action != "data":
                out.append(it)
                continue
            seen = st.seen.get(spec.name, 0)
            room = limit - seen
            if room > len(it.data) or (kind == "limit_data" and room == len(it.data) == 0):
                st.seen[spec.name] = seen + len(it.data)
                out.append(it)
                continue
            if room > 0:
                out.append(Item(it.t, "data", it.data[:room]))
            st.seen[spec.name] = limit
            out.append(Item(it.t, end))
            break
        return out
    if kind == "timeout":
        t = float(p["timeout"])
        if t > 0 and spec.name not in st.timeout_armed:
            st.timeout_armed.add(spec.name)
            return [Item(now + t, "close")]
        return []
    return items  # slow_close acts at the end of the stream (see the proxy)


# --------------------------------------------------------------------------- parsing


def _value(kind: str, key: str, raw: Any, where: str) -> Any:
    typ = KINDS[kind][1].get(key)
    if typ is None:
        known = ", ".join(KINDS[kind][1])
        raise UsageError(f"{where}: {kind} has no parameter {key!r} (known: {known})")
    if typ == "str":
        if raw not in _DISTRIBUTIONS:
            raise UsageError(f"{where}: {key} must be one of {', '.join(_DISTRIBUTIONS)}, "
                             f"got {raw!r}")
        return raw
    if isinstance(raw, bool):
        raise UsageError(f"{where}: {key}={raw!r} is not a number")
    if typ == "s":
        if isinstance(raw, int | float):
            v = float(raw)
        else:
            try:
                v = parse_duration(str(raw))
            except ValueError:
                raise UsageError(f"{where}: {key}={raw!r} is not a duration "
                                 "(examples: 200ms, 1.5s)") from None
    else:
        v = _amount(raw, typ, key, where)
    if not math.isfinite(v) or v < 0:
        raise UsageError(f"{where}: {key}={raw!r} must be a finite value ≥ 0")
    if typ == "B/s" and v <= 0:
        raise UsageError(f"{where}: {key} must be positive")
    return int(v) if typ == "B" else v


def _amount(raw: Any, typ: str, key: str, where: str) -> float:
    if isinstance(raw, int | float):
        return float(raw)
    s = str(raw).strip()
    i = len(s)
    while i > 0 and not (s[i - 1].isdigit() or s[i - 1] == "."):
        i -= 1
    spec = parse_unit(s[i:].strip() or ("B" if typ == "B" else "B/s"))
    try:
        number = float(s[:i])
    except ValueError:
        number = math.nan
    if spec is None or spec[1] != typ or math.isnan(number):
        ex = "64, 1kB" if typ == "B" else "100kB/s, 1MB/s"
        raise UsageError(f"{where}: {key}={raw!r} is not in {typ} (examples: {ex})")
    return number * spec[0]


def _toxicity(raw: Any, where: str) -> float:
    try:
        s = str(raw).strip()
        v = float(s[:-1]) / 100 if s.endswith("%") else float(s)
    except ValueError:
        raise UsageError(f"{where}: toxicity={raw!r} is not a probability "
                         "(0..1 or a percentage)") from None
    if not 0 <= v <= 1:
        raise UsageError(f"{where}: toxicity={raw!r} must be between 0 and 1 (or 0%..100%)")
    return v


def make_toxic(kind: str, params: dict[str, Any], *, name: str | None = None,
               direction: str = "downstream", toxicity: Any = 1.0,
               where: str = "toxic") -> ToxicSpec:
    """A validated :class:`ToxicSpec`; bad input raises UsageError naming ``where``."""
    if kind not in KINDS:
        raise UsageError(f"{where}: unknown toxic {kind!r} (known: {', '.join(KINDS)})")
    if direction not in ("upstream", "downstream"):
        raise UsageError(f"{where}: direction must be upstream or downstream, "
                         f"got {direction!r}")
    values = dict(_DEFAULTS[kind])
    for k, raw in params.items():
        values[k] = _value(kind, k, raw, where)
    main = KINDS[kind][0]
    if main not in values:
        raise UsageError(f"{where}: {kind} needs {main}=… (e.g. {kind}={_EXAMPLE[kind]})")
    if kind == "slicer" and values["size"] < 1:
        raise UsageError(f"{where}: slicer size must be at least 1 byte")
    d: Direction = "upstream" if direction == "upstream" else "downstream"
    return ToxicSpec(name or kind, kind, values, d, _toxicity(toxicity, where))


_EXAMPLE = {"latency": "200ms", "bandwidth": "100kB/s", "slow_close": "1s", "timeout": "0",
            "reset_peer": "0", "slicer": "64", "limit_data": "1kB"}


def parse_toxic(text: str, where: str = "--toxic") -> ToxicSpec:
    """``latency=200ms,jitter=10ms,direction=upstream,toxicity=50%,name=db`` → spec.

    The first ``key=value`` (or bare ``key``) names the kind and gives its main parameter."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UsageError(f"{where} {text!r}: empty toxic (e.g. latency=200ms)")
    head, _, main = parts[0].partition("=")
    kind = head.strip()
    place = f"{where} {text!r}"
    if kind not in KINDS:
        raise UsageError(f"{place}: unknown toxic {kind!r} (known: {', '.join(KINDS)})")
    params: dict[str, Any] = {}
    if main.strip():
        params[KINDS[kind][0]] = main.strip()
    opts: dict[str, Any] = {}
    for part in parts[1:]:
        k, eq, v = part.partition("=")
        if not eq:
            raise UsageError(f"{place}: expected key=value, got {part!r}")
        k = k.strip()
        (opts if k in ("direction", "toxicity", "name") else params)[k] = v.strip()
    return make_toxic(kind, params, name=opts.get("name"),
                      direction=opts.get("direction", "downstream"),
                      toxicity=opts.get("toxicity", 1.0), where=place)


def bump(spec: ToxicSpec, params: dict[str, Any], where: str) -> ToxicSpec:
    """``spec`` with some parameters changed (validated), as a new version."""
    merged = dict(spec.params)
    for k, raw in params.items():
        if k == "toxicity":
            spec = replace(spec, toxicity=_toxicity(raw, where))
            continue
        merged[k] = _value(spec.kind, k, raw, where)
    return replace(spec, params=merged, version=spec.version + 1)
