"""JUnit XML: each check (and each comparison) a test case, for CI test-report views.

A result's verdicts become test cases ``<result> :: <check>``: ``fail`` is a <failure>,
``warn`` and ``inconclusive`` pass with the reason in <system-out> (they do not fail a run);
a result whose target raised is one <error> case. A result with no checks is one passing
case carrying its headline number. Comparisons: one case per benchmark and metric, failing
when its level is ``fail``.

Names and messages are data: characters XML 1.0 cannot hold (ANSI escapes, other control
characters) are written visibly (:mod:`perfgate.report._escape`), so the document is always
well-formed and CI never drops the report.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from perfgate.analysis.compare import CompareReport, Comparison
from perfgate.model import Result, ResultSet, Verdict, write_atomic
from perfgate.report._escape import xml_text
from perfgate.report._view import headline
from perfgate.units import format_value

__all__ = ["comparison_text", "write_junit", "write_junit_comparison", "write_junit_history"]


def _clean(el: ET.Element) -> None:
    """Every attribute value and text of the tree made XML-safe (they all come from data)."""
    for node in el.iter():
        for k, v in node.attrib.items():
            node.set(k, xml_text(v))
        if node.text:
            node.text = xml_text(node.text)


def _write(root: ET.Element, path: str | Path) -> None:
    _clean(root)
    ET.indent(root)
    write_atomic(Path(path), ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _suite(parent: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(parent, "testsuite", name=name)


def _totals(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", "0")


def _result_cases(suite: ET.Element, r: Result) -> None:
    if r.error is not None:
        case = ET.SubElement(suite, "testcase", classname=r.name, name=r.name)
        err = ET.SubElement(case, "error", message=r.error[:500], type="TargetError")
        err.text = r.error
        return
    if not r.verdicts:
        case = ET.SubElement(suite, "testcase", classname=r.name, name=r.name)
        head = headline(r)
        if head.text != "-":
            ET.SubElement(case, "system-out").text = f"{head.what or 'value'}: {head.text}"
        return
    for v in r.verdicts:
        case = ET.SubElement(suite, "testcase", classname=r.name, name=f"{r.name} :: {v.check}")
        text = f"{v.status}: {v.check} — {v.evidence}"
        if v.status == "fail":
            ET.SubElement(case, "failure", message=text[:500], type="CheckFailed").text = text
        else:
            ET.SubElement(case, "system-out").text = text


def write_junit(rs: ResultSet, path: str | Path) -> None:
    """Write ``rs`` as JUnit XML at ``path`` (atomically)."""
    root = ET.Element("testsuites", name="perfgate")
    suite = _suite(root, "perfgate")
    for r in rs.results:
        _result_cases(suite, r)
    _totals(suite)
    _write(root, path)


def comparison_text(c: Comparison) -> str:
    """One line: ``time: 1.062× (95% CI 1.041–1.085), regression, fail — evidence``."""
    if c.ratio is None:
        return f"{c.metric}: {c.status} — {c.evidence}"
    ci = f" (95% CI {c.ci[0]:.3f}–{c.ci[1]:.3f})" if c.ci else ""
    th = f", threshold {c.threshold.describe(c.unit)}" if c.threshold else ""
    return (f"{c.metric}: {c.ratio:.3f}×{ci}, {c.status}, {c.level}{th} — "
            f"{format_value(c.base, c.unit)} → {format_value(c.current, c.unit)}; "
            f"{c.evidence}")


def _comparison_cases(suite: ET.Element, report: CompareReport) -> None:
    """One test case per comparison; a ``fail`` level is a <failure>."""
    for c in report.comparisons:
        case = ET.SubElement(suite, "testcase", classname=c.name, name=f"{c.name} :: {c.metric}")
        text = comparison_text(c)
        if c.level == "fail":
            ET.SubElement(case, "failure", message=text[:500], type="Regression").text = text
        else:
            ET.SubElement(case, "system-out").text = text


def write_junit_comparison(report: CompareReport, path: str | Path) -> None:
    """Each comparison a test case; a ``fail`` level is a <failure>."""
    root = ET.Element("testsuites", name="perfgate compare")
    suite = _suite(root, f"perfgate compare {report.current_label} vs {report.base_label}")
    _comparison_cases(suite, report)
    _totals(suite)
    _write(root, path)


def write_junit_history(report: CompareReport, trends: Sequence[tuple[str, Verdict]],
                        path: str | Path) -> None:
    """``perfgate history --check``: the newest run's comparisons against its history, then
    each trend verdict (``<name> :: trend: <check>``), a ``fail`` being a <failure>."""
    root = ET.Element("testsuites", name="perfgate history")
    suite = _suite(root, f"perfgate history check of {report.current_label}")
    _comparison_cases(suite, report)
    for name, v in trends:
        _result_cases(suite, Result(name=name, kind="history", verdicts=(v,)))
    _totals(suite)
    _write(root, path)
