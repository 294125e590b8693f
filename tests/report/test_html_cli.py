"""``perfgate report FILE... --html OUT``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from html_samples import ENV, Parsed, bench, burst, comparisons, history

from perfgate.cli import main
from perfgate.model import ResultSet, write_json


def test_report_merges_files_and_recognises_documents(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", ResultSet(ENV, (bench("parse_orders", 3.8e-3),)))
    write_json(tmp_path / "b.json", ResultSet(ENV, (burst(),)))
    (tmp_path / "cmp.json").write_text(json.dumps({"kind": "comparison",
                                                   **comparisons().to_dict()}))
    (tmp_path / "hist.json").write_text(json.dumps(history()))
    out = tmp_path / "out" / "report.html"
    r = CliRunner().invoke(main, ["report", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                                  str(tmp_path / "cmp.json"), str(tmp_path / "hist.json"),
                                  "--html", str(out), "--title", "nightly <run>"])
    assert r.exit_code == 0, r.output
    assert f"HTML report written to {out}" in " ".join(r.output.split())
    doc = Parsed(out.read_text(encoding="utf-8"))
    text = doc.visible_text
    assert "parse_orders" in text and "swap_same_shift" in text
    assert "nightly <run>" in text
    ids = {a.get("id") for _, a in doc.tags}
    assert {"comparisons", "history", "kind-bench", "kind-burst"} <= ids
    assert "merged_from" in text


def test_report_input_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    out = str(tmp_path / "r.html")
    missing = runner.invoke(main, ["report", str(tmp_path / "nope.json"), "--html", out])
    assert missing.exit_code == 2 and "nope.json: cannot read" in " ".join(missing.output.split())
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = runner.invoke(main, ["report", str(bad), "--html", out])
    assert r.exit_code == 2 and "invalid JSON at line 1" in " ".join(r.output.split())
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    r = runner.invoke(main, ["report", str(other), "--html", out])
    assert r.exit_code == 2 and "not a perfgate results" in " ".join(r.output.split())
    assert not Path(out).exists()
