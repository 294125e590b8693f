"""Results noticed while a block of code runs — how pytest learns of every verdict.

A test may make results in several ways: the ``perf`` fixture, ``pg.load`` / ``pg.bench`` /
``pg.*`` called directly, a burst checked later. Each entry point calls :func:`notify` with
the result (or a getter that returns it as it stands at the end: verdicts may be added
after the call). :func:`observing` collects them for the block it wraps; the pytest plugin
wraps each test call in it and fails a test that passed when a noticed result holds a
``fail`` verdict that was not already raised as an ``AssertionError`` (a test that checks
for the failure with ``pytest.raises`` keeps passing: :func:`raised` marks those verdicts).

The sink is a context variable (seen by async tasks and by :func:`perfgate._loops.
off_running_loop`'s thread) with a process-wide fallback for threads a test starts itself.
Outside an observed block :func:`notify` costs one lookup and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perfgate.model import Result, Verdict

__all__ = ["Observation", "notify", "observing", "raised"]

Getter = Callable[[], "Result | None"]


@dataclass
class Observation:
    """What one observed block made: result getters, and the verdicts already raised."""

    getters: list[Getter] = field(default_factory=list)
    raised: set[int] = field(default_factory=set)  # id() of verdicts raised as errors

    def results(self) -> list[Result]:
        seen: set[int] = set()
        out = []
        for g in self.getters:
            r = g()
            if r is not None and id(r) not in seen:
                seen.add(id(r))
                out.append(r)
        return out

    def unraised_failures(self) -> list[tuple[Result, list[Verdict]]]:
        """Each result with ``fail`` verdicts nobody raised, with all its verdicts."""
        out = []
        seen = set(self.raised)  # a copy of a result (the perf fixture keeps one) shares
        for r in self.results():  # its verdicts: report each failure once
            bad = [v for v in r.verdicts if v.status == "fail" and id(v) not in seen]
            if bad:
                seen.update(id(v) for v in bad)
                out.append((r, list(r.verdicts)))
        return out


_SINK: ContextVar[Observation | None] = ContextVar("perfgate_observation", default=None)
_FALLBACK: list[Observation] = []  # the observation of the block running now, any thread


def _current() -> Observation | None:
    obs = _SINK.get()
    if obs is None and _FALLBACK:
        return _FALLBACK[-1]
    return obs


@contextmanager
def observing() -> Iterator[Observation]:
    """Collect the results noticed while the block runs."""
    obs = Observation()
    token = _SINK.set(obs)
    _FALLBACK.append(obs)
    try:
        yield obs
    finally:
        _FALLBACK.remove(obs)
        _SINK.reset(token)


def notify(result: Result | Getter) -> None:
    """Tell the observing block (if any) of a result, or of a getter for its final state."""
    obs = _current()
    if obs is None:
        return
    obs.getters.append(result if callable(result) else (lambda: result))


def raised(verdicts: Iterable[Verdict]) -> None:
    """These verdicts were raised as an AssertionError: the test saw them fail."""
    obs = _current()
    if obs is not None:
        obs.raised.update(id(v) for v in verdicts)
