"""What a load test calls: HTTP requests, or a Python callable (sync or async).

Targets are plain, picklable descriptions: a worker process rebuilds its connections and
loop from them. A callable is pickled by reference (it must be importable by the worker).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from perfgate._errors import UsageError
from perfgate._net import resolve
from perfgate.bench._calls import is_async
from perfgate.load._http import Request

__all__ = ["CallTarget", "HttpTarget", "Target", "make_target", "takes_argument"]


@dataclass(frozen=True)
class HttpTarget:
    """One or several weighted requests to one ``scheme://host:port``."""

    requests: tuple[Request, ...]
    timeout: float = 30.0
    verify: bool = True
    ca_file: str | None = None
    allow_remote: bool = False  # checked again at every connection, in every worker

    @property
    def origin(self) -> tuple[str, str, int]:
        scheme, host, port, _ = self.requests[0].parts
        return scheme, host, port

    def describe(self) -> str:
        r = self.requests[0]
        more = f" (+{len(self.requests) - 1} more)" if len(self.requests) > 1 else ""
        return f"{r.method} {r.url}{more}"


@dataclass(frozen=True)
class CallTarget:
    """A callable, called once per iteration: ``fn()`` or, when it takes an argument,
    ``fn(client)`` with the VU's :class:`~perfgate.load.HttpClient`."""

    fn: Callable[..., Any]
    is_async: bool
    with_client: bool = False
    base_url: str = ""
    timeout: float | None = None
    verify: bool = True
    ca_file: str | None = None
    allow_remote: bool = False

    def describe(self) -> str:
        mod = getattr(self.fn, "__module__", "") or ""
        return f"{mod}:{getattr(self.fn, '__qualname__', repr(self.fn))}"


Target = HttpTarget | CallTarget


def takes_argument(fn: Callable[..., Any]) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    required = [
        p for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(required) >= 1


def make_target(
    target: Any,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | str = b"",
    timeout: float | None = None,
    verify: bool = True,
    ca_file: str | None = None,
    base_url: str = "",
    allow_remote: bool = False,
) -> Target:
    """A URL, a :class:`Request`, a list of them (or of ``(weight, Request|URL)``), or a
    callable → a :class:`Target`. URLs whose host is not loopback are refused unless
    ``allow_remote``."""
    if isinstance(body, str):
        body = body.encode()
    if isinstance(target, HttpTarget | CallTarget):
        return target
    reqs: list[Request] = []
    items: Sequence[Any]
    if isinstance(target, str | Request):
        items = [target]
    elif isinstance(target, list | tuple) and target and not callable(target):
        items = target
    elif callable(target):
        if base_url:
            _, host, port, _ = Request(base_url).parts
            resolve(host, port, allow_remote=allow_remote)
        return CallTarget(
            fn=target, is_async=is_async(target), with_client=takes_argument(target),
            base_url=base_url, timeout=timeout, verify=verify, ca_file=ca_file,
            allow_remote=allow_remote,
        )
    else:
        raise UsageError(f"cannot load-test {target!r}: expected a URL, a Request or a callable")
    for item in items:
        weight, it = 1.0, item
        if isinstance(it, tuple) and len(it) == 2 and isinstance(it[0], int | float):
            weight, it = float(it[0]), it[1]
        if isinstance(it, str):
            it = Request(it, method, headers or {}, body, weight)
        elif isinstance(it, Request) and weight != 1.0:
            it = Request(it.url, it.method, it.headers, it.body, weight)
        if not isinstance(it, Request):
            raise UsageError(f"cannot load-test {it!r}: expected a URL or a Request")
        reqs.append(it)
    origins = {r.parts[:3] for r in reqs}
    if len(origins) > 1:
        raise UsageError("all endpoints of one load test must share scheme, host and port")
    _scheme, host, port = next(iter(origins))
    resolve(host, port, allow_remote=allow_remote)  # fail before any worker starts
    if any(r.weight <= 0 for r in reqs):
        raise UsageError("endpoint weights must be positive")
    return HttpTarget(tuple(reqs), timeout if timeout is not None else 30.0, verify, ca_file,
                      allow_remote)
