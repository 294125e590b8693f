"""The live page (``--dashboard``) in headless Chromium during a real load test: it updates
in place, stays on 127.0.0.1, shows hostile names as text, and becomes the final report.

The load's live callback holds the coordinator at two chosen ticks until the test has looked
at the page (the workers keep running), so what the page shows at each look is decided by
events, not by timing.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cdp_browser import Browser, Tab

import perfgate as pg
from _load_servers import Server, always
from perfgate._api import html_report
from perfgate.export._dashboard import DashboardOutput
from perfgate.load import LiveStats
from perfgate.model import Result

pytestmark = pytest.mark.slow

HOSTILE = '<img src=x onerror=alert(1)>"&<script>alert(2)</script>'
_HOLD_S = 60.0


def open_url(browser: Browser, url: str) -> Tab:
    """Browser.open for an http URL (the report tests open files)."""
    target = browser.send("Target.createTarget", url="about:blank")["targetId"]
    session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session)
    browser.send("Emulation.setDeviceMetricsOverride", session, width=1280, height=900,
                 deviceScaleFactor=1, mobile=False)
    start = len(browser.events)
    browser.send("Page.navigate", session, url=url)
    browser.wait_event(session, "Page.loadEventFired", start)
    return Tab(browser, session, start)


def test_live_page_updates_then_becomes_the_report(browser: Browser, tmp_path: Path,
                                                   shots: list[Path]) -> None:
    dash = DashboardOutput(report=html_report)
    dash.start()
    assert dash.url is not None and dash.url.startswith("http://127.0.0.1:")
    holds = {3: threading.Event(), 6: threading.Event()}
    reached = {k: threading.Event() for k in holds}
    ticks = [0]
    out: list[Result] = []

    def live(s: LiveStats) -> None:  # the dashboard has this tick already
        ticks[0] += 1
        if ticks[0] in holds:
            reached[ticks[0]].set()
            holds[ticks[0]].wait(_HOLD_S)

    def run() -> None:
        out.append(pg.load(srv.url, vus=2, duration="3s", processes=1, tick=0.25,
                           name=HOSTILE, progress=live, outputs=[dash],
                           checks=["error_rate < 1%"]))

    with Server(always(200)) as srv:
        t = threading.Thread(target=run)
        t.start()
        try:
            assert reached[3].wait(_HOLD_S)
            tab = open_url(browser, dash.url)
            tab.wait_for("document.body.dataset.ticks === '3'", "the page to show tick 3")
            tab.wait_for("document.querySelectorAll('#plot-rps .main-svg').length",
                         "the throughput plot")
            first = tab.evaluate("document.getElementById('tile-requests').textContent")
            shots.append(tab.screenshot(tmp_path / "live-1.png"))
            holds[3].set()
            assert reached[6].wait(_HOLD_S)
            tab.wait_for("document.body.dataset.ticks === '6'", "the page to show tick 6")
            second = tab.evaluate("document.getElementById('tile-requests').textContent")
            shots.append(tab.screenshot(tmp_path / "live-2.png"))
            assert (tmp_path / "live-1.png").read_bytes() != (tmp_path / "live-2.png").read_bytes()
            assert first != second and int(second.replace(",", "")) > int(first.replace(",", ""))
            # the name is text, not markup
            assert tab.evaluate("document.getElementById('name').textContent") == HOSTILE
            assert tab.evaluate("document.querySelectorAll('main img, header img, "
                                "body > script:not([src])').length") == 1  # only our script
            mark = len(browser.events)
            holds[6].set()
            # the run ends: the page replaces itself with the final report
            browser.wait_event(tab.session, "Page.loadEventFired", mark)
            assert tab.evaluate("location.pathname") == "/report"
            h1 = tab.evaluate("document.querySelector('h1').innerText")
            assert "Passed" in h1, h1
            assert tab.evaluate(f"document.body.innerText.includes({HOSTILE!r})")
            shots.append(tab.screenshot(tmp_path / "live-3-report.png"))
        finally:
            for e in holds.values():
                e.set()
            t.join(_HOLD_S)
    assert out and out[0].error is None
    seen = tab.seen()
    assert seen.console_errors == []
    assert seen.dialogs == []
    origin = dash.url
    assert seen.requests and all(u.startswith(origin) for u in seen.requests), seen.requests
    assert {u[len(origin) - 1:] for u in seen.requests} >= {"/", "/plotly.js", "/state",
                                                           "/report"}
