"""Executors: how iterations are started.

- :func:`closed` — ``vus`` virtual users, each looping (start, wait for the answer, start
  again) for a ``duration`` or until ``iterations`` are done (shared by all users, or
  ``per_vu``). ``stages`` ramp the number of users: ``[("10s", 50), ("20s", 50), ("5s", 0)]``.
- :func:`open` — iterations arrive at a ``rate`` whatever the answers do (the way real
  users arrive). At most ``max_vus`` are in flight; an arrival that finds them all busy waits
  for one (its latency still counts from its intended start) up to ``max_wait``, after which
  it is dropped and counted in ``dropped``. ``stages`` ramp the rate linearly.

Durations are seconds or strings (``"30s"``, ``"500ms"``, ``"2min"``); rates are per second
or strings (``"200/s"``, ``"12000/min"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from perfgate._errors import UsageError
from perfgate.units import parse_duration, parse_unit

__all__ = ["Closed", "Executor", "Open", "closed", "open", "parse_rate", "parse_stages"]

Stage = tuple[float, float]  # (seconds, target at the end of the stage)


def _seconds(x: float | str | None, what: str) -> float | None:
    if x is None:
        return None
    if isinstance(x, int | float):
        v = float(x)
    else:
        try:
            v = parse_duration(x)
        except ValueError as exc:
            raise UsageError(f"{what}: {exc}") from None
    if v <= 0:
        raise UsageError(f"{what} must be positive, got {x!r}")
    return v


def parse_rate(x: float | str) -> float:
    """``200`` / ``"200/s"`` / ``"12000/min"`` / ``"1k/s"`` → arrivals per second."""
    if isinstance(x, int | float):
        v = float(x)
    else:
        s = x.strip().replace(" ", "")
        i = 0
        while i < len(s) and (s[i].isdigit() or s[i] == "."):
            i += 1
        try:
            num = float(s[:i])
        except ValueError:
            raise UsageError(f"not a rate: {x!r} (examples: 200/s, 12000/min)") from None
        suffix = s[i:] or "/s"
        spec = parse_unit(suffix)
        if spec is None or spec[1] != "1/s":
            raise UsageError(f"not a rate: {x!r} (examples: 200/s, 12000/min)")
        v = num * spec[0]
    if v <= 0:
        raise UsageError(f"a rate must be positive, got {x!r}")
    return v


def parse_stages(
    stages: str | Sequence[tuple[float | str, float | str]], rate: bool
) -> tuple[Stage, ...]:
    """``"10s:100,20s:100,5s:0"`` or ``[("10s", 100), …]`` → ((seconds, target), …)."""
    items: list[tuple[float | str, float | str]] = []
    if isinstance(stages, str):
        for part in stages.split(","):
            if not part.strip():
                continue
            dur_s, sep, target_s = part.strip().partition(":")
            if not sep:
                raise UsageError(f"stage {part!r}: expected DURATION:TARGET, e.g. 10s:50")
            items.append((dur_s, target_s))
    else:
        items = list(stages)
    out: list[Stage] = []
    for dur, target in items:
        secs = _seconds(dur, "stage duration")
        assert secs is not None
        if rate:
            tgt = 0.0 if str(target).strip() in ("0", "0/s") else parse_rate(target)
        else:
            try:
                tgt = float(int(str(target).strip()))
            except ValueError:
                raise UsageError(f"stage target {target!r}: expected a number of VUs") from None
        if tgt < 0:
            raise UsageError(f"stage target {target!r} must not be negative")
        out.append((secs, tgt))
    if not out:
        raise UsageError("stages: at least one stage is needed")
    return tuple(out)


@dataclass(frozen=True)
class Closed:
    """Closed model: a fixed (or staged) number of looping virtual users."""

    vus: int = 1
    duration: float | None = None
    iterations: int | None = None
    per_vu: bool = False  # iterations per VU rather than shared
    stages: tuple[Stage, ...] = ()
    model: Literal["closed"] = "closed"

    @property
    def total_duration(self) -> float | None:
        if self.stages:
            return sum(d for d, _ in self.stages)
        return self.duration

    @property
    def peak_vus(self) -> int:
        return max([self.vus, *(int(t) for _, t in self.stages)])

    def vus_at(self, t: float) -> int:
        """Target number of VUs ``t`` seconds in (linear ramps between stages)."""
        if not self.stages:
            return self.vus
        prev, start = float(self.vus if self.vus else 0), 0.0
        for dur, tgt in self.stages:
            if t < start + dur:
                return round(prev + (tgt - prev) * (t - start) / dur)
            prev, start = tgt, start + dur
        return round(prev)

    def split(self, parts: int, index: int) -> Closed:
        """This executor's share for worker ``index`` of ``parts``."""
        def share(n: int) -> int:
            return n // parts + (1 if index < n % parts else 0)

        its = self.iterations
        if its is not None and not self.per_vu:
            its = share(its)
        stages = tuple((d, float(share(int(t)))) for d, t in self.stages)
        return replace(self, vus=share(self.vus), iterations=its, stages=stages)


