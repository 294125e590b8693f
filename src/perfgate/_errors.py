"""perfgate's exception tree.

Library code raises these; only the CLI turns them into messages and exit codes.

    PerfgateError
    ├── CheckSyntaxError      a check expression that does not parse (has .position)
    ├── UnknownMetricError    a check or lookup names a metric the result lacks
    ├── UnitError             a value whose unit does not fit the metric
    ├── TargetError           a callable that cannot be imported, or that raised
    ├── ResultFormatError     a results file that is not perfgate JSON (or is corrupt)
    ├── UsageError            arguments that contradict each other
    └── StoreError            a history store that cannot be opened, read or written
"""

from __future__ import annotations


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


class FaultError(PerfgateError, OSError):
    """A fault proxy that cannot listen (port in use) or whose upstream refuses."""
