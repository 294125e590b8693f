"""Every Result produced during a pytest session, for the summary table and --perfgate-json.

Entries are resolved at the end of the session, not when added: a burst's verdicts are added
by ``outcome.check`` after the burst ran, and ``benchmark.extra_info`` is often filled in
after ``benchmark(...)`` returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from perfgate.model import Result, ResultSet

__all__ = ["COLLECTOR", "Collector", "Entry"]


@dataclass
class Entry:
    """One result source: ``get()`` returns the Result as it stands now (or None)."""

    nodeid: str
    get: Callable[[], Result | None]
    via: str  # "perf" or "benchmark": which fixture made it


@dataclass
class Collector:
    entries: list[Entry] = field(default_factory=list)

    def add(self, nodeid: str, get: Callable[[], Result | None], via: str) -> Entry:
        entry = Entry(nodeid, get, via)
        self.entries.append(entry)
        return entry

    def add_result(self, nodeid: str, result: Result, via: str) -> Entry:
        return self.add(nodeid, lambda: result, via)

    def results(self, via: str | None = None) -> list[Result]:
        out: list[Result] = []
        for e in self.entries:
            if via is not None and e.via != via:
                continue
            r = e.get()
            if r is not None:
                out.append(r)
        return out

    def result_set(self) -> ResultSet:
        from perfgate.env import collect
        from perfgate.model import ResultSet

        return ResultSet(environment=collect(), results=tuple(self.results()))

    def write_json(self, path: str | Path) -> ResultSet:
        from perfgate.model import write_json

        rs = self.result_set()
        write_json(path, rs)
        return rs


COLLECTOR = pytest.StashKey[Collector]()
