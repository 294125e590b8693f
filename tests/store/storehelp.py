"""Helpers shared by the store tests (importable by forked writer processes too)."""

from __future__ import annotations

from perfgate import Environment, Metric, Result, ResultSet
from perfgate.analysis.stats import summarize


def make_rs(commit: str = "abc123", started: str = "2026-11-01T10:00:00+00:00",
            median: float = 1e-3, name: str = "parse") -> ResultSet:
    samples = [median * (1 + 0.01 * ((i % 7) - 3)) for i in range(30)]
    res = Result(name=name, kind="bench", params={"n": 3},
                 metrics={"time": summarize(samples), "alloc_bytes": Metric.gauge(100.0, "B")})
    env = Environment(python_version="3.11.7", started_at=started, git_commit=commit,
                      git_branch="main", git_dirty=False, hostname="h")
    return ResultSet(environment=env, results=(res,))
