"""Real HTTP/1.1 servers on 127.0.0.1 for the load-engine tests (asyncio, in a thread).

A server answers each request through ``behaviour(n, path) -> Reply``: a status, a body,
an optional delay, chunked or not, or ``die`` (close the listener and every connection:
the server is gone). Readiness is an Event, never a sleep.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    chunked: bool = False
    die: bool = False
    hang: bool = False
    close: bool = False  # answer with "Connection: close" and close after the response


Behaviour = Callable[[int, str], Reply]

_REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Unavailable"}


def _encode(r: Reply) -> bytes:
    head = f"HTTP/1.1 {r.status} {_REASONS.get(r.status, 'X')}\r\n"
    if r.close:
        head += "Connection: close\r\n"
    if r.chunked:
        parts = [r.body[i:i + 3] for i in range(0, len(r.body), 3)]
        body = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + body
    return (head + f"Content-Length: {len(r.body)}\r\n\r\n").encode() + r.body


class Server:
    """``with Server(behaviour) as s: s.url`` — counts the requests it answered."""

    def __init__(self, behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.tls = tls
        self.answered = 0
        self.received = 0
        self.paths: dict[str, int] = {}
        self.dead = False
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/"

    def __enter__(self) -> Server:
        self.thread.start()
        assert self._ready.wait(10), "server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._kill)
            except RuntimeError:  # closed meanwhile: the server died on its own
                pass
        self.thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.tls))
        self.port = self.server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_until_complete(self._serve())
        tasks = asyncio.all_tasks(self.loop)
        for t in tasks:
            t.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        await self._stop.wait()
        self.server.close()
        for w in list(self._writers):
            w.transport.abort()
        await asyncio.sleep(0)

    def _kill(self) -> None:
        if self.dead:
            return
        self.dead = True
        self.server.close()
        for w in list(self._writers):
            w.transport.abort()
        self._stop.set()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while not self.dead:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode()
                path = line.split(" ")[1]
                length = 0
                for h in head.split(b"\r\n")[1:]:
                    if h.lower().startswith(b"content-length:"):
                        length = int(h.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                n = self.received
                self.received += 1
                self.paths[path] = self.paths.get(path, 0) + 1
                reply = self.behaviour(n, path)
                if reply.die:
                    self._kill()
                    return
                if reply.hang:
                    await asyncio.sleep(3600)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                writer.write(_encode(reply))
                self.answered += 1
                if reply.close:
                    await writer.drain()
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


def always(status: int = 200) -> Behaviour:
    return lambda n, path: Reply(status)


class Stalls:
    """Answers at once, except during stall windows: the first ``stall`` seconds of every
    ``period`` (measured from the first request) hold every answer until the window ends."""

    def __init__(self, period: float, stall: float, offset: float = 0.25) -> None:
        self.period, self.stall, self.offset = period, stall, offset
        self.t0: float | None = None

    def __call__(self, n: int, path: str) -> Reply:
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = now
        phase = (now - self.t0 - self.offset) % self.period
        if now - self.t0 >= self.offset and phase < self.stall:
            return Reply(delay=self.stall - phase)
        return Reply()


def self_signed(tmp: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 with a fresh self-signed certificate; returns it
    and the certificate's path (a CA file for the client)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx, cert_path
