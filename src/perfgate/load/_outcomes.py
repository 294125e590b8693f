"""Every iteration's outcome: ``ok``, an HTTP status class, an exception class, a timeout or
a failed :func:`expect`; counted per class with the first few examples of each error kept.

Outcome class names (the ``X`` of ``count(X)`` in checks and of ``count.X`` metrics):

- ``ok`` — returned normally / an HTTP status below 400
- ``http_4xx``, ``http_5xx`` — an HTTP response with that status class
- ``timeout`` — no answer within the request timeout
- ``expect`` — a failed ``pg.expect(...)``
- the exception's class name otherwise (``ConnectionRefusedError``, ``ValueError``, …)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfgate._errors import ExpectationFailed

__all__ = ["EXAMPLES_PER_CLASS", "OK", "Tally", "classify_exception", "expect", "status_class"]

OK = "ok"
EXAMPLES_PER_CLASS = 3
_MAX_MESSAGE = 300


def expect(condition: object, message: str = "expectation failed") -> None:
    """Inside a load-test iteration: count the iteration as outcome ``expect`` unless
    ``condition`` is true. Raises :class:`~perfgate.ExpectationFailed`."""
    if not condition:
        raise ExpectationFailed(message)


def status_class(status: int) -> str:
    """``ok`` below 400, else ``http_4xx`` / ``http_5xx``."""
    if status < 400:
        return OK
    return f"http_{status // 100}xx"


def classify_exception(exc: BaseException) -> str:
    if isinstance(exc, ExpectationFailed):
        return "expect"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_MAX_MESSAGE]


@dataclass
class Tally:
    """Error counts per class and their first examples. ``ok`` is not counted here: it is
    the number of iterations minus the errors, so the hot path never touches a dict."""

    errors: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, cls: str, message: str, t: float, n: int = 1) -> None:
        self.errors[cls] = self.errors.get(cls, 0) + n
        ex = self.examples.setdefault(cls, [])
        if len(ex) < EXAMPLES_PER_CLASS:
            ex.append({"message": message[:_MAX_MESSAGE], "t": round(t, 3)})

    def add_status(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def merge(self, other: Tally) -> None:
        for k, v in other.errors.items():
            self.errors[k] = self.errors.get(k, 0) + v
        for k, exs in other.examples.items():
            mine = self.examples.setdefault(k, [])
            mine.extend(exs[: max(0, EXAMPLES_PER_CLASS - len(mine))])
        for s, c in other.statuses.items():
            self.statuses[s] = self.statuses.get(s, 0) + c

    def take(self) -> Tally:
        """Return what was tallied since the last take, and start afresh."""
        out = Tally(self.errors, self.examples, self.statuses)
        self.errors, self.examples, self.statuses = {}, {}, {}
        return out

    @property
    def total(self) -> int:
        return sum(self.errors.values())
