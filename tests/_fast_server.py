"""A fast HTTP/1.1 server in its own process (asyncio protocol, uvloop when installed): a
fixed keep-alive ``200`` with a small JSON body for every request. It costs far less per
request than a scripted scenario does, so a scenario against it is bounded by the generator
— the case the saturation tests and the scenario benchmarks need. Readiness: the child
prints its port; no sleeps.

``with FastServer() as url: ...`` (tests), or ``python tests/_fast_server.py [DELAY_S]``
(prints the port, serves until killed). ``DELAY_S`` holds every answer that long (a
service time: a timer per request, the loop stays free) — a "slower server" for A/B tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

_BODY = b'{"id": 1, "items": [1, 2, 3], "name": "perfgate"}'
_REPLY = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
          + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY)


_DELAY = 0.0


class _Proto(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        n = buf.count(b"\r\n\r\n")  # GET requests without bodies: one reply per head
        if n:
            if _DELAY > 0:
                asyncio.get_running_loop().call_later(_DELAY, self._reply, n)
            else:
                self.t.write(_REPLY * n)
            buf = buf[buf.rfind(b"\r\n\r\n") + 4:]
        self.buf = buf

    def _reply(self, n: int) -> None:
        if not self.t.is_closing():
            self.t.write(_REPLY * n)


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(_Proto, "127.0.0.1", 0, backlog=1024)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


def main() -> None:
    global _DELAY
    if len(sys.argv) > 1:
        _DELAY = float(sys.argv[1])
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve())


@contextlib.contextmanager
def FastServer(cpu: int | None = None, delay: float = 0.0) -> Iterator[str]:
    """Start the server (pinned to core ``cpu`` when given, answering after ``delay`` s);
    yield its base URL."""
    cmd = [sys.executable, os.path.abspath(__file__), str(delay)]
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        port = int(p.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        p.kill()
        p.wait(10)
        if p.stdout is not None:
            p.stdout.close()


if __name__ == "__main__":
    main()
