"""The per-operation bracket every probe shares: ``begin_op`` / ``end_op`` / ``operation``.

A probe records into ``all`` and, while an operation is open, into that operation's
holder; the lock makes recording from several threads safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

OpT = TypeVar("OpT")


class OpBracket(Generic[OpT]):
    """Open and close one operation's holder, made by ``new_op``."""

    def __init__(self, new_op: Callable[[], OpT]) -> None:
        self._new_op = new_op
        self.all: OpT = new_op()
        self._op: OpT | None = None
        self._lock = threading.Lock()

    def begin_op(self) -> None:
        with self._lock:
            self._op = self._new_op()

    def end_op(self) -> OpT:
        with self._lock:
            op, self._op = self._op or self._new_op(), None
        return op

    @contextmanager
    def operation(self) -> Iterator[OpT]:
        """``with probe.operation() as op:`` — ``op`` fills with the block's records."""
        self.begin_op()
        holder = self._op
        assert holder is not None
        try:
            yield holder
        finally:
            self.end_op()
