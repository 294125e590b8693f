"""Real servers on 127.0.0.1 for the call-probe tests: a threaded HTTP/1.1 server that counts
what it answered, and a throwaway ``redis-server`` on a free port (ready when it says so on
its log, never after a sleep)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: CountingServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen(self.command, self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/items/1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class CountingServer(ThreadingHTTPServer):
    """An HTTP server that counts the requests it answered (by method and path)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def seen(self, method: str, path: str) -> None:
        with self._lock:
            self.requests[(method, path)] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def http_server() -> Iterator[CountingServer]:
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(binary: str) -> Iterator[int]:
    """``redis-server`` on 127.0.0.1 and a free port, no persistence; yields the port."""
    tmp = tempfile.mkdtemp(prefix="perfgate-redis-")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", tmp, "--loglevel", "notice"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    stdout = proc.stdout
    log: list[bytes] = []
    ready = threading.Event()

    def read_log() -> None:  # until EOF: drains the pipe for the server's whole life
        for line in stdout:
            log.append(line)
            if b"Ready to accept connections" in line:
                ready.set()
        ready.set()  # EOF: the server exited; the check below tells

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        if not ready.wait(30) or proc.poll() is not None:
            raise RuntimeError("redis-server did not start:\n"
                               + b"".join(log).decode(errors="replace"))
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        reader.join(10)
        stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)


def redis_binary() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
