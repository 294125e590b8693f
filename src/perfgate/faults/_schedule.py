"""Fault schedules: a load test cut into named phases, each with the faults active in it.

::

    faults=[pg.baseline("10s"),
            pg.fault("20s", db.toxic(latency="300ms"), label="db latency 300ms"),
            pg.recovery("20s")]

A fault is any reusable context manager — a proxy toxic (``proxy.toxic(...)``), a proxy
outage (``proxy.down()``), an HTTP fault (``api.fault(status=503)``), an in-process fault
(``faulty(fn, ..., enabled=False)``), or your own. :class:`PhaseDriver` enters a phase's
faults at the phase's start and leaves them at its end, on the load test's own clock
(the instant the workers were told to start), in a thread of its own; the instants it
actually did so are recorded with the result. A fault that raises when entered or left is
recorded as a failure of the run and the run goes on: the measurements are kept.

Requests belong to the phase in which they *completed*, at tick resolution: phase
durations must be whole numbers of ticks, so that no tick straddles two phases.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from perfgate._errors import UsageError
from perfgate.units import parse_duration

__all__ = ["Phase", "PhaseDriver", "baseline", "fault", "recovery", "schedule"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Phase:
    """``duration`` seconds named ``name`` (used in metric names: ``phase.fault.latency``),
    with ``faults`` active throughout."""

    name: str
    duration: float
    faults: tuple[Any, ...] = ()
    label: str = ""
    role: str = ""  # "baseline", "fault" or "recovery": what degradation compares

    def describe(self) -> str:
        return self.label or ", ".join(_label(f) for f in self.faults) or self.name


def _label(f: Any) -> str:
    return str(getattr(f, "label", None) or type(f).__name__)


def _seconds(d: float | str, where: str) -> float:
    try:
        s = float(d) if isinstance(d, int | float) else parse_duration(d)
    except ValueError:
        raise UsageError(f"{where}: {d!r} is not a duration (e.g. 10s)") from None
    if s <= 0:
        raise UsageError(f"{where}: the duration must be positive, got {d!r}")
    return s


def baseline(duration: float | str, *, name: str = "baseline") -> Phase:
    """A phase without faults that the others are compared with."""
    return Phase(name, _seconds(duration, f"phase {name!r}"), role="baseline")


def fault(duration: float | str, *faults: Any, name: str = "fault",
          label: str = "") -> Phase:
    """A phase with ``faults`` (context managers) active throughout."""
    for f in faults:
        if not (hasattr(f, "__enter__") and hasattr(f, "__exit__")):
            raise UsageError(f"phase {name!r}: {f!r} is not a fault (a context manager such "
                             "as proxy.toxic(...), proxy.down(), faulty(...))")
    return Phase(name, _seconds(duration, f"phase {name!r}"), tuple(faults), label,
                 role="fault")


def recovery(duration: float | str, *, name: str = "recovery") -> Phase:
    """The phase after the faults, in which the time to recover is measured."""
    return Phase(name, _seconds(duration, f"phase {name!r}"), role="recovery")


def schedule(phases: Sequence[Phase], tick: float = 1.0) -> tuple[Phase, ...]:
    """Validate a schedule: phases, unique names that fit in a check, whole ticks."""
    if isinstance(phases, Phase):
        phases = [phases]
    out = tuple(phases)
    if not out:
        raise UsageError("faults: the schedule is empty (e.g. [baseline('10s'), "
                         "fault('20s', proxy.toxic(latency='300ms')), recovery('20s')])")
    seen: set[str] = set()
    for i, p in enumerate(out):
        if not isinstance(p, Phase):
            raise UsageError(f"faults[{i}]: {p!r} is not a phase (use perfgate.baseline, "
                             "perfgate.fault, perfgate.recovery)")
        if not _NAME.match(p.name):
            raise UsageError(f"faults[{i}]: phase name {p.name!r} must be an identifier "
                             "(letters, digits, _ and -)")
        if p.name in seen:
            raise UsageError(f"faults[{i}]: two phases are named {p.name!r}; "
                             "give name=… to tell them apart")
        seen.add(p.name)
        ticks = p.duration / tick
        if abs(ticks - round(ticks)) > 1e-6:
            raise UsageError(f"faults[{i}] ({p.name}): {p.duration:g}s is not a whole number "
                             f"of {tick:g}s ticks, so a tick would straddle two phases")
    return out


def check_processes(phases: Sequence[Phase], processes: int) -> None:
    """In-process faults switch a wrapper in *this* process: workers in other processes
    hold copies that would never change."""
    from perfgate.faults._callables import Faulty

    if processes > 1 and any(isinstance(f, Faulty) for p in phases for f in p.faults):
        raise UsageError("faults: an in-process fault (faulty(...)) only works with "
                         f"processes=1 (got {processes}); use a proxy fault across processes")


def windows(phases: Sequence[Phase]) -> list[tuple[str, float, float]]:
    """``(name, start, end)`` of each phase, in seconds from the start of the load."""
    out, t = [], 0.0
    for p in phases:
        out.append((p.name, t, t + p.duration))
        t += p.duration
    return out


@dataclass
class PhaseRecord:
    """What the driver did in one phase (instants in seconds from the load's start)."""

    name: str
    start: float
    end: float
    label: str
    role: str
    faults: list[str]
    entered: float | None = None
    left: float | None = None
    entered_wall: float | None = None  # time.time() when entered, to line up with logs
    left_wall: float | None = None
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "start": self.start, "end": self.end,
                             "role": self.role}
        if self.label:
            d["label"] = self.label
        if self.faults:
            d.update(faults=self.faults, applied_at=self.entered, removed_at=self.left,
                     applied_wall=self.entered_wall, removed_wall=self.left_wall)
        if self.errors:
            d["errors"] = self.errors
        return d


