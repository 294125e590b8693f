"""``@pg.scenario``: a load test in a suite file, run by ``perfgate run``.

::

    @pg.scenario(executor=pg.open(rate="200/s", duration="30s"),
                 base_url="http://127.0.0.1:8000",
                 checks=["p(95) < 300ms", "error_rate < 1%"])
    async def checkout(client):
        r = await client.post("/checkout", json={"sku": 1})
        pg.expect(r.status == 201)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from perfgate._errors import UsageError
from perfgate.load._api import load
from perfgate.load._executors import Closed, Executor, Open
from perfgate.load._run import LiveStats
from perfgate.model import Result
from perfgate.suite import Spec, attach, parsed_checks

__all__ = ["scenario"]

F = TypeVar("F", bound=Callable[..., Any])


def _execute(spec: Spec, listener: Any) -> Result:
    opts = dict(spec.extra)

    def progress(s: LiveStats) -> None:
        if s.fraction is not None:
            listener.progress(s.fraction)

    return load(spec.fn, name=spec.name, progress=progress, **opts)


def scenario(
    fn: F | None = None,
    *,
    executor: Executor,
    checks: Sequence[str] = (),
    name: str | None = None,
    base_url: str = "",
    processes: int = 1,
    timeout: float | None = None,
    target_pid: int | None = None,
    **options: Any,
) -> Any:
    """Mark a function (sync or async; ``fn()`` or ``fn(client)``) as a load scenario run by
    ``executor`` (:func:`perfgate.closed` or :func:`perfgate.open`). ``options`` go to
    :func:`perfgate.load` (``verify``, ``ca_file``, ``grace``, ``warmup``, …)."""
    if isinstance(checks, str):
        checks = [checks]
    if not isinstance(executor, Closed | Open):
        raise UsageError("scenario: executor must be pg.closed(...) or pg.open(...)")
    parsed = parsed_checks(checks, "load")
    extra = {"executor": executor, "base_url": base_url, "processes": processes,
             "timeout": timeout, "target_pid": target_pid, **options}

    def deco(f: F) -> F:
        spec = Spec(name or f.__name__, f, "load", parsed, execute=_execute, extra=extra)
        return attach(f, spec)

    return deco(fn) if fn is not None else deco
