"""The cache probe: Redis commands per operation and per phase (redis-py, sync and asyncio).

The door is redis-py's command funnel — every command method (``get``, ``hset``, …) of a
client calls ``execute_command(*args)``, a public method — wrapped on the client classes
``redis.Redis`` and ``redis.asyncio.Redis`` while a probe is active, so clients made before
the probe started are counted too and the code under test changes nothing. A pipeline
queues its commands and sends them at ``execute()``: the door there is ``Pipeline.execute``
(sync and asyncio), which counts each queued command (a pipeline of n GETs is n commands in
one round trip). Commands redis-py sends on its own — the connection handshake (``HELLO``,
``AUTH``, ``CLIENT SETINFO``), a pipeline's ``MULTI``/``EXEC``, health checks — are not the
program's and are not counted. Redis Cluster clients are not covered.

Each command is normalised to its name and first key with ids replaced
(``GET item:{id}``); metrics: ``cache_calls``, ``cache_calls.<COMMAND>``,
``cache_calls.<phase>``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from perfgate.probes._calls import CallProbe, OpCalls, normalize_ids, record_call
from perfgate.probes._http import _patch

__all__ = ["CacheProbe", "count_cache_calls", "record_command"]

KIND = "cache"
_KEY_SHOWN = 120


def _text(value: Any) -> str | None:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return None


def record_command(args: Sequence[Any], host: str | None = None) -> None:
    """Count one command (``args`` as given to ``execute_command``) in every cache probe."""
    if not args:
        return
    name = (_text(args[0]) or str(args[0])).upper()
    key = _text(args[1]) if len(args) > 1 else None
    target = name if key is None else f"{name} {normalize_ids(key[:_KEY_SHOWN])}"
    record_call(KIND, name, target, host)


def _host_of(client: Any) -> str | None:
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    host = kwargs.get("host") if isinstance(kwargs, dict) else None
    return str(host) if host is not None else None


def _client_doors(client_cls: type, pipeline_cls: type, is_async: bool) -> list[Callable[[], None]]:
    def sync_execute_command(original: Any) -> Any:
        def execute_command(self: Any, *args: Any, **options: Any) -> Any:
            record_command(args, _host_of(self))
            return original(self, *args, **options)
        return execute_command

    def async_execute_command(original: Any) -> Any:
        async def execute_command(self: Any, *args: Any, **options: Any) -> Any:
            record_command(args, _host_of(self))
            return await original(self, *args, **options)
        return execute_command

    def _queued(self: Any) -> None:
        host = _host_of(self)
        for entry in list(getattr(self, "command_stack", ()) or ()):
            args = getattr(entry, "args", None) or (entry[0] if isinstance(entry, tuple) else ())
            record_command(args, host)

    def sync_execute(original: Any) -> Any:
        def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
            _queued(self)
            return original(self, *args, **kwargs)
        return execute

    def async_execute(original: Any) -> Any:
        async def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
            _queued(self)
            return await original(self, *args, **kwargs)
        return execute

    return [
        _patch(client_cls, "execute_command",
               async_execute_command if is_async else sync_execute_command),
        _patch(pipeline_cls, "execute", async_execute if is_async else sync_execute),
    ]


class CacheProbe(CallProbe):
    """Count Redis commands while active (see the module's doc for the doors)."""

    kind = KIND
    packages = ("redis", "hiredis", "async_timeout")

    @classmethod
    def _install(cls) -> list[Callable[[], None]]:
        undo: list[Callable[[], None]] = []
        sync = sys.modules.get("redis.client")
        if sync is not None:
            undo += _client_doors(sync.Redis, sync.Pipeline, is_async=False)
        aio = sys.modules.get("redis.asyncio.client")
        if aio is not None:
            undo += _client_doors(aio.Redis, aio.Pipeline, is_async=True)
        return undo


@contextmanager
def count_cache_calls(*, locate: bool = True) -> Iterator[OpCalls]:
    """Count the Redis commands issued inside the block::

        with perfgate.count_cache_calls() as cache:
            render_page(user)
        assert cache.count <= 1
    """
    with CacheProbe(locate=locate) as probe:
        yield probe.all
