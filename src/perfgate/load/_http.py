"""A protocol-level HTTP/1.1 keep-alive client: asyncio (uvloop when installed) + httptools.

Two ways in:

- :class:`Conn`, driven by callbacks, for URL targets: a request's bytes are built once;
  when a response completes (httptools/llhttp parses it, chunked bodies included) the
  connection tells its owner, which records the latency and writes the next request at once.
  No future, no task, no body kept: a few microseconds of Python per request.
- :class:`HttpClient`, awaited, for scenario functions (``async def f(client)``): headers and
  body are kept and returned as a :class:`Response`.

TLS works for both (``ssl.SSLContext``; :func:`tls_context` builds one).
"""

from __future__ import annotations

import asyncio
import json as _json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any, Protocol
from urllib.parse import urlsplit

import httptools

from perfgate._errors import UsageError
from perfgate._net import connect, is_loopback

__all__ = [
    "Conn",
    "ConnOwner",
    "HttpClient",
    "Request",
    "Response",
    "ServerDisconnected",
    "is_loopback",
    "tls_context",
]


class ServerDisconnected(ConnectionError):
    """The server closed the connection before answering."""


def tls_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    """A client TLS context: the system's CAs (or ``ca_file``); ``verify=False`` accepts any
    certificate (self-signed test servers)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


@dataclass(frozen=True)
class Request:
    """One HTTP request of a target: method, absolute URL, headers, body; ``weight`` sets how
    often it is picked among several endpoints."""

    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    weight: float = 1.0

    @property
    def parts(self) -> tuple[str, str, int, str]:
        """(scheme, host, port, path with query)."""
        u = urlsplit(self.url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise UsageError(f"{self.url!r}: expected an http:// or https:// URL with a host")
        port = u.port or (443 if u.scheme == "https" else 80)
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        return u.scheme, u.hostname, port, path

    def encode(self) -> bytes:
        """The request's bytes, built once and written for every iteration."""
        scheme, host, port, path = self.parts
        default = 443 if scheme == "https" else 80
        hostport = host if port == default else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            hostport = f"[{host}]" if port == default else f"[{host}]:{port}"
        lines = [f"{self.method.upper()} {path} HTTP/1.1", f"Host: {hostport}"]
        names = {k.lower() for k in self.headers}
        for k, v in self.headers.items():
            lines.append(f"{k}: {v}")
        if (self.body or self.method.upper() in ("POST", "PUT", "PATCH")) \
                and "content-length" not in names:
                lines.append(f"Content-Length: {len(self.body)}")
        if "user-agent" not in names:
            lines.append("User-Agent: perfgate")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class ConnOwner(Protocol):
    """What a :class:`Conn` reports to."""

    def on_response(self, conn: Conn, status: int, now: int) -> None: ...
    def on_failure(self, conn: Conn, exc: BaseException, now: int) -> None: ...


def _nothing(_: int) -> None:
    pass


