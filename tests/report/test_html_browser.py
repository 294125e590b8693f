"""The HTML report opened in headless Chromium: it draws, stays offline, and stays inert.

Screenshots go to the test's tmp dir and, when PERFGATE_SCREENSHOT_DIR is set, there too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cdp_browser import Browser
from click.testing import CliRunner
from html_samples import INJECTION, Parsed, comparisons, everything, history

from perfgate.cli import main
from perfgate.report.html import write_html

pytestmark = pytest.mark.slow

PLOTS_DRAWN = "document.querySelectorAll('.js-plotly-plot .main-svg').length"


def _assert_clean(seen_requests: list[str], errors: list[str], dialogs: list[str],
                  page: Path) -> None:
    assert errors == []
    assert dialogs == []
    assert seen_requests == [page.resolve().as_uri()]  # the file itself, nothing else


def test_full_report_draws_offline_and_inert(browser: Browser, tmp_path: Path,
                                             shots: list[Path]) -> None:
    page = tmp_path / "report-all-kinds.html"
    write_html(everything(), page, comparisons=comparisons(), history=history())
    expected = len(Parsed(page.read_text(encoding="utf-8")).plots)
    tab = browser.open(page)
    drawn = tab.wait_for(f"document.querySelectorAll('.js-plotly-plot').length === {expected}"
                         f" && {PLOTS_DRAWN}", "every plot to be drawn")
    assert drawn >= expected
    assert tab.evaluate("document.querySelectorAll('img').length") == 0
    assert tab.evaluate(f"document.body.innerText.includes({INJECTION!r})")
    assert tab.evaluate("document.documentElement.classList.contains('no-js')") is False
    # the verdict and the first failure are in the first screen
    assert tab.evaluate("document.querySelector('h1').innerText").endswith("Failed")
    assert tab.evaluate("document.querySelector('#checks tr.row-fail')"
                        ".getBoundingClientRect().bottom") < 900
    shots.append(tab.screenshot(tmp_path / "report-all-kinds.png", full_page=True))
    seen = tab.seen()
    _assert_clean(seen.requests, seen.console_errors, seen.dialogs, page)


def test_readable_without_javascript(browser: Browser, tmp_path: Path,
                                     shots: list[Path]) -> None:
    page = tmp_path / "report-no-js.html"
    write_html(everything(), page, comparisons=comparisons())
    tab = browser.open(page, javascript=False)
    assert tab.evaluate("document.documentElement.classList.contains('no-js')") is True
    assert tab.evaluate("document.querySelectorAll('.js-plotly-plot').length") == 0
    assert tab.evaluate("getComputedStyle(document.querySelector('.plot')).display") == "none"
    rows = tab.evaluate("document.querySelectorAll('#checks tbody tr').length")
    assert rows == 7
    assert "JavaScript is off" in tab.evaluate("document.body.innerText")
    shots.append(tab.screenshot(tmp_path / "report-no-js.png"))
    seen = tab.seen()
    _assert_clean(seen.requests, seen.console_errors, seen.dialogs, page)


def test_demo_report_says_whether_the_run_passed(browser: Browser, tmp_path: Path,
                                                 shots: list[Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    page = tmp_path / "demo" / "report.html"
    assert page.exists(), result.output
    tab = browser.open(page, width=1280, height=800)
    tab.wait_for(PLOTS_DRAWN, "the demo's plots")
    verdict = tab.evaluate("document.querySelector('h1').innerText")
    assert verdict.endswith("Passed" if result.exit_code == 0 else "Failed")
    # the first screen holds the verdict, the sentence that explains it, and the checks
    # (worst first: a failure would be the first row)
    summary = tab.evaluate("document.querySelector('h1').parentElement.innerText")
    assert "checks passed" in summary or "failed" in summary
    first_row = tab.evaluate("document.querySelector('#checks tbody tr')"
                             ".getBoundingClientRect().bottom")
    assert first_row < 800
    shots.append(tab.screenshot(tmp_path / "demo-report.png"))
    pdf = tab.pdf(tmp_path / "demo-report.pdf")  # runs the page's print handlers
    assert pdf.read_bytes().startswith(b"%PDF")
    shots.append(pdf)
    seen = tab.seen()
    _assert_clean(seen.requests, seen.console_errors, seen.dialogs, page)