class PhaseDriver:
    """Enters and leaves each phase's faults on time, in its own thread."""

    def __init__(self, phases: Sequence[Phase]) -> None:
        self.phases = tuple(phases)
        self.records = [
            PhaseRecord(p.name, s, e, p.describe() if p.faults or p.label else "", p.role,
                        [_label(f) for f in p.faults])
            for p, (_, s, e) in zip(self.phases, windows(self.phases), strict=True)
        ]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0

    def start(self, t0_ns: int) -> None:
        self._t0 = t0_ns
        self._thread = threading.Thread(target=self._main, name="perfgate-faults",
                                        daemon=True)
        self._thread.start()

    def _now(self) -> float:
        return (time.perf_counter_ns() - self._t0) / 1e9

    def _wait(self, t: float) -> bool:
        """Wait until ``t`` s after the start; False when stopped first."""
        while not self._stop.is_set():
            rem = t - self._now()
            if rem <= 0:
                return True
            self._stop.wait(min(rem, 0.5) if rem > 0.002 else 0)
        return False

    def _main(self) -> None:
        for p, rec in zip(self.phases, self.records, strict=True):
            if not p.faults:
                continue
            if not self._wait(rec.start):
                return
            entered: list[Any] = []
            rec.entered, rec.entered_wall = self._now(), time.time()
            for f in p.faults:
                try:
                    f.__enter__()
                    entered.append(f)
                except Exception as exc:  # noqa: BLE001 — a broken fault must not end the run
                    rec.errors.append(f"entering {_label(f)}: {type(exc).__name__}: {exc}")
            self._wait(rec.end)
            rec.left, rec.left_wall = self._now(), time.time()
            for f in reversed(entered):
                try:
                    f.__exit__(None, None, None)
                except Exception as exc:  # noqa: BLE001
                    rec.errors.append(f"leaving {_label(f)}: {type(exc).__name__}: {exc}")

    def stop(self, timeout: float = 10.0) -> None:
        """End now (Ctrl-C, workers gone): the active faults are left before returning."""
        self._stop.set()
        if self._thread is not None:
            with contextlib.suppress(RuntimeError):
                self._thread.join(timeout)

    @property
    def failures(self) -> list[str]:
        return [f"phase {r.name}: {e}" for r in self.records for e in r.errors]