class Conn(asyncio.Protocol):
    """One keep-alive connection driven by callbacks. ``busy`` while a request is out;
    ``started`` (ns) is when the current iteration began, ``intended`` its scheduled start.

    ``fast`` (set by the owner when nothing but the deadline can stop this VU: closed model,
    one endpoint, no iteration budget) lets a successful response record its latency and
    write the next request right here — the whole per-request cost of the closed model.

    The protocol object outlives its transports (a VU reconnects with the same one), so a
    transport this side closed (``Connection: close``, a timeout, an abort) still reports its
    ``connection_lost`` here later: ``_closing`` counts those, which are not failures of the
    request the VU has since sent on a new connection."""

    def __init__(self, owner: ConnOwner, index: int = 0) -> None:
        self.owner = owner
        self.index = index
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.busy = False
        self.connecting = False
        self.started = 0
        self.intended = 0
        self.active = True  # a VU slot that should keep iterating (closed model)
        self.iterations = 0
        self.fast = False
        self.deadline = 0
        self.lat_append: Callable[[int], None] = _nothing
        self.request = b""
        self._closing = 0

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._lost(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._closing:
            self._closing -= 1
            return
        self.transport = None  # already gone: nothing to close, no second callback
        self._lost(exc or ServerDisconnected("server closed the connection"))

    def _drop(self) -> None:
        """Forget the current transport and close it (its connection_lost is expected)."""
        t, self.transport = self.transport, None
        self.parser = httptools.HttpResponseParser(self)
        if t is not None:
            self._closing += 1
            t.abort()

    # httptools callback: the only one, so the parser does no other work
    def on_message_complete(self) -> None:
        now = perf_counter_ns()
        p = self.parser
        status = p.get_status_code()
        if self.fast and now < self.deadline and status < 400 and p.should_keep_alive():
            self.lat_append(now - self.started)
            self.started = now
            self.transport.write(self.request)  # type: ignore[union-attr]
            return
        self.busy = False
        if not p.should_keep_alive():
            self._drop()  # the next iteration reconnects: a closed connection is no error
        self.owner.on_response(self, status, now)

    def _lost(self, exc: BaseException) -> None:
        self._drop()
        if self.busy:
            self.busy = False
            self.owner.on_failure(self, exc, time.perf_counter_ns())

    def send(self, data: bytes) -> None:
        """Write one request on the open connection (the caller checked ``transport``)."""
        self.busy = True
        assert self.transport is not None
        self.transport.write(data)

    def abort(self) -> None:
        """Drop the connection without reporting the request in flight."""
        self.busy = False
        self._drop()


# ------------------------------------------------------------------ awaited client


@dataclass(frozen=True)
class Response:
    """What :class:`HttpClient` returns."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.body)


class _ClientConn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Response] | None = None
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.t_done = 0  # when the last response completed (ns)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(exc or ServerDisconnected("server closed the connection"))

    def _fail(self, exc: BaseException) -> None:
        if self.transport is not None:
            self.transport.abort()
            self.transport = None
        w, self.waiter = self.waiter, None
        if w is not None and not w.done():
            w.set_exception(exc)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.t_done = perf_counter_ns()
        resp = Response(self.parser.get_status_code(), self.headers, b"".join(self.body))
        self.headers, self.body = {}, []
        if not self.parser.should_keep_alive() and self.transport is not None:
            self.transport.close()
            self.transport = None
        w, self.waiter = self.waiter, None
        if w is not None and not w.done():
            w.set_result(resp)


_PREPARED_MAX = 256
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _expire(conn: _ClientConn, waiter: asyncio.Future[Response]) -> None:
    if conn.waiter is waiter and not waiter.done():
        conn._fail(TimeoutError("no response within the client's timeout"))


class HttpClient:
    """A VU's HTTP client for scenario functions: one keep-alive connection per host.

    ``await client.get("/path")``, ``await client.post("/checkout", json={...})``. Relative
    paths are joined to ``base_url``. A response with status ≥ 400 marks the iteration as
    ``http_4xx``/``http_5xx`` unless ``expect_status`` lists it.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        allow_remote: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.allow_remote = allow_remote
        self._conns: dict[tuple[str, str, int], _ClientConn] = {}
        self.worst_status = 0  # read and reset by the engine after each iteration
        self.requests = 0  # HTTP requests sent (the engine reports requests ≠ iterations)
        # ns between responses arriving and the awaiting code resuming: time the response
        # waited for the generator's own loop (its saturation, counted in latency)
        self.resume_wait = 0
        self._prepared: dict[tuple[str, str], tuple[tuple[str, str, int], bytes]] = {}
        self._prepared_headers = dict(self.headers)

    def _url(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        if not self.base_url:
            raise UsageError(f"{url!r}: a relative URL needs the scenario's base_url")
        return self.base_url + ("" if url.startswith("/") else "/") + url

    def _prepare(self, method: str, url: str, headers: Mapping[str, str] | None,
                 body: bytes, json: Any) -> tuple[tuple[str, str, int], bytes]:
        """(scheme, host, port) and the request's bytes, checked against the loopback rule.
        Requests without per-call headers or body are built once and cached: a scenario
        repeats the same few, and parsing a URL costs more than sending it."""
        simple = headers is None and not body and json is None
        if simple:
            if self.headers != self._prepared_headers:  # e.g. a token set after a login
                self._prepared.clear()
                self._prepared_headers = dict(self.headers)
            hit = self._prepared.get((method, url))
            if hit is not None:
                return hit
        hdrs = {**self.headers, **(headers or {})}
        if json is not None:
            body = _json.dumps(json).encode()
            hdrs.setdefault("Content-Type", "application/json")
        req = Request(self._url(url), method, hdrs, body)
        scheme, host, port, _ = req.parts
        if not self.allow_remote and not is_loopback(host):
            raise UsageError(f"{req.url!r}: not a loopback host (allow_remote=True to permit)")
        out = (scheme, host, port), req.encode()
        if simple and len(self._prepared) < _PREPARED_MAX:
            self._prepared[(method, url)] = out
        return out

    async def _connect(self, key: tuple[str, str, int]) -> _ClientConn:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        ctx = (self.ssl_context or tls_context()) if scheme == "https" else None
        async with asyncio.timeout(self.timeout):  # the loopback rule, at connect time
            _, conn = await connect(loop, _ClientConn, host, port, ssl=ctx,
                                    allow_remote=self.allow_remote)
        self._conns[key] = conn
        return conn

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        json: Any = None,
        expect_status: tuple[int, ...] = (),
    ) -> Response:
        key, payload = self._prepare(method, url, headers, body, json)
        conn = self._conns.get(key)
        reused = conn is not None and conn.transport is not None
        if conn is None or conn.transport is None:
            conn = await self._connect(key)
        try:
            resp = await self._exchange(conn, payload)
        except (ServerDisconnected, ConnectionResetError):
            # A kept-alive connection the server closed while idle: resend once on a new
            # one when that is safe (an idempotent method), as HTTP clients do.
            if not reused or method.upper() not in _IDEMPOTENT:
                raise
            resp = await self._exchange(await self._connect(key), payload)
        if resp.status >= 400 and resp.status not in expect_status:
            self.worst_status = max(self.worst_status, resp.status)
        return resp

    async def _exchange(self, conn: _ClientConn, payload: bytes) -> Response:
        """Write one request and await its response (a timer, not asyncio.timeout: one
        handle per request is the cheapest timeout asyncio has)."""
        assert conn.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Response] = loop.create_future()
        conn.waiter = waiter
        conn.transport.write(payload)
        self.requests += 1
        timer = loop.call_later(self.timeout, _expire, conn, waiter)
        try:
            resp: Response = await waiter
        finally:
            timer.cancel()
        self.resume_wait += perf_counter_ns() - conn.t_done
        return resp

    async def get(self, url: str, **kw: Any) -> Response:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> Response:
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> Response:
        return await self.request("PUT", url, **kw)

    async def delete(self, url: str, **kw: Any) -> Response:
        return await self.request("DELETE", url, **kw)

    def close(self) -> None:
        for c in self._conns.values():
            if c.transport is not None:
                c.transport.abort()
        self._conns.clear()
