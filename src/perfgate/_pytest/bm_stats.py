"""pytest-benchmark's ``benchmark.stats`` shape, computed from perfgate's samples.

``benchmark.stats`` is a :class:`Metadata`; ``benchmark.stats.stats`` a :class:`Stats`
(``.mean``, ``.min``, ``.q1``, ``.rounds``, ``.data`` …), and ``benchmark.stats["mean"]``
reads the same field. Quartiles follow pytest-benchmark's definitions (Wikipedia methods 2
and 3) so numbers line up with history written by pytest-benchmark.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from functools import cached_property
from typing import Any, Protocol

__all__ = ["FIELDS", "Metadata", "Stats", "timer_name"]

FIELDS = (
    "min", "max", "mean", "stddev", "rounds", "median", "iqr", "q1", "q3",
    "iqr_outliers", "stddev_outliers", "outliers", "ld15iqr", "hd15iqr", "ops", "total",
)


def timer_name(timer: Callable[..., Any]) -> str:
    """``time.perf_counter``: how pytest-benchmark writes a timer into its JSON."""
    module = getattr(timer, "__module__", None)
    name = getattr(timer, "__name__", None) or repr(timer)
    return f"{module}.{name}" if module else str(name)


class Stats:
    """Per-round seconds per iteration, summarised as pytest-benchmark does."""

    def __init__(self, data: list[float] | None = None) -> None:
        self.data: list[float] = list(data or [])

    def __bool__(self) -> bool:
        return bool(self.data)

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}

    @cached_property
    def sorted_data(self) -> list[float]:
        return sorted(self.data)

    @cached_property
    def total(self) -> float:
        return float(sum(self.data))

    @cached_property
    def min(self) -> float:
        return min(self.data)

    @cached_property
    def max(self) -> float:
        return max(self.data)

    @cached_property
    def mean(self) -> float:
        return statistics.mean(self.data)

    @cached_property
    def stddev(self) -> float:
        return statistics.stdev(self.data) if len(self.data) > 1 else 0.0

    @cached_property
    def rounds(self) -> int:
        return len(self.data)

    @cached_property
    def median(self) -> float:
        return statistics.median(self.data)

    @cached_property
    def q1(self) -> float:
        n, d = self.rounds, self.sorted_data
        if n == 1:
            return d[0]
        if n % 2:
            k, r = n // 4, n % 4
            return 0.25 * d[k - 1] + 0.75 * d[k] if r == 1 else 0.75 * d[k] + 0.25 * d[k + 1]
        return statistics.median(d[: n // 2])

    @cached_property
    def q3(self) -> float:
        n, d = self.rounds, self.sorted_data
        if n == 1:
            return d[0]
        if n % 2:
            k, r = n // 4, n % 4
            if r == 1:
                return 0.75 * d[3 * k] + 0.25 * d[3 * k + 1]
            return 0.25 * d[3 * k + 1] + 0.75 * d[3 * k + 2]
        return statistics.median(d[n // 2:])

    @cached_property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def iqr_outliers(self) -> int:
        lo, hi = self.q1 - 1.5 * self.iqr, self.q3 + 1.5 * self.iqr
        return sum(1 for x in self.data if x < lo or x > hi)

    @property
    def stddev_outliers(self) -> int:
        lo, hi = self.mean - self.stddev, self.mean + self.stddev
        return sum(1 for x in self.data if x < lo or x > hi)

    @cached_property
    def outliers(self) -> str:
        return f"{self.stddev_outliers};{self.iqr_outliers}"

    @cached_property
    def ld15iqr(self) -> float:
        if self.rounds == 1:
            return self.data[0]
        return self.sorted_data[bisect_left(self.sorted_data, self.q1 - 1.5 * self.iqr)]

    @cached_property
    def hd15iqr(self) -> float:
        if self.rounds == 1:
            return self.data[0]
        return self.sorted_data[bisect_right(self.sorted_data, self.q3 + 1.5 * self.iqr) - 1]

    @cached_property
    def ops(self) -> float:
        return self.rounds / self.total if self.total else 0.0


class _Owner(Protocol):
    name: str
    fullname: str
    group: str | None
    param: str | None
    params: dict[str, Any] | None
    extra_info: dict[str, Any]
    has_error: bool


class Metadata:
    """One benchmark's record, as pytest-benchmark's ``Metadata``: fixture fields + stats."""

    def __init__(
        self, fixture: _Owner, data: list[float], iterations: int, options: dict[str, Any]
    ) -> None:
        self.fixture = fixture
        self.stats = Stats(data)
        self.iterations = iterations
        self.options = options
        self.cprofile_stats = None

    # Read through to the fixture: tests set group/extra_info after the call, too.
    name = property(lambda self: self.fixture.name)
    fullname = property(lambda self: self.fixture.fullname)
    group = property(lambda self: self.fixture.group)
    param = property(lambda self: self.fixture.param)
    params = property(lambda self: self.fixture.params)
    extra_info = property(lambda self: self.fixture.extra_info)
    has_error = property(lambda self: self.fixture.has_error)

    def __bool__(self) -> bool:
        return bool(self.stats)

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self.stats, key)
        except AttributeError:
            return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except AttributeError:
            return default

    def as_dict(
        self, include_data: bool = True, flat: bool = False, stats: bool = True,
        cprofile: Any = None,
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "group": self.group,
            "name": self.name,
            "fullname": self.fullname,
            "params": self.params,
            "param": self.param,
            "extra_info": self.extra_info,
            "options": dict(self.options),
        }
        if stats:
            s = self.stats.as_dict()
            if include_data:
                s["data"] = list(self.stats.data)
            s["iterations"] = self.iterations
            if flat:
                d.update(s)
            else:
                d["stats"] = s
        return d
