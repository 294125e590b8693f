"""A local HTTP server with a known capacity, for capacity-search tests and benchmarks.

``python tests/_token_bucket.py --rate R --mode reject|queue`` listens on 127.0.0.1 (an
ephemeral port, printed on the first line of stdout once it accepts connections: readiness
is that line, never a sleep) and serves ``GET`` requests on keep-alive connections:

- ``reject``: a token bucket of R tokens/s (burst ``max(10, R/20)``: 50 ms of scheduling jitter); a request that finds
  it empty gets 503 at once. At an offered rate λ > R the error rate is 1 − R/λ.
- ``queue``: one FIFO server taking 1/R s per request; a request waits for those before it,
  so past R the queue — and the latency — grows for as long as the overload lasts (requests
  that would wait over 10 s get 503).

Runs in its own process, so its CPU does not compete with the generator's GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
_BUSY = b"HTTP/1.1 503 Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
_MAX_WAIT_S = 10.0


class Bucket:
    """The shared capacity: R per second, as tokens (reject) or as a FIFO server (queue)."""

    def __init__(self, rate: float, mode: str) -> None:
        self.rate = rate
        self.mode = mode
        self.burst = max(10.0, rate / 20)  # 50 ms: a busy machine's jitter is not overload
        self.tokens = self.burst
        self.last = time.monotonic()
        self.free_at = 0.0  # queue: when the server is next free

    def admit(self, now: float) -> float | None:
        """When to answer 200 (``now`` or later), or None for a 503 now."""
        if self.mode == "reject":
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return now
            return None
        start = max(now, self.free_at)
        if start - now > _MAX_WAIT_S:
            return None
        self.free_at = start + 1 / self.rate
        return self.free_at


class Conn(asyncio.Protocol):
    def __init__(self, bucket: Bucket, loop: asyncio.AbstractEventLoop) -> None:
        self.bucket = bucket
        self.loop = loop
        self.buf = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.buf = self.buf[end + 4:]
            now = time.monotonic()
            at = self.bucket.admit(now)
            if at is None:
                self.transport.write(_BUSY)
            elif at <= now:
                self.transport.write(_OK)
            else:  # delays grow by 1/R per request: answers leave in order
                self.loop.call_later(at - now, self._answer)

    def _answer(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(_OK)


async def serve(rate: float, mode: str) -> None:
    loop = asyncio.get_running_loop()
    bucket = Bucket(rate, mode)
    server = await loop.create_server(lambda: Conn(bucket, loop), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--mode", choices=("reject", "queue"), default="reject")
    args = ap.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.rate, args.mode))
    except ImportError:
        asyncio.run(serve(args.rate, args.mode))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
