"""Escaping (issue 12, points 9 and 10): names and messages are data in every output.

A benchmark whose name, and a target whose exception message, carry terminal escapes
(clear screen, retitle), HTML, a Markdown link and a fake "all checks passed" heading:
the Markdown summary (and so ``$GITHUB_STEP_SUMMARY``) shows them as text, the JUnit XML
stays well-formed, the terminal gets no control sequence, the HTML stays inert.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from rbhelp import no_traceback, run

from perfgate import Environment, Metric, Result, ResultSet, write_json
from perfgate.report._escape import code_span, markdown_text, terminal_text, xml_text

HOSTILE = ("evil\x1b[2J\x1b]0;pwned\x07\x00<img src=x onerror=alert(1)>[click](http://x.test)"
           "\n### ✅ perfgate: all checks passed | `x` *y* \u202eabc")

SUITE = f'''
import perfgate as pg

@pg.bench(name={HOSTILE!r}, max_time=0.02, warmup=0.0, memory=False)
def ok():
    return 1

@pg.bench(name="raises", max_time=0.02, warmup=0.0, memory=False)
def raises():
    raise RuntimeError({HOSTILE!r})
'''


def _assert_markdown_inert(md: str) -> None:
    assert "<img" not in md and "](" not in md
    assert not any(line.startswith("### ✅ perfgate: all checks passed")
                   for line in md.splitlines()[1:])
    assert "\x1b" not in md and "\x00" not in md
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in md


@pytest.mark.slow
def test_hostile_names_and_messages_through_every_output(tmp_path: Path) -> None:
    (tmp_path / "perf_evil.py").write_text(SUITE)
    summary = tmp_path / "summary.md"
    done = run(["run", "perf_evil.py", "--json", "r.json", "--junit", "r.xml",
                "--markdown", "r.md", "--html", "r.html"], tmp_path,
               {"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.code == 1, done.both  # one target raised
    no_traceback(done)
    # terminal: not a tty, so rich adds no escape of its own: any would come from data
    assert "\x1b" not in done.both and "\x07" not in done.both and "\u202e" not in done.both
    assert "\\x1b[2J" in done.out
    md = (tmp_path / "r.md").read_text()
    _assert_markdown_inert(md)
    assert md in summary.read_text()
    root = ET.parse(tmp_path / "r.xml").getroot()  # well-formed, or this raises
    texts = " ".join(e.get("message", "") + (e.text or "") for e in root.iter())
    assert "\\x1b[2J" in texts and "<img src=x" in texts  # kept, as text
    html = (tmp_path / "r.html").read_text()
    assert "<img src=x" not in html
    doc = json.loads((tmp_path / "r.json").read_text())  # JSON keeps the exact name
    assert doc["results"][0]["name"] == HOSTILE


def _results(path: Path, name: str, seed: int) -> None:
    pm = list(1e-3 * np.exp(np.random.default_rng(seed).normal(0, 0.01, 20)))
    write_json(path, ResultSet(environment=Environment(), results=(
        Result(name=name, kind="bench", metrics={
            "time": Metric(unit="s", kind="distribution", median=float(np.median(pm)),
                           n=20, extra={"process_medians": pm})}),)))


@pytest.mark.slow
def test_hostile_names_in_compare_outputs(tmp_path: Path) -> None:
    _results(tmp_path / "a.json", HOSTILE, 1)
    _results(tmp_path / "b.json", HOSTILE, 2)
    done = run(["compare", "a.json", "b.json", "--junit", "c.xml", "--markdown", "c.md"],
               tmp_path)
    assert done.code == 0, done.both
    no_traceback(done)
    assert "\x1b" not in done.both
    _assert_markdown_inert((tmp_path / "c.md").read_text())
    ET.parse(tmp_path / "c.xml")


def test_markdown_text_escapes_every_construct() -> None:
    text = markdown_text("a|b <b>x</b> [l](u) ![i](u) *e* _e_ `c` ~s~ $m$ #1\nnext")
    assert "\n" not in text and "<" not in text
    for raw in ("|", "[", "]", "(", "*", "_", "`", "~", "$", "#"):
        assert re.search(rf"(?<!\\){re.escape(raw)}", text) is None, raw
    assert code_span("a`b") == "``a`b``" and code_span("`") == "`` ` ``"


def test_xml_and_terminal_text() -> None:
    assert xml_text("a\x1bb\x00\ud800") == "a\\x1bb\\x00\\ud800"
    assert xml_text("tab\tnl\n") == "tab\tnl\n"
    assert terminal_text("\x1b]0;t\x07\x9b\u202e") == "\\x1b]0;t\\x07\\x9b\\u202e"


@pytest.mark.slow
def test_rich_markup_in_names_and_load_errors_is_text(tmp_path: Path) -> None:
    """A message holding ``[/]`` (rich's closing tag) once crashed the CLI before any
    output was written; now it is shown as text and every output follows."""
    (tmp_path / "lmod.py").write_text(
        "def boom():\n    raise RuntimeError('bad [/] thing [bold]x \\x1b[2J')\n")
    done = run(["load", "lmod:boom", "--iterations", "3", "--name", "n[/]m", "--json", "r.json"],
               tmp_path)
    no_traceback(done)
    assert "bad [/] thing [bold]x \\x1b[2J" in done.out and "\x1b" not in done.both
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["results"][0]["name"] == "n[/]m"
