"""perfgate's engine called from a test, with pytest's idea of Ctrl-C kept intact."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfgate.model import Result

__all__ = ["call_once", "run_bench"]


def run_bench(
    fn: Callable[..., Any], keep: Callable[[Result], object], **kwargs: Any
) -> Result:
    """``bench_callable(fn, **kwargs)``. On Ctrl-C the engine raises ``Interrupted`` (an
    ordinary exception) holding what it measured; pytest must see a KeyboardInterrupt to stop
    the session, so the partial result is kept first and the interrupt re-raised."""
    from perfgate.bench import bench_callable
    from perfgate.runner import Interrupted

    try:
        return bench_callable(fn, **kwargs)
    except Interrupted as exc:
        for r in exc.results:
            keep(r)
        raise KeyboardInterrupt from exc


def call_once(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One plain call for the return value; an async target is awaited on a fresh loop."""
    from perfgate.bench._calls import is_async, new_loop

    if not is_async(fn):
        return fn(*args, **kwargs)
    loop = new_loop()
    try:
        return loop.run_until_complete(fn(*args, **kwargs))
    finally:
        loop.close()
