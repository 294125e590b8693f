"""The output interface (k6's ``Output``: start / add / stop) and the listener that feeds it.

A load test's coordinator calls its listener's ``live(stats)`` once per tick with cumulative
numbers (:class:`~perfgate.load.LiveStats`). :class:`LiveListener` wraps any runner listener
and hands each tick to every output. An output must never slow or stop the load: ``add``
only stores a reference or a few numbers (scrapes, pushes and exports happen on their own
threads or at the end), and an output that raises is switched off with a warning — the run
goes on and no result is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from perfgate.load._run import LiveStats
from perfgate.model import Result

__all__ = ["LiveListener", "Output"]


class Output(Protocol):
    """A live destination for load-test numbers. A new output is a new module."""

    name: str

    def start(self) -> None:
        """Open what the output needs (a port, a connection); may raise (bad address)."""

    def add(self, scenario: str, stats: LiveStats) -> None:
        """One tick of ``scenario`` (cumulative numbers): cheap, on the coordinator's thread."""

    def stop(self, results: Sequence[Result]) -> list[str]:
        """Flush, push, close; return warnings (never raise for an unreachable peer)."""


class LiveListener:
    """A runner listener that forwards everything to ``inner`` and each tick to ``outputs``.

    ``scenario`` names the numbers until the runner says which spec started (``perfgate
    run`` goes through several)."""

    def __init__(self, inner: Any, outputs: Sequence[Output], scenario: str = "") -> None:
        self.inner = inner
        self.outputs = list(outputs)
        self.scenario = scenario
        self.warnings: list[str] = []
        self.results: list[Result] = []
        self._off: set[int] = set()
        self._started = False

    def start(self) -> None:
        for o in self.outputs:
            o.start()  # a bad address fails before anything runs
        self._started = True

    def stop(self, results: Sequence[Result] | None = None) -> list[str]:
        """Stop every output (each one's failure a warning); the warnings of the whole run."""
        if not self._started:
            return list(self.warnings)
        self._started = False
        final = list(results) if results is not None else self.results
        for o in self.outputs:
            try:
                self.warnings.extend(o.stop(final))
            except Exception as exc:  # noqa: BLE001 - an output never fails the run
                self.warnings.append(f"{o.name}: could not stop cleanly: {exc}")
        return list(self.warnings)

    # -------------------------------------------------------------- the runner's listener

    def started(self, name: str, index: int, total: int) -> None:
        self.scenario = name
        self.inner.started(name, index, total)

    def progress(self, fraction: float) -> None:
        self.inner.progress(fraction)

    def finished(self, result: Result) -> None:
        self.results.append(result)
        self.inner.finished(result)

    def live(self, stats: LiveStats) -> None:
        for i, o in enumerate(self.outputs):
            if i in self._off:
                continue
            try:
                o.add(self.scenario, stats)
            except Exception as exc:  # noqa: BLE001 - the load goes on without this output
                self._off.add(i)
                self.warnings.append(f"{o.name}: switched off after an error: {exc}")
        inner_live = getattr(self.inner, "live", None)
        if inner_live is not None:
            inner_live(stats)

    def artifact(self, obj: Any) -> None:
        keep = getattr(self.inner, "artifact", None)
        if keep is not None:
            keep(obj)