@dataclass(frozen=True)
class Open:
    """Open model: arrivals at a (staged) rate, at most ``max_vus`` in flight."""

    rate: float = 1.0
    duration: float | None = None
    max_vus: int = 100
    max_wait: float = 1.0
    stages: tuple[Stage, ...] = ()
    phase: float = 0.0  # offset of the first arrival, as a fraction of 1/rate (workers)
    model: Literal["open"] = "open"

    @property
    def total_duration(self) -> float | None:
        if self.stages:
            return sum(d for d, _ in self.stages)
        return self.duration

    def split(self, parts: int, index: int) -> Open:
        """Worker ``index`` of ``parts`` gets every ``parts``-th arrival of the whole
        schedule (rate/parts, shifted by index/parts of a period): merged, the arrivals
        are exactly the single-process schedule."""
        vus = max(1, self.max_vus // parts + (1 if index < self.max_vus % parts else 0))
        return replace(
            self, rate=self.rate / parts, max_vus=vus,
            stages=tuple((d, t / parts) for d, t in self.stages),
            phase=(self.phase + index) / parts,
        )


Executor = Closed | Open


def closed(
    vus: int | None = None,
    duration: float | str | None = None,
    iterations: int | None = None,
    *,
    per_vu: bool = False,
    stages: str | Sequence[tuple[float | str, float | str]] | None = None,
) -> Closed:
    """The closed model: ``vus`` users looping for ``duration`` or ``iterations``
    (``vus`` defaults to 1, or to 0 at the start of ``stages``)."""
    st = parse_stages(stages, rate=False) if stages else ()
    if vus is None:
        vus = 0 if st else 1
    dur = _seconds(duration, "duration")
    if vus < 0 or (vus == 0 and not st):
        raise UsageError(f"vus must be ≥ 1, got {vus}")
    if iterations is not None and iterations < 1:
        raise UsageError(f"iterations must be ≥ 1, got {iterations}")
    if dur is None and iterations is None and not st:
        raise UsageError("give a duration, a number of iterations, or stages")
    if st and dur is not None:
        raise UsageError("give either a duration or stages, not both")
    return Closed(vus=vus, duration=dur, iterations=iterations, per_vu=per_vu, stages=st)


def open(
    rate: float | str | None = None,
    duration: float | str | None = None,
    *,
    max_vus: int = 100,
    max_wait: float | str = 1.0,
    stages: str | Sequence[tuple[float | str, float | str]] | None = None,
) -> Open:
    """The open model: arrivals at ``rate`` (or ramped by ``stages``) for ``duration``."""
    st = parse_stages(stages, rate=True) if stages else ()
    dur = _seconds(duration, "duration")
    if rate is None and not st:
        raise UsageError("the open model needs a rate (e.g. 200/s) or stages")
    r = parse_rate(rate) if rate is not None else 0.0
    if dur is None and not st:
        raise UsageError("the open model needs a duration or stages")
    if st and dur is not None:
        raise UsageError("give either a duration or stages, not both")
    if max_vus < 1:
        raise UsageError(f"max_vus must be ≥ 1, got {max_vus}")
    wait = _seconds(max_wait, "max_wait") if max_wait not in (0, "0") else 0.0
    return Open(rate=r, duration=dur, max_vus=max_vus, max_wait=wait or 0.0, stages=st)
