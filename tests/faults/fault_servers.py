"""Real servers on 127.0.0.1 for the fault tests: a threaded TCP echo server, and helpers.

The echo server sends back what it receives; ``b"quit"`` makes it close the connection (a
server-side close, for slow_close). Readiness is the listening socket itself: it accepts
as soon as ``listen()`` returned, so no test waits for it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator


class EchoServer:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])
        self.received = 0
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        with c, contextlib.suppress(OSError):
            while data := c.recv(65536):
                self.received += len(data)
                if data == b"quit":
                    return
                c.sendall(data)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):  # wakes the accept() blocked in the other thread
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for c in self._conns:
            with contextlib.suppress(OSError):
                c.close()


@contextlib.contextmanager
def echo_server() -> Iterator[EchoServer]:
    s = EchoServer()
    try:
        yield s
    finally:
        s.close()


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def recv_exactly(c: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            break
        buf += d
    return buf


def recv_all(c: socket.socket) -> bytes:
    """Everything until the peer closes."""
    buf = b""
    while d := c.recv(65536):
        buf += d
    return buf


def round_trip(c: socket.socket, payload: bytes = b"ping") -> float:
    t = time.perf_counter()
    c.sendall(payload)
    got = recv_exactly(c, len(payload))
    assert got == payload
    return time.perf_counter() - t
