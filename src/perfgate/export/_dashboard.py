"""The live page: one page on 127.0.0.1 that follows a load test tick by tick, then turns
into the final HTML report.

A small threaded HTTP server (stdlib) serves four things: the page (``/``), plotly.js from
the installed ``plotly`` package (``/plotly.js``), the numbers so far (``/state``, JSON) and,
once the run is over, the report (``/report``). The page polls ``/state`` twice a second and
redraws in place; when the state says the report is ready it replaces itself with
``/report``, a self-contained page that keeps working after the server is gone. Nothing is
fetched from anywhere but this server; names reach the page as JSON and are shown with
``textContent``, never parsed as HTML.

``add`` (the load's thread) appends one small row per tick under a lock that the server
holds only to copy the rows: a slow or stuck browser never slows the load. ``stop`` waits, a
few seconds at most, for a page that was watching to fetch the report, then closes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from perfgate._errors import UsageError
from perfgate.export._prometheus import parse_listen
from perfgate.load._histogram import LogHistogram
from perfgate.load._outcomes import OK
from perfgate.load._run import LiveStats
from perfgate.model import Result

__all__ = ["DashboardOutput", "ReportRenderer"]

ReportRenderer = Callable[[Sequence[Result]], str]
MAX_POINTS = 1200  # per scenario; older rows are thinned (every other one dropped)
_WATCHING_S = 3.0  # a page polled this recently is waiting for the report
_HANDOVER_S = 5.0  # the longest stop() waits for it
_QUANTILES_EVERY_S = 0.25


def _plotly_js() -> bytes:
    return resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()


def _page() -> bytes:
    return resources.files("perfgate.export").joinpath("live.html").read_bytes()


class _Scenario:
    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[list[float | None]] = []  # t, rps, p99, errors, inflight, cpu, lag
        self.now: dict[str, Any] = {}
        self._cpu = 0.0
        self._t = 0.0
        self._q_t = 0.0
        self._run_q: tuple[float | None, float | None] = (None, None)

    def add(self, s: LiveStats) -> None:
        cpu_s = sum(w.cpu_seconds for w in s.workers)
        dt = s.elapsed - self._t
        cpu = (cpu_s - self._cpu) / dt if dt > 0 else None
        self._cpu, self._t = cpu_s, s.elapsed
        lag = max((w.loop_lag for w in s.workers), default=0.0)
        by_class: dict[str, int] = {OK: s.requests - s.total_errors}
        for w in s.workers:
            for cls, n in w.errors.items():
                by_class[cls] = by_class.get(cls, 0) + n
        p99 = s.p99 if s.p99 == s.p99 else None  # NaN (an empty tick) is a gap
        if s.final or s.elapsed - self._q_t >= _QUANTILES_EVERY_S or not self.now:
            # the whole run so far: an exact merge of the workers' histograms, at most
            # a few times a second however many workers report each tick
            run = LogHistogram.empty()
            for w in s.workers:
                run.merge(w.latency)
            self._run_q = (run.quantile(0.5) / 1e9 if run.n else None,
                           run.quantile(0.99) / 1e9 if run.n else None)
            self._q_t = s.elapsed
        self.now = {
            "elapsed": s.elapsed, "fraction": s.fraction, "rps": s.rps, "p99": p99,
            "run_p50": self._run_q[0], "run_p99": self._run_q[1],
            "requests": s.requests, "errors": s.total_errors, "inflight": s.inflight,
            "vus": sum(w.vus for w in s.workers), "cpu": cpu, "lag": lag, "rss": s.rss,
            "by_class": by_class, "final": s.final,
        }
        if not s.final:
            self.rows.append([round(s.elapsed, 3), s.rps, p99, s.errors, s.inflight, cpu, lag])
            if len(self.rows) > MAX_POINTS:
                self.rows = self.rows[::2]


class DashboardOutput:
    """Serves the live page on ``listen`` (``HOST:PORT``; default 127.0.0.1, a free port).
    ``report`` renders the final Results as the HTML report the page turns into."""

    name = "dashboard"

    def __init__(self, listen: str | None = None, report: ReportRenderer | None = None
                 ) -> None:
        self.listen = parse_listen(listen, "--dashboard") if listen else ("127.0.0.1", 0)
        self.render = report
        self.handover = _HANDOVER_S  # the longest stop() waits for a watching page
        self.scenarios: dict[str, _Scenario] = {}
        self.report: bytes | None = None
        self.done = False
        self._lock = threading.Lock()
        self._handed = threading.Event()
        self._last_poll = 0.0
        self._server: ThreadingHTTPServer | None = None
        self.port: int | None = None

    @property
    def url(self) -> str | None:
        if self.port is None:
            return None
        host = self.listen[0]
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def start(self) -> None:
        if self._server is not None:
            return
        handler = _handler(self)
        try:
            self._server = ThreadingHTTPServer(self.listen, handler)
        except OSError as exc:
            host, port = self.listen
            raise UsageError(f"--dashboard {host}:{port}: cannot listen ({exc})") from None
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, args=(0.1,),
                         name="perfgate-dashboard", daemon=True).start()

    def add(self, scenario: str, stats: LiveStats) -> None:
        with self._lock:
            sc = self.scenarios.get(scenario)
            if sc is None:
                sc = self.scenarios[scenario] = _Scenario(scenario)
            sc.add(stats)

    def state(self) -> bytes:
        with self._lock:
            body = {
                "done": self.done, "report": self.report is not None,
                "scenarios": [{"name": s.name, "now": dict(s.now), "rows": list(s.rows)}
                              for s in self.scenarios.values()],
            }
        return json.dumps(body, allow_nan=False, default=str).encode()

    def stop(self, results: Sequence[Result]) -> list[str]:
        warnings: list[str] = []
        if self.render is not None and results:
            try:
                # no favicon request to a server that is about to close
                self.report = self.render(results).encode().replace(
                    b"<head>", b'<head><link rel="icon" href="data:,">', 1)
            except Exception as exc:  # noqa: BLE001 - the results are written elsewhere
                warnings.append(f"dashboard: the final report could not be rendered: {exc}")
        self.done = True
        if (self.report is not None and self._server is not None
                and time.monotonic() - self._last_poll < _WATCHING_S):
            self._handed.wait(self.handover)  # a watching page fetches the report, then we go
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        return warnings


def _handler(out: DashboardOutput) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "perfgate-live"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the library never prints

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                self._send(200, "text/html; charset=utf-8", _page())
            elif path == "/plotly.js":
                self._send(200, "text/javascript; charset=utf-8", _plotly_js(), cache=True)
            elif path == "/state":
                out._last_poll = time.monotonic()
                self._send(200, "application/json", out.state())
            elif path == "/report" and out.report is not None:
                self._send(200, "text/html; charset=utf-8", out.report)
                out._handed.set()
            elif path == "/favicon.ico":
                self._send(204, "image/x-icon", b"")
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found")

        def _send(self, code: int, ctype: str, body: bytes, cache: bool = False) -> None:
            try:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
                # the page may talk to this server only (defence in depth beside textContent)
                self.send_header("Content-Security-Policy",
                                 "default-src 'self'; script-src 'self' 'unsafe-inline' "
                                 "'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
                                 "img-src 'self' data:")
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the browser went away; the load does not care

    return Handler
