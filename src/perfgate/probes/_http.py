"""The HTTP call probe: outbound HTTP requests per operation and per phase.

Every request that goes on the wire is counted once (a redirect followed is a second
request), through the layer each client library sends it by — no change to the code under
test, and nothing installed while no probe is active:

- **requests, urllib3, urllib.request, http.client**: ``http.client.HTTPConnection.putrequest``
  — the documented call that starts a request on a connection. urllib.request's handlers and
  urllib3's connection (a subclass of ``HTTPConnection``, which requests uses) all go
  through it, so each request is counted exactly once whichever of them issued it.
- **httpx** (sync and async): the transport layer, ``httpx.HTTPTransport.handle_request`` and
  ``httpx.AsyncHTTPTransport.handle_async_request`` — the interface every request of every
  ``Client``/``AsyncClient`` using the default transport passes through (httpx's event hooks
  are per client; a custom transport is not counted).
- **aiohttp**: the connector layer, ``aiohttp.BaseConnector.connect(request, …)``, which every
  request of every ``ClientSession`` calls to get its connection (a ``TraceConfig`` would have
  to be given to each session when it is made; the connector sees sessions made before the
  probe started too).

The doors for httpx and aiohttp are installed only when those libraries are imported.
URLs are normalised (:func:`normalize_url`): ids in the path become ``{id}``, query values
``{}``, so ``GET /items/1`` and ``GET /items/2`` are one target. Metrics: ``http_calls``,
``http_calls.<METHOD>``, ``http_calls.host=<host>`` and ``http_calls.<phase>``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from perfgate.probes._calls import CallProbe, OpCalls, normalize_ids, record_call

__all__ = ["HttpProbe", "count_http_calls", "normalize_url", "record_http"]

KIND = "http"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _split(url: str) -> tuple[str, str | None]:
    """The normalised URL and its host name."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a malformed URL is still a call: keep it, ids replaced
        return normalize_ids(url), None
    name = parts.hostname
    host = name or ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    path = normalize_ids(parts.path) or "/"
    query = "&".join(p.partition("=")[0] + "={}" for p in parts.query.split("&") if p)
    return f"{parts.scheme}://{host}{path}" + (f"?{query}" if query else ""), name


def normalize_url(url: str) -> str:
    """``http://h:8000/items/42?page=3#x`` → ``http://h:8000/items/{id}?page={}``."""
    return _split(url)[0]


def record_http(method: str, url: str) -> None:
    """Count one request in every active HTTP probe (the doors call this)."""
    method = method.upper()
    target, host = _split(url)
    record_call(KIND, method, f"{method} {target}", host)


# --------------------------------------------------------------------------- doors


def _patch(owner: type, attr: str, make: Callable[[Any], Any]) -> Callable[[], None]:
    """Replace ``owner.attr`` with ``make(original)``; return what restores it (an attribute
    the class inherits is set on it, and deleted again)."""
    own = attr in owner.__dict__
    original = owner.__dict__[attr] if own else getattr(owner, attr)
    setattr(owner, attr, functools.wraps(original)(make(original)))
    if own:
        return lambda: setattr(owner, attr, original)
    return lambda: delattr(owner, attr)


def _http_client_door() -> Callable[[], None]:
    import http.client

    def make(original: Any) -> Any:
        def putrequest(self: http.client.HTTPConnection, method: str, url: str,
                       *args: Any, **kwargs: Any) -> Any:
            full = url
            if not url.startswith(("http://", "https://")):  # absolute only through a proxy
                scheme = "https" if isinstance(self, http.client.HTTPSConnection) else "http"
                host = f"[{self.host}]" if ":" in self.host else self.host
                full = f"{scheme}://{host}:{self.port}{url}"
            record_http(method, full)
            return original(self, method, url, *args, **kwargs)
        return putrequest

    return _patch(http.client.HTTPConnection, "putrequest", make)


def _httpx_doors() -> list[Callable[[], None]]:
    httpx = sys.modules.get("httpx")
    if httpx is None:
        return []

    def make_sync(original: Any) -> Any:
        def handle_request(self: Any, request: Any) -> Any:
            record_http(request.method, str(request.url))
            return original(self, request)
        return handle_request

    def make_async(original: Any) -> Any:
        async def handle_async_request(self: Any, request: Any) -> Any:
            record_http(request.method, str(request.url))
            return await original(self, request)
        return handle_async_request

    return [_patch(httpx.HTTPTransport, "handle_request", make_sync),
            _patch(httpx.AsyncHTTPTransport, "handle_async_request", make_async)]


def _aiohttp_door() -> list[Callable[[], None]]:
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return []

    def make(original: Any) -> Any:
        async def connect(self: Any, req: Any, *args: Any, **kwargs: Any) -> Any:
            record_http(req.method, str(req.url))
            return await original(self, req, *args, **kwargs)
        return connect

    return [_patch(aiohttp.BaseConnector, "connect", make)]


class HttpProbe(CallProbe):
    """Count outbound HTTP requests while active (see the module's doc for the doors)."""

    kind = KIND
    packages = ("requests", "urllib3", "httpx", "httpcore", "h11", "h2", "anyio", "sniffio",
                "aiohttp", "yarl", "multidict", "aiohappyeyeballs")

    @classmethod
    def _install(cls) -> list[Callable[[], None]]:
        return [_http_client_door(), *_httpx_doors(), *_aiohttp_door()]


@contextmanager
def count_http_calls(*, locate: bool = True) -> Iterator[OpCalls]:
    """Count the HTTP requests made inside the block::

        with perfgate.count_http_calls() as calls:
            load_schedule(months=6)
        assert calls.count <= 6
    """
    with HttpProbe(locate=locate) as probe:
        yield probe.all
