"""A headless Chromium driven over the DevTools protocol, for the HTML report tests.

Raw CDP over one websocket (websocket-client): no browser bundle from PyPI, Debian's
chromium as CI installs it. Every wait polls state up to a deadline; no sleep stands in
for synchronisation.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DEADLINE = 20.0  # seconds for any one wait: generous for a loaded 2-core CI machine


class CDPError(RuntimeError):
    pass


@dataclass
class PageRun:
    """What the browser saw while loading one page."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@dataclass
class Tab:
    browser: Browser
    session: str
    start: int

    def seen(self) -> PageRun:
        return self.browser.seen(self.session, self.start)

    def evaluate(self, expr: str) -> Any:
        return self.browser.evaluate(self.session, expr)

    def wait_for(self, expr: str, what: str) -> Any:
        return self.browser.wait_for(self.session, expr, what)

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        return self.browser.screenshot(self.session, path, full_page=full_page)

    def pdf(self, path: Path) -> Path:
        return self.browser.pdf(self.session, path)


class Browser:
    def __init__(self, profile: Path) -> None:
        import websocket  # the test extra's websocket-client

        assert CHROMIUM is not None
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", "--disable-dev-shm-usage",
             f"--user-data-dir={profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        lines = self._poll(lambda: port_file.exists() and port_file.read_text().count("\n") >= 1
                           and port_file.read_text().split("\n"),
                           "chromium to write DevToolsActivePort")
        url = f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
        # Chromium refuses websocket clients that send an Origin header it was not told of.
        self.ws = websocket.create_connection(url, timeout=DEADLINE, suppress_origin=True)
        self.next_id = 0
        self.replies: dict[int, dict[str, Any]] = {}
        self.events: list[tuple[str | None, str, dict[str, Any]]] = []

    def _poll(self, probe: Any, what: str) -> Any:
        """Poll a file the browser writes, every 10 ms, up to the deadline."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise CDPError(f"chromium exited ({self.proc.returncode}) waiting for {what}")
            got = probe()
            if got:
                return got
            time.sleep(0.01)  # a poll interval, not a guess at how long startup takes
        raise CDPError(f"timed out waiting for {what}")

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        msg: dict[str, Any] = {"id": my_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while my_id not in self.replies:  # bounded by the socket timeout
            self._record(json.loads(self.ws.recv()))
        reply = self.replies.pop(my_id)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def _record(self, msg: dict[str, Any]) -> None:
        if "id" in msg:
            self.replies[msg["id"]] = msg
            return
        if "method" not in msg:
            return
        self.events.append((msg.get("sessionId"), msg["method"], msg["params"]))
        if msg["method"] == "Page.javascriptDialogOpening":  # recorded above; unblock the page
            self.send("Page.handleJavaScriptDialog", msg.get("sessionId"), accept=False)

    def wait_event(self, session: str, method: str, since: int) -> dict[str, Any]:
        """Read messages until ``method`` arrives for ``session`` (socket timeout bounds it)."""
        end = time.monotonic() + DEADLINE
        seen = since
        while time.monotonic() < end:
            for sid, m, params in self.events[seen:]:
                if sid == session and m == method:
                    return params
            seen = len(self.events)
            self._record(json.loads(self.ws.recv()))
        raise CDPError(f"timed out waiting for {method}")

    def evaluate(self, session: str, expr: str) -> Any:
        r = self.send("Runtime.evaluate", session, expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise CDPError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, session: str, expr: str, what: str) -> Any:
        """Wait until a JS expression is truthy, polled inside the page on each frame."""
        js = (
            f"new Promise(done => {{ const end = Date.now() + {DEADLINE * 1000:.0f};"
            f" (function tick() {{ let v = null; try {{ v = ({expr}); }} catch (e) {{}}"
            " if (v || Date.now() > end) { done(v); } else { setTimeout(tick, 20); } })(); })"
        )
        r = self.send("Runtime.evaluate", session, expression=js, awaitPromise=True,
                      returnByValue=True)
        value = r["result"].get("value")
        if not value:
            raise CDPError(f"timed out waiting for {what}: {expr}")
        return value

    def open(self, path: Path, *, width: int = 1280, height: int = 900,
             javascript: bool = True) -> Tab:
        """Load a file in a fresh tab and wait for its load event."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session)
        self.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        if not javascript:
            self.send("Emulation.setScriptExecutionDisabled", session, value=True)
        start = len(self.events)
        self.send("Page.navigate", session, url=path.resolve().as_uri())
        self.wait_event(session, "Page.loadEventFired", start)
        return Tab(self, session, start)

    def seen(self, session: str, start: int) -> PageRun:
        """What the tab logged, requested and popped up since it was opened."""
        run = PageRun()
        for sid, method, params in self.events[start:]:
            if sid != session:
                continue
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                run.console_errors.append(json.dumps(params["args"])[:500])
            elif method == "Runtime.exceptionThrown":
                run.console_errors.append(json.dumps(params["exceptionDetails"])[:500])
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                run.console_errors.append(params["entry"].get("text", "")[:500])
            elif method == "Network.requestWillBeSent":
                run.requests.append(params["request"]["url"])
            elif method == "Page.javascriptDialogOpening":
                run.dialogs.append(params.get("message", ""))
        return run

    def screenshot(self, session: str, path: Path, *, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            w, h = self.evaluate(session, "[document.documentElement.scrollWidth,"
                                          " document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": w, "height": h, "scale": 1})
        data = self.send("Page.captureScreenshot", session, **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def pdf(self, session: str, path: Path) -> Path:
        data = self.send("Page.printToPDF", session, printBackground=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:  # noqa: BLE001 — the browser may already be gone
            pass
        self.ws.close()
        try:
            self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
