"""The query pass: a few untimed calls under the query probe, after the timed rounds.

Counting statements (normalising them, finding the user's line) costs time, so it never
happens while rounds are timed: like the memory pass, it is a separate pass.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from perfgate.bench._calls import _NO_ARG, Caller
from perfgate.bench._phases import recording
from perfgate.model import Metric
from perfgate.probes._queries import OpQueries, QueryProbe

__all__ = ["QueryPass", "query_pass"]


def _median_int(values: list[int]) -> int:
    return round(statistics.median(values)) if values else 0


@dataclass
class QueryPass:
    """Per-call query counts of one target (at one size)."""

    ops: list[OpQueries] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Statements per operation (the median over the calls of the pass)."""
        return _median_int([op.total for op in self.ops])

    def phases(self) -> dict[str, int]:
        names = sorted({p for op in self.ops for p in op.phases})
        return {p: _median_int([op.phases.get(p, 0) for op in self.ops]) for p in names}

    def statements(self) -> dict[str, int]:
        """Normalised statement → times issued per operation (median over the calls)."""
        names = {s for op in self.ops for s in op.statements}
        counts = {s: _median_int([op.statements.get(s, 0) for op in self.ops]) for s in names}
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def location_of(self, statement: str) -> str | None:
        for op in reversed(self.ops):
            loc = op.location_of(statement)
            if loc is not None:
                return loc
        return None

    def counted(self) -> dict[tuple[str, str], int]:
        """("query", statement) → times issued per operation, for the sweep's N+1 search."""
        return {("query", s): c for s, c in self.statements().items()}

    def locate(self, kind: str, statement: str) -> str | None:
        return self.location_of(statement) if kind == "query" else None

    def metrics(self) -> dict[str, Metric]:
        totals = [op.total for op in self.ops]
        out = {"queries": Metric(
            unit="1", kind="counter", value=float(self.total), n=len(totals),
            min=float(min(totals)) if totals else None,
            max=float(max(totals)) if totals else None,
        )}
        for name, count in self.phases().items():
            out[f"queries.{name}"] = Metric.counter(float(count), "1")
        return out

    def to_dict(self) -> list[dict[str, Any]]:
        """The statements, most frequent first: ``{"statement", "count", "location"}``."""
        return [
            {"statement": s, "count": c, "location": self.location_of(s)}
            for s, c in self.statements().items()
        ]


def query_pass(
    fn: Callable[..., Any], arg: Any = _NO_ARG, calls: int = 3, caller: Caller | None = None
) -> QueryPass:
    """Call ``fn`` (with ``arg`` when given) ``calls`` times, counting each call's statements."""
    own = caller is None
    c = caller or Caller(fn, arg)
    result = QueryPass()
    try:
        with QueryProbe() as probe, recording():
            c.run_each(max(1, calls), probe.begin_op, lambda _v: result.ops.append(probe.end_op()))
    finally:
        if own:
            c.close()
    return result
