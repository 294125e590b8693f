"""HTTP-level faults: a proxy in front of an HTTP dependency that replaces a fraction of
responses with an error status, delays them, or cuts them mid-body.

The proxy reads one request at a time from each client connection (llhttp, through
httptools, finds where it ends), decides its fate with a seeded RNG, and then either
answers itself (``status``: 503, 429, … with ``Retry-After``), or forwards it on its own
keep-alive upstream connection and relays the whole response — after ``delay``, or only
its headers and the first half of its body (``cut``) before closing the connection, which
is what a client sees when a server dies mid-response.

Rules are checked in the order they were added, each with its own draw; the first that
hits decides. Requests are assumed not pipelined (clients wait for each response), which
is how HTTP/1.1 clients behave in practice.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools

from perfgate._errors import FaultError, UsageError
from perfgate.faults._addr import parse_address, require_loopback
from perfgate.faults._loop import LoopThread, connect, shut_down, wait_until
from perfgate.faults._proxy import Switch
from perfgate.units import parse_duration

__all__ = ["HttpFaultProxy", "HttpRule"]

_READ = 65536
_CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class HttpRule:
    """One HTTP fault: what happens to ``fraction`` of the responses."""

    name: str
    fraction: float
    status: int | None = None
    delay: float | None = None
    cut: bool = False

    def describe(self) -> str:
        what = (f"status {self.status}" if self.status is not None else
                f"delay {self.delay:g}s" if self.delay is not None else "cut mid-body")
        return f"{what} on {self.fraction:.0%} of responses"


class _Message:
    """Collects one HTTP message from a stream; ``None`` at a clean end of stream."""

    def __init__(self, request: bool, head_only: bool = False) -> None:
        self.done = False
        self.head_end: int | None = None
        self.method = b""
        self._head_only = head_only
        self._parser: Any = (httptools.HttpRequestParser(self) if request
                             else httptools.HttpResponseParser(self))

    def on_headers_complete(self) -> None:
        self.head_end = -1
        if isinstance(self._parser, httptools.HttpRequestParser):
            self.method = self._parser.get_method()
        if self._head_only:
            self.done = True

    def on_message_complete(self) -> None:
        self.done = True

    async def read(self, r: asyncio.StreamReader) -> bytes | None:
        buf = bytearray()
        while not self.done:
            data = await r.read(_READ)
            if not data:
                return None  # the peer closed before a whole message
            buf += data
            try:
                self._parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                self.done = True
        return bytes(buf)


class HttpFaultProxy:
    """An HTTP-aware fault proxy from ``listen`` to ``upstream`` (loopback by default)::

        with HttpFaultProxy("127.0.0.1:8081") as api:
            with api.fault(status=503, fraction=0.2):     # a fifth of responses are 503
                ...
            with api.fault(delay="2s"):                   # every response 2 s late
                ...
    """

    def __init__(self, upstream: str, listen: str = "127.0.0.1:0", *,
                 allow_remote: bool = False, seed: int | None = None,
                 name: str = "http") -> None:
        self.upstream_host, self.upstream_port = parse_address(upstream, "upstream")
        self.listen_host, self.listen_port = parse_address(listen, "listen")
        require_loopback(self.upstream_host, self.upstream_port, "upstream", allow_remote)
        require_loopback(self.listen_host, self.listen_port, "listen", allow_remote)
        self.name = name
        self.rules: tuple[HttpRule, ...] = ()
        self.requests = 0
        self.faulted = 0
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._lt: LoopThread | None = None
        self._n = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Future[None]] = set()

    @property
    def port(self) -> int:
        return self.listen_port

    @property
    def address(self) -> str:
        return f"{self.listen_host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> HttpFaultProxy:
        if self._lt is None:
            self._lt = LoopThread(f"perfgate-http-proxy-{self.name}")
            try:
                self._lt.call(self._listen())
            except BaseException:
                self._lt.close()
                self._lt = None
                raise
        return self

    async def _listen(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._accept, self.listen_host, self.listen_port, reuse_address=True)
        except OSError as exc:
            raise FaultError(f"listen {self.listen_host}:{self.listen_port}: "
                             f"{exc.strerror or exc}") from None
        self.listen_port = int(self._server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        lt, self._lt = self._lt, None
        if lt is None:
            return

        def close_all() -> None:
            for w in list(self._writers):
                w.transport.abort()

        shut_down(lt, self._server, close_all)

    def __enter__(self) -> HttpFaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ rules

    def fault(self, *, status: int | None = None, delay: float | str | None = None,
              cut: bool = False, fraction: float = 1.0, name: str | None = None) -> Switch:
        """An HTTP fault as a context manager (and a fault for schedules)."""
        rule = self._rule(status, delay, cut, fraction, name)
        return Switch(f"{self.name}: {rule.describe()}", lambda: self.add(rule),
                      lambda: self.remove(rule.name))

    def _rule(self, status: int | None, delay: float | str | None, cut: bool,
              fraction: float, name: str | None) -> HttpRule:
        where = f"http proxy {self.name} fault"
        if sum(x is not None and x is not False for x in (status, delay, cut)) != 1:
            raise UsageError(f"{where}: give exactly one of status=, delay= or cut=True")
        if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
            raise UsageError(f"{where}: status={status!r} is not an HTTP status (100..599)")
        if not 0 <= fraction <= 1:
            raise UsageError(f"{where}: fraction={fraction!r} must be between 0 and 1")
        d: float | None = None
        if delay is not None:
            try:
                d = float(delay) if isinstance(delay, int | float) else parse_duration(delay)
            except ValueError:
                raise UsageError(f"{where}: delay={delay!r} is not a duration") from None
        self._n += 1
        return HttpRule(name or f"rule-{self._n}", fraction, status, d, cut)

    def add(self, rule: HttpRule) -> None:
        self.rules = (*self.rules, rule)

    def remove(self, name: str) -> None:
        self.rules = tuple(r for r in self.rules if r.name != name)

    def _pick(self) -> HttpRule | None:
        for r in self.rules:
            if self._rng.random() < r.fraction:
                return r
        return None

    # ------------------------------------------------------------------ serving

    def _accept(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self._writers.add(w)  # known at once: stop() closes it even if its task never ran
        task = asyncio.ensure_future(self._serve(r, w))
        self._tasks.add(task)  # a reference, so the task is not collected mid-run
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        up: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                req = _Message(request=True)
                raw = await req.read(cr)
                if raw is None:
                    return
                self.requests += 1
                rule = self._pick()
                self.faulted += rule is not None
                if rule is not None and rule.status is not None:
                    cw.write(_status_response(rule.status))
                    await cw.drain()
                    continue
                if up is None:
                    try:
                        up = await connect(self.upstream_host, self.upstream_port,
                                           _CONNECT_TIMEOUT_S)
                    except (OSError, TimeoutError):
                        cw.write(_status_response(502))
                        await cw.drain()
                        return
                ur, uw = up
                if rule is not None and rule.delay is not None:
                    await wait_until(asyncio.get_running_loop().time() + rule.delay)
                uw.write(raw)
                await uw.drain()
                resp = await _Message(request=False, head_only=req.method == b"HEAD").read(ur)
                if resp is None:
                    return
                if rule is not None and rule.cut:
                    head = resp.find(b"\r\n\r\n") + 4
                    cw.write(resp[:head + max(0, (len(resp) - head) // 2)])
                    await cw.drain()
                    return
                cw.write(resp)
                await cw.drain()
        except (OSError, httptools.HttpParserError):
            return
        except asyncio.CancelledError:
            pass  # stopping
        finally:
            self._writers.discard(cw)
            cw.close()
            if up is not None:
                up[1].close()


def _status_response(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Injected"
    body = f"{status} {phrase} (injected by perfgate)\n".encode()
    return (f"HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain\r\n"
            f"content-length: {len(body)}\r\nretry-after: 1\r\n"
            "x-perfgate-fault: status\r\n\r\n").encode() + body
