"""A capacity search's report in headless Chromium: both plots draw, offline and inert,
with a hostile result name shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest
from cdp_browser import Browser
from html_samples import INJECTION, Parsed

from perfgate.analysis.capacity import Probe, RampTick, Search
from perfgate.analysis.capacity_result import Ramp, build_result
from perfgate.model import Environment, ResultSet, Verdict
from perfgate.report.html import write_html

pytestmark = pytest.mark.slow


def _capacity() -> ResultSet:
    probes = []
    for i, (rate, status, p95, err) in enumerate(
            [(1130.0, "fail", 0.4, 0.0), (990.0, "pass", 0.004, 0.0),
             (1030.0, "inconclusive", 0.05, 0.0), (1030.0, "fail", 0.09, 0.002),
             (990.0, "pass", 0.005, 0.0)]):
        v = Verdict("p(95) < 50ms", status, p95, 0.05, f"p95 {p95}", "s",  # type: ignore[arg-type]
                    ci=(0.9 * p95, 1.1 * p95))
        probes.append(Probe(rate=rate, duration=5.0, status=status, verdicts=(v,),  # type: ignore[arg-type]
                            achieved=min(rate, 1000.0), error_rate=err, p50=p95 / 3,
                            p95=p95, p99=1.2 * p95, requests=int(5 * rate), phase="refine",
                            started=7.0 * i, wall=7.0))
    found = Search(capacity=990.0, low=990.0, high=1030.0, confirmed=True, stop="converged",
                   message="between 990/s and 1.03k/s", probes=tuple(probes), elapsed=40.0)
    ramp = Ramp(100.0, 1270.0, 6.5, 1130.0,
                tuple(RampTick(100.0 * 1.12 ** k, 50 + 20 * k, 0, 0.003 + 0.002 * k)
                      for k in range(22)))
    return ResultSet(Environment(), (build_result(INJECTION, found, {"target": "x"}, ramp),))


def test_capacity_report_draws_offline_and_inert(browser: Browser, tmp_path: Path,
                                                 shots: list[Path]) -> None:
    page = tmp_path / "report-capacity.html"
    write_html(_capacity(), page)
    expected = len(Parsed(page.read_text(encoding="utf-8")).plots)
    assert expected == 2  # the curve and the path of the search
    tab = browser.open(page)
    tab.wait_for(f"document.querySelectorAll('.js-plotly-plot').length === {expected}"
                 " && document.querySelectorAll('.js-plotly-plot .main-svg').length",
                 "both plots to be drawn")
    assert tab.evaluate("document.querySelectorAll('img').length") == 0
    assert tab.evaluate(f"document.body.innerText.includes({INJECTION!r})")
    assert tab.evaluate("document.body.innerText.includes('Capacity searches')")
    shots.append(tab.screenshot(tmp_path / "report-capacity.png", full_page=True))
    seen = tab.seen()
    assert seen.console_errors == [] and seen.dialogs == []
    assert seen.requests == [page.resolve().as_uri()]
