"""perfgate's exception tree.

Library code raises these; only the CLI turns them into messages and exit codes.

    PerfgateError
    ├── CheckSyntaxError      a check expression that does not parse (has .position)
    ├── UnknownMetricError    a check or lookup names a metric the result lacks
    ├── UnitError             a value whose unit does not fit the metric
    ├── TargetError           a callable that cannot be imported, or that raised
    ├── ResultFormatError     a results file that is not perfgate JSON (or is corrupt)
    ├── UsageError            arguments that contradict each other
    ├── StoreError            a history store that cannot be opened, read or written
    ├── ExpectationFailed     a failed ``pg.expect(...)`` in a load-test iteration
    └── Interrupted           Ctrl-C (or SIGTERM) during a run; carries what was measured
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perfgate.model import Result


class PerfgateError(Exception):
    """Base class of every error perfgate raises on purpose."""


class CheckSyntaxError(PerfgateError, ValueError):
    """A check expression that does not parse.

    ``position`` is the 0-based offset of the offending character in ``text``.
    """

    def __init__(self, message: str, text: str, position: int) -> None:
        self.reason = message
        self.text = text
        self.position = position
        caret = " " * position + "^"
        super().__init__(f"{message} at position {position}\n  {text}\n  {caret}")


class UnknownMetricError(PerfgateError, KeyError):
    """A check or lookup names a metric that the result does not have."""

    def __init__(self, name: str, available: list[str], where: str = "") -> None:
        self.name = name
        self.available = sorted(available)
        self.where = where
        super().__init__(name)

    def __str__(self) -> str:
        place = f" in {self.where}" if self.where else ""
        avail = ", ".join(self.available) or "none"
        return f"unknown metric {self.name!r}{place}; available: {avail}"


class UnitError(PerfgateError, ValueError):
    """A value whose unit does not fit the metric it is compared with."""


class TargetError(PerfgateError):
    """A benchmark target that cannot be imported or called, or that raised."""


class ResultFormatError(PerfgateError, ValueError):
    """A results document that is not valid perfgate JSON."""


class UsageError(PerfgateError, ValueError):
    """Arguments that contradict each other or are out of range."""


class StoreError(PerfgateError):
    """A history store that cannot be opened, migrated, read or written (never shows a password)."""


class ExpectationFailed(PerfgateError, AssertionError):
    """A failed ``pg.expect(...)`` inside a load-test iteration (counted as outcome "expect")."""


class Interrupted(PerfgateError):
    """Ctrl-C (or SIGTERM, which the CLI turns into one) during a run.

    ``results`` holds everything measured before it, the partial result included, so a
    caller can still write it.
    """

    def __init__(self, results: Sequence[Result]) -> None:
        self.results = list(results)
        super().__init__(f"interrupted after {len(self.results)} result(s)")


class TargetTimeout(TargetError):
    """A target that did not return within its time limit (recorded as its error)."""
class NoSamplesError(UnknownMetricError):
    """A check on a metric that exists but holds no samples (a load test in which no
    iteration succeeded has a ``latency`` with n = 0)."""

    def __str__(self) -> str:
        place = f" in {self.where}" if self.where else ""
        return f"no samples for {self.name!r}{place}: nothing succeeded to measure"


class FaultError(PerfgateError, OSError):
    """A fault proxy that cannot listen (port in use) or whose upstream refuses."""
