"""A capacity Result downstream: the store, compare (higher is better), the reports."""

from __future__ import annotations

import json
from pathlib import Path

from perfgate.analysis.capacity import Probe, Search
from perfgate.analysis.capacity_result import CapacityEvidence, build_result
from perfgate.analysis.checks import apply_checks, parse_check
from perfgate.analysis.compare import compare_resultsets
from perfgate.model import Environment, Result, ResultSet, Verdict
from perfgate.report._capacity_text import capacity_headline
from perfgate.report.html import render_html
from perfgate.report.junit import write_junit
from perfgate.report.markdown import results_markdown
from perfgate.store import open_store

NAME = "checkout <script>alert(1)</script>"


def found(low: float | None, high: float | None, stop: str = "converged",
          message: str = "converged") -> Search:
    v = Verdict("error_rate < 1%", "pass", 0.001, 0.01, "fine", "1", ci=(0.0, 0.002))
    probes = tuple(
        Probe(rate=r, duration=5.0, status=s, verdicts=(v,), achieved=r, error_rate=e,
              p50=0.002, p95=0.004, p99=0.008, requests=int(5 * r), phase="refine",
              started=7.0 * i, wall=7.0)
        for i, (r, s, e) in enumerate([(900.0, "pass", 0.0), (1100.0, "fail", 0.08),
                                        (1000.0, "pass", 0.004), (1040.0, "inconclusive",
                                                                  0.01)]))
    return Search(capacity=None if stop == "generator" else low, low=low, high=high, confirmed=low is not None,
                  stop=stop, message=message, probes=probes, elapsed=60.0,  # type: ignore[arg-type]
                  generator_limit=1100.0 if stop == "generator" else None)


def result(low: float, high: float, name: str = NAME) -> Result:
    return build_result(name, found(low, high), {"target": "http://127.0.0.1/"})


def test_store_keeps_the_capacity_and_its_evidence(tmp_path: Path) -> None:
    r = apply_checks(result(1000.0, 1040.0), [parse_check("capacity >= 500/s")])
    with open_store(f"sqlite:///{tmp_path / 'h.db'}") as store:
        run_id = store.save(ResultSet(Environment(), (r,)))
        back = store.load(run_id).results[0]
        points = store.metric_points([run_id], NAME)[run_id]
    assert back.metric("capacity").ci_high == 1040.0
    assert CapacityEvidence.of(back) == CapacityEvidence.of(r)
    cap = next(p for p in points if p.metric == "capacity")
    assert (cap.value, cap.ci_low, cap.ci_high, cap.unit) == (1000.0, 1000.0, 1040.0, "1/s")
    assert back.verdicts[0].status == "pass"


def test_compare_calls_a_lower_capacity_a_regression() -> None:
    base = ResultSet(Environment(), (result(1000.0, 1040.0),))
    worse = ResultSet(Environment(), (result(800.0, 832.0),))
    down = compare_resultsets(base, worse).comparisons
    assert [(c.metric, c.status, c.higher_is_better) for c in down] == [
        ("capacity", "regression", True)]
    up = compare_resultsets(worse, base).comparisons
    assert [(c.metric, c.status) for c in up] == [("capacity", "improvement")]


def test_headline() -> None:
    assert capacity_headline(result(1000.0, 1040.0)) == "1 k/s (bracket 1 k/s to 1.04 k/s)"
    at_least = build_result("x", found(5000.0, None, "max_rate"), {})
    assert capacity_headline(at_least) == "at least 5 k/s"
    none = build_result("x", found(None, None, "generator", "bounded by the generator at "
                                                            "1.1 k/s"), {})
    assert capacity_headline(none).startswith("no capacity measured: bounded by the generator")


def test_html_draws_the_curve_and_keeps_names_as_text() -> None:
    html = render_html(ResultSet(Environment(), (result(1000.0, 1040.0),)))
    assert "Capacity searches" in html and "Latency and errors against offered rate" in html
    assert "<script>alert(1)</script>" not in html
    assert "checkout &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "The search, probe by probe" in html and "inconclusive" in html


def test_html_says_when_there_is_no_capacity() -> None:
    r = build_result("svc", found(900.0, None, "generator",
                                  "bounded by the generator at 1.1 k/s"), {})
    assert "capacity" not in r.metrics
    html = render_html(ResultSet(Environment(), (r,)))
    assert "No capacity for the service" in html and "bounded by the generator" in html


def test_html_survives_damaged_evidence() -> None:
    r = result(1000.0, 1040.0)
    bad = Result(name=r.name, kind="capacity", metrics=r.metrics,
                 extra={"capacity": {"probes": [{"status": "maybe"}]}})
    html = render_html(ResultSet(Environment(), (bad,)))
    assert "Unreadable evidence" in html


def test_markdown_and_junit_carry_the_name_and_the_verdict(tmp_path: Path) -> None:
    r = apply_checks(result(1000.0, 1040.0), [parse_check("capacity >= 2000/s")])
    md = results_markdown(ResultSet(Environment(), (r,)))
    assert "checkout" in md and "capacity >= 2000/s" in md
    write_junit(ResultSet(Environment(), (r,)), tmp_path / "j.xml")
    xml = (tmp_path / "j.xml").read_text()
    assert "capacity &gt;= 2000/s" in xml and "&lt;script&gt;" in xml and "<failure" in xml


def test_json_document_is_plain_json() -> None:
    text = ResultSet(Environment(), (result(1000.0, 1040.0),)).to_json()
    doc = json.loads(text)["results"][0]
    assert doc["kind"] == "capacity" and doc["capacity"]["stop"] == "converged"
    assert [p["status"] for p in doc["capacity"]["probes"]] == [
        "pass", "fail", "pass", "inconclusive"]
    assert doc["capacity"]["probes"][0]["checks"][0]["ci"] == [0.0, 0.002]
