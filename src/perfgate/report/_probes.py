"""What the probes counted, in words, for the terminal and Markdown reports.

One line per result puts the counts per operation side by side — database statements, HTTP
requests, cache commands, each with its breakdown (method or command, host, phase) — and one
line per N+1 finding says what repeats, how often, of which kind, and where it is issued.
Only what the Result holds is shown; nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfgate.model import Result

__all__ = ["n_plus_one_line", "probe_counts_line"]

_PROBES = (("queries", "query", "queries"), ("http_calls", "HTTP call", "HTTP calls"),
           ("cache_calls", "cache command", "cache commands"))
_KIND_WORD = {"query": "query", "http": "HTTP call", "cache": "cache command"}


def _count(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _breakdown(r: Result, name: str) -> str:
    subs = []
    for key, m in r.metrics.items():
        if key.startswith(name + ".") and m.value is not None:
            sub = key[len(name) + 1:]
            order = 0 if sub.isupper() else 1 if sub.startswith("host=") else 2
            subs.append((order, sub, _count(m.value)))
    return ", ".join(f"{sub} {v}" for _, sub, v in sorted(subs))


def probe_counts_line(r: Result) -> str | None:
    """``3 queries · 6 HTTP calls (GET 5, POST 1, host=api 6, fetch 5) · 0 cache commands
    per operation`` — or None when no probe ran."""
    parts = []
    for name, one, many in _PROBES:
        m = r.metrics.get(name)
        if m is None or m.value is None:
            continue
        word = one if m.value == 1 else many
        detail = _breakdown(r, name)
        parts.append(f"{_count(m.value)} {word}" + (f" ({detail})" if detail else ""))
    if not parts:
        return None
    sizes = r.extra.get("sizes")
    at = f" at n={sizes[-1]}" if r.kind == "sweep" and isinstance(sizes, list) and sizes else ""
    return " · ".join(parts) + f" per operation{at}"


def n_plus_one_line(item: Mapping[str, Any]) -> str:
    """``N+1 HTTP call: GET http://api/items/{id} ran 16× per operation, issued at f.py:12``."""
    kind = _KIND_WORD.get(str(item.get("kind") or "query"), str(item.get("kind")))
    return (f"N+1 {kind}: {item.get('statement')} ran {item.get('count')}× per operation, "
            f"issued at {item.get('location') or 'an unknown line'}")
