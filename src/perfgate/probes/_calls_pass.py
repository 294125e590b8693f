"""The calls pass: a few untimed calls under the HTTP and cache probes, after the timed rounds.

Like the query pass, counting (normalising URLs and keys, finding the user's line) never
happens while rounds are timed. Each operation's counts are kept; a metric is the median
over the calls of the pass, so one warm-up-only request (a token fetched once) does not
count as one per operation.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from perfgate.bench._calls import _NO_ARG, Caller
from perfgate.bench._phases import recording
from perfgate.model import Metric, Result
from perfgate.probes._cache import CacheProbe
from perfgate.probes._calls import OpCalls
from perfgate.probes._http import HttpProbe

__all__ = ["CallsPass", "KindPass", "calls_pass", "iter_passes", "with_probe_passes"]


def _median_int(values: list[int]) -> int:
    return round(statistics.median(values)) if values else 0


def _medians(counters: list[Counter[str]]) -> dict[str, int]:
    names = {k for c in counters for k in c}
    counts = {k: _median_int([c.get(k, 0) for c in counters]) for k in names}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class KindPass:
    """Per-call counts of one kind of call (``http`` or ``cache``) for one target."""

    kind: str
    ops: list[OpCalls] = field(default_factory=list)

    @property
    def metric(self) -> str:
        return f"{self.kind}_calls"

    @property
    def total(self) -> int:
        """Calls per operation (the median over the calls of the pass)."""
        return _median_int([op.total for op in self.ops])

    def targets(self) -> dict[str, int]:
        """Normalised target → calls per operation (median), most frequent first."""
        return _medians([op.targets for op in self.ops])

    def location_of(self, target: str) -> str | None:
        for op in reversed(self.ops):
            loc = op.location_of(target)
            if loc is not None:
                return loc
        return None

    def metrics(self) -> dict[str, Metric]:
        totals = [op.total for op in self.ops]
        out = {self.metric: Metric(
            unit="1", kind="counter", value=float(self.total), n=len(totals),
            min=float(min(totals)) if totals else None,
            max=float(max(totals)) if totals else None,
        )}
        groups = [
            ("", [op.names for op in self.ops]),
            ("host=", [op.hosts for op in self.ops]),
            ("", [op.phases for op in self.ops]),
        ]
        for prefix, counters in groups:
            for name, count in _medians(counters).items():
                if count:
                    out[f"{self.metric}.{prefix}{name}"] = Metric.counter(float(count), "1")
        return out

    def to_dict(self) -> list[dict[str, Any]]:
        """The targets, most frequent first: ``{"call", "count", "location"}``."""
        return [{"call": t, "count": c, "location": self.location_of(t)}
                for t, c in self.targets().items()]

    def counted(self) -> dict[tuple[str, str], int]:
        """(kind, target) → calls per operation, for the sweep's N+1 search."""
        return {(self.kind, t): c for t, c in self.targets().items()}

    def locate(self, kind: str, target: str) -> str | None:
        return self.location_of(target) if kind == self.kind else None


@dataclass
class CallsPass:
    """The HTTP and cache counts of one target (at one size)."""

    http: KindPass = field(default_factory=lambda: KindPass("http"))
    cache: KindPass = field(default_factory=lambda: KindPass("cache"))

    @property
    def kinds(self) -> tuple[KindPass, KindPass]:
        return self.http, self.cache

    def metrics(self) -> dict[str, Metric]:
        return {k: m for kp in self.kinds for k, m in kp.metrics().items()}

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {kp.kind: kp.to_dict() for kp in self.kinds}

    def counted(self) -> dict[tuple[str, str], int]:
        return {**self.http.counted(), **self.cache.counted()}

    def locate(self, kind: str, target: str) -> str | None:
        return self.http.locate(kind, target) or self.cache.locate(kind, target)


def calls_pass(
    fn: Callable[..., Any], arg: Any = _NO_ARG, calls: int = 3, caller: Caller | None = None
) -> CallsPass:
    """Call ``fn`` (with ``arg`` when given) ``calls`` times, counting each call's HTTP
    requests and cache commands."""
    own = caller is None
    c = caller or Caller(fn, arg)
    result = CallsPass()

    def after(_v: Any) -> None:
        result.http.ops.append(http.end_op())
        result.cache.ops.append(cache.end_op())

    def before() -> None:
        http.begin_op()
        cache.begin_op()

    try:
        with HttpProbe() as http, CacheProbe() as cache, recording():
            c.run_each(max(1, calls), before, after)
    finally:
        if own:
            c.close()
    return result


def with_probe_passes(result: Result, fn: Callable[..., Any], arg: Any = _NO_ARG, *,
                      queries: bool = False, calls: bool = False) -> Result:
    """A benchmark's Result with the query and/or calls pass added (metrics and extra).

    A pass that raises leaves the timings and records the error, as a failed target does.
    """
    if result.error is not None or not (queries or calls):
        return result
    metrics, extra = dict(result.metrics), dict(result.extra)
    stage = "query"
    try:
        if queries:
            from perfgate.probes._pass import query_pass

            qpass = query_pass(fn, arg, calls=3)
            metrics.update(qpass.metrics())
            extra["queries"] = qpass.to_dict()
        stage = "calls"
        if calls:
            cpass = calls_pass(fn, arg, calls=3)
            metrics.update(cpass.metrics())
            extra["calls"] = cpass.to_dict()
    except Exception as exc:  # noqa: BLE001 - recorded in the result
        return replace(result, metrics=metrics, extra=extra,
                       error=f"{stage} pass: {type(exc).__name__}: {exc}")
    return replace(result, metrics=metrics, extra=extra)


def iter_passes(third: Any) -> Iterable[Any]:
    """The probe passes stored with a sweep point: none, one, or a sequence of them."""
    if third is None:
        return ()
    if isinstance(third, list | tuple):
        return [p for p in third if p is not None]
    return (third,)
