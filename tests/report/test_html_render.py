"""The HTML report rendered and parsed, without a browser: structure, escaping, robustness."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from html_samples import (
    ENV,
    INJECTION,
    Parsed,
    bench,
    burst,
    comparisons,
    everything,
    generic,
    history,
    load,
    sweep,
)

import perfgate as pg
from perfgate.analysis.compare import CompareReport
from perfgate.model import Metric, Result, ResultSet, Verdict
from perfgate.report._html_compare import normalize_comparisons, normalize_history
from perfgate.report._html_load import percentile_points
from perfgate.report._html_page import (
    MAX_PLOT_POINTS,
    decimate_series,
    json_for_script,
    plotly_js,
    thin_samples,
)
from perfgate.report._html_sweep import sweep_points
from perfgate.report.html import register_kind, render_html, write_html


@pytest.fixture(scope="module")
def full() -> tuple[str, Parsed]:
    page = render_html(everything(), comparisons=comparisons(), history=history())
    return page, Parsed(page)


def test_every_kind_has_its_section_and_plots(full: tuple[str, Parsed]) -> None:
    _, doc = full
    ids = {a.get("id") for _, a in doc.tags}
    for section in ("checks", "warnings", "comparisons", "kind-bench", "kind-burst",
                    "kind-load", "kind-sweep", "kind-memory", "history", "environment"):
        assert section in ids, section
    plot_divs = [a["id"] for t, a in doc.tags if t == "div" and a.get("class") == "plot"]
    assert plot_divs == [p["id"] for p in doc.plots]
    # bench, burst, load (percentiles + 4 series units), sweep (3), comparisons, history
    assert len(plot_divs) == 12
    text = doc.visible_text
    assert "Failed" in text and "2 of 7 checks failed, 1 regression" in text
    assert "bounded by the generator: its CPU was 97% of a core" in text
    assert "HTTP 503: <html>upstream</html> (at 30.2 s)" in text
    assert "samples added for coordinated omission" in text
    assert "SELECT * FROM lines WHERE order_id = ?" in text and "orders.py:42" in text
    assert "SwapConflict: already swapped <i>by bob</i>" in text  # shown as text


def test_failing_checks_come_first(full: tuple[str, Parsed]) -> None:
    _, doc = full
    rows = [a.get("class") for t, a in doc.tags if t == "tr" and "row-" in (a.get("class") or "")]
    statuses = [r.removeprefix("row-") for r in rows][:7]  # the checks table comes first
    assert statuses == ["fail", "fail", "inconclusive", "pass", "pass", "pass", "pass"]


def test_injection_renders_as_text(full: tuple[str, Parsed]) -> None:
    page, doc = full
    assert not [t for t, _ in doc.tags if t == "img"]
    scripts = [a for t, a in doc.tags if t == "script"]
    assert len(scripts) == 3  # plotly.js, the data, the page script: none from a name
    assert all("src" not in a for a in scripts)
    assert INJECTION in doc.visible_text
    assert "AMD EPYC <script>alert(2)</script>" in doc.visible_text  # environment, as text
    assert "feature/<b>bold</b>" in doc.visible_text
    assert INJECTION not in page  # only escaped forms reach the file
    names = [t.get("name", "") for p in doc.plots for t in p["data"]]
    # plotly reads a few tags in labels: they reach it entity-escaped, so it shows text
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in names


def test_self_contained(full: tuple[str, Parsed]) -> None:
    page, doc = full
    assert page.count(str(plotly_js())) == 1
    assert not [t for t, _ in doc.tags if t in ("link", "iframe", "img", "object")]
    assert all(not (a.get("src") or a.get("href") or "").startswith(("http", "//"))
               for _, a in doc.tags)


def test_json_for_script_cannot_close_its_tag() -> None:
    nasty = {"a": "</script><!-- & \u2028\u2029 >", "n": math.nan, "i": math.inf}
    out = str(json_for_script(nasty))
    for bad in ("<", ">", "&", "\u2028", "\u2029", "NaN", "Infinity"):
        assert bad not in out
    assert json.loads(out) == {"a": "</script><!-- & \u2028\u2029 >", "n": None, "i": None}


def test_plotly_bundle_is_safe_to_inline() -> None:
    js = str(plotly_js())
    assert "</script" not in js.lower() and "<!--" not in js
    assert len(js) > 500_000  # the real bundle, not a stub


def test_passing_run_says_so_in_the_banner() -> None:
    rs = ResultSet(ENV, (bench("parse_orders", 3.8e-3), burst()))
    doc = Parsed(render_html(rs))
    assert "banner status-pass" in " ".join(a.get("class") or "" for _, a in doc.tags)
    assert "all 2 checks passed (2 results)" in doc.visible_text


def test_no_checks_and_no_plots() -> None:
    rs = ResultSet(ENV, (Result(name="x", kind="custom",
                                metrics={"n": Metric.counter(3)}),))
    page = render_html(rs)
    assert "No checks" in Parsed(page).visible_text
    assert str(plotly_js()) not in page  # no plot, no 4 MB of JavaScript
    assert len(page) < 100_000


def test_results_from_the_real_engines(quick: pg.BenchOptions) -> None:
    r = pg.bench_callable(lambda: sorted(range(200, 0, -1)), name="sort_200", options=quick)
    r = pg.apply_checks(r, [pg.parse_check("median < 1s")])
    b = pg.burst(lambda i: 1 // (i % 2), n=4, args=range(4), name="half_fail").result
    doc = Parsed(render_html(ResultSet(ENV, (r, b))))
    trace = next(t for p in doc.plots for t in p["data"] if t.get("name") == "sort_200")
    assert r.metrics["time"].samples is not None
    # every sample is drawn, up to the plot's cap (per-call samples can be many more)
    assert len(trace["x"]) == min(len(r.metrics["time"].samples), MAX_PLOT_POINTS)
    assert "ZeroDivisionError: integer division or modulo by zero" in doc.visible_text
    assert "Passed" in doc.visible_text


def test_decimation_keeps_spikes_and_order() -> None:
    pts = [(float(t), 1.0) for t in range(100_000)]
    pts[54_321] = (54_321.0, 99.0)
    out = decimate_series(pts)
    assert len(out) <= MAX_PLOT_POINTS
    assert (54_321.0, 99.0) in out
    assert [t for t, _ in out] == sorted(t for t, _ in out)
    assert decimate_series(pts[:10]) == pts[:10]


def test_thin_samples_keeps_the_extremes() -> None:
    xs = [float(i) for i in range(50_000)]
    out = thin_samples(xs)
    assert len(out) == MAX_PLOT_POINTS and out[0] == 0.0 and out[-1] == 49_999.0


def test_long_series_are_decimated_in_the_page() -> None:
    doc = Parsed(render_html(ResultSet(ENV, (load(points=20_000),))))
    lengths = [len(t["x"]) for p in doc.plots for t in p["data"]]
    assert max(lengths) <= MAX_PLOT_POINTS


def test_percentile_points_from_each_source() -> None:
    given = Metric(unit="s", kind="distribution", extra={"percentiles": {"50": 0.01,
                                                                         "99.9": 0.2}})
    assert percentile_points(given) == [(0.5, 0.01), (pytest.approx(0.999), 0.2)]
    summary = Metric(unit="s", kind="distribution", min=0.001, p50=0.01, p99=0.1)
    assert percentile_points(summary) == [(0.0, 0.001), (0.5, 0.01), (0.99, 0.1)]
    raw = load().metrics["service_time"]
    pts = percentile_points(raw)
    assert len(pts) <= MAX_PLOT_POINTS and pts[-1][1] == max(raw.samples or ())
    engine = load().metrics["latency"]  # percentiles from the engine, then its max
    qs = [q for q, _ in percentile_points(engine)]
    assert qs[:2] == [0.25, 0.5] and qs[-1] == pytest.approx(0.9999)


def test_sweep_shapes_and_fit() -> None:
    points, units = sweep_points(sweep())
    assert [p[0] for p in points["time"]] == [10, 100, 1_000, 10_000]
    assert units == {"time": "s", "alloc_bytes": "B", "queries": "1"}
    aligned = Result(name="s", kind="sweep", extra={"sizes": [1, 2], "per_size": [
        {"time": 1.0}, {"time": {"unit": "s", "kind": "gauge", "value": 2.0}}]})
    assert [(n, v) for n, v, _, _ in sweep_points(aligned)[0]["time"]] == [(1, 1.0), (2, 2.0)]
    named = Result(name="s", kind="sweep", metrics={
        "time@10": Metric.gauge(1.0, "s"), "time[n=100]": Metric.gauge(10.0, "s")})
    assert [(n, v) for n, v, _, _ in sweep_points(named)[0]["time"]] == [(10, 1.0), (100, 10.0)]
    doc = Parsed(render_html(ResultSet(ENV, (sweep(),))))
    fits = {p["layout"]["title"]["text"]: p["data"][1] for p in doc.plots}
    assert fits["time vs n — O(n)"]["name"] == "fit O(n)"
    assert fits["time vs n — O(n)"]["y"][-1] == pytest.approx(2.1e-7 * 10_000, rel=1e-6)
    tied = fits["alloc_bytes vs n — inconclusive"]
    assert tied["name"] == "best fit O(n) (tied)"
    assert tied["y"] == [400.0, 4_000.0, 40_000.0, 400_000.0]
    assert "n^1.07 [1.03 – 1.11]" in doc.visible_text
    assert "Sizes that would decide it: 10, 457, 2091, 100000." in doc.visible_text


def test_missing_fields_render_without_error() -> None:
    odd = (
        Result(name="bare-sweep", kind="sweep"),
        Result(name="sweep-junk", kind="sweep", extra={
            "sizes": "many", "per_size": [1, {"n": "x"}, {"metrics": None}],
            "complexity": {"time": "inconclusive", "x": {"coefficients": "?"}},
            "n_plus_one": "yes"}),
        Result(name="bare-load", kind="load", metrics={"requests": Metric.counter(0)},
               extra={"examples": ["not a mapping"], "errors": {"E": {"count": None}}}),
        Result(name="bare-bench", kind="bench", error="boom <b>", metrics={}),
        Result(name="bare-burst", kind="burst"),
        generic(),
    )
    page = render_html(ResultSet(ENV, odd), comparisons=CompareReport.from_dict([{}]),
                       history={"runs": [{"metrics": None}, {"metrics": {"a": "x"}}, 3]})
    doc = Parsed(page)
    assert "boom <b>" in doc.visible_text and "This sweep holds no per-size data." in page


def test_comparisons_regressions_first_then_effect() -> None:
    got = normalize_comparisons(CompareReport.from_dict({"comparisons": [
        {"name": "small", "ratio": 1.01, "status": "unchanged"},
        {"name": "big", "ratio": 0.5, "status": "improvement"},
        {"name": "reg", "ratio": 1.1, "status": "regression"},
        {"name": "reg2", "ratio": 1.5, "status": "regression"},
    ]}).comparisons)
    assert [c.name for c in got] == ["reg2", "reg", "big", "small"]


def test_a_malformed_comparison_document_names_the_bad_field() -> None:
    with pytest.raises(pg.ResultFormatError, match=r"cmp.json: comparisons\[1\]: 'ratio'"):
        CompareReport.from_dict({"comparisons": [{}, {"ratio": "x"}]}, "cmp.json")
    with pytest.raises(pg.ResultFormatError, match="unknown status"):
        CompareReport.from_dict([{"status": "worse"}])


def test_history_is_oldest_first_with_regressions_named() -> None:
    runs = normalize_history(history())
    assert runs[0]["time"] < runs[-1]["time"]
    doc = Parsed(render_html(ResultSet(ENV), history=history()))
    marker = next(t for p in doc.plots for t in p["data"] if t["name"] == "regression")
    assert marker["text"] == ["09abcdef09"]
    assert "09abcdef09" in doc.visible_text


def test_a_new_kind_is_one_function_away() -> None:
    from markupsafe import Markup

    register_kind("chaos", "Chaos", lambda results, page: Markup("<p>{} faults</p>").format(
        len(results)))
    doc = Parsed(render_html(ResultSet(ENV, (Result(name="c", kind="chaos"),))))
    assert "1 faults" in doc.visible_text and ("h2", {}) in doc.tags


def test_write_html_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "report.html"
    rs = ResultSet(ENV, (bench("a", 1e-3),), )
    write_html(rs, out, comparisons=comparisons())
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_verdict_without_values() -> None:
    r = Result(name="v", kind="bench", verdicts=(Verdict("x", "warn", None, None, ""),))
    assert "warn" in Parsed(render_html(ResultSet(ENV, (r,)))).visible_text
