"""The runner called from a test, with pytest's idea of Ctrl-C kept intact."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfgate.model import Result
    from perfgate.spec import Spec

__all__ = ["call_once", "run_spec"]


def run_spec(spec: Spec, keep: Callable[[Result], object], *,
             clock: Callable[[], float] | None = None, listener: Any = None) -> Result:
    """``runner.run(spec)``. On Ctrl-C the runner raises ``Interrupted`` (an ordinary
    exception) holding what it measured; pytest must see a KeyboardInterrupt to stop the
    session, so the partial result is kept first and the interrupt re-raised."""
    from perfgate._errors import Interrupted
    from perfgate.runner import run

    try:
        return run(spec, listener, clock=clock)
    except Interrupted as exc:
        for r in exc.results:
            keep(r)
        raise KeyboardInterrupt from exc


def call_once(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One plain call for the return value; an async target is awaited on a fresh loop
    (on a helper thread when this thread already runs one)."""
    from perfgate.bench._calls import is_async, run_coroutine

    if not is_async(fn):
        return fn(*args, **kwargs)
    return run_coroutine(lambda: fn(*args, **kwargs))
