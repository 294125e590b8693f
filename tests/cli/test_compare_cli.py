"""`perfgate compare BASE CURRENT`: exit codes, thresholds, and the CI outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from perfgate import Environment, Metric, Result, ResultSet, write_json
from perfgate.cli import main
from perfgate.store import open_store


def _rs(scale: float, seed: int, names: tuple[str, ...] = ("parse", "sort")) -> ResultSet:
    rng = np.random.default_rng(seed)
    results = []
    for name in names:
        pm = list(1e-3 * scale * np.exp(rng.normal(0, 0.01, 20)))
        results.append(Result(name=name, kind="bench", metrics={
            "time": Metric(unit="s", kind="distribution", median=float(np.median(pm)),
                           n=20, extra={"process_medians": pm})}))
    return ResultSet(environment=Environment(git_commit="c"), results=tuple(results))


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    out = {}
    for label, scale, seed in (("base", 1.0, 1), ("same", 1.0, 2), ("slower", 1.2, 3),
                               ("faster", 0.8, 4)):
        out[label] = tmp_path / f"{label}.json"
        write_json(out[label], _rs(scale, seed))
    return out


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["compare", *args])
    return r.exit_code, " ".join(r.output.split())  # rich wraps at 80 columns


def test_exit_codes(files: dict[str, Path]) -> None:
    code, output = run(str(files["base"]), str(files["slower"]))
    assert code == 1, output
    assert "regression" in output and "FAIL" in output
    code, output = run(str(files["base"]), str(files["faster"]))
    assert code == 0, output
    assert "improvement" in output and "regression" not in output
    code, output = run(str(files["base"]), str(files["same"]))
    assert code == 0, output
    # two saves can differ by the machine's run-to-run noise (3 % assumed): not "unchanged"
    # within the 5 % threshold, not a regression either
    assert "inconclusive" in output and "regression" not in output


def test_usage_and_input_errors_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    assert run(str(files["base"]))[0] == 2
    assert run(str(files["base"]), str(tmp_path / "missing.json"))[0] == 2
    (tmp_path / "broken.json").write_text("{not json")
    code, output = run(str(files["base"]), str(tmp_path / "broken.json"))
    assert code == 2 and "invalid JSON" in output
    assert run(str(files["base"]), str(files["slower"]), "--threshold", "time=lots")[0] == 2
    assert run("--against", "HEAD")[0] == 2  # no target


def test_thresholds_from_cli_and_pyproject(files: dict[str, Path], tmp_path: Path) -> None:
    code, output = run(str(files["base"]), str(files["slower"]), "--threshold", "time=30%")
    assert code == 0 and "warn" in output
    (tmp_path / "pyproject.toml").write_text(
        '[tool.perfgate.thresholds]\ntime = "30%"\n"parse:time" = "10%"\n')
    code, output = run(str(files["base"]), str(files["slower"]), "--json", "cmp.json")
    assert code == 1
    doc = json.loads((tmp_path / "cmp.json").read_text())
    levels = {c["name"]: c["level"] for c in doc["comparisons"]}
    assert levels == {"parse": "fail", "sort": "warn"}


def test_json_junit_markdown_outputs(files: dict[str, Path], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, _ = run(str(files["base"]), str(files["slower"]), "--json", "c.json",
                  "--junit", "c.xml", "--markdown", "c.md")
    assert code == 1
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["failed"] is True
    c = doc["comparisons"][0]
    assert c["status"] == "regression" and c["ratio"] > 1.1
    assert c["ci"][0] > 1 and c["ci"][1] > c["ci"][0]
    assert c["unit_of_analysis"] == "process"
    suite = ET.parse(tmp_path / "c.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "2"
    md = (tmp_path / "c.md").read_text()
    assert "| parse | time |" in md and "regression" in md
    assert md in summary.read_text()


def test_stored_runs_by_id(files: dict[str, Path], tmp_path: Path) -> None:
    from perfgate import read_json

    url = f"sqlite:///{tmp_path}/h.db"
    with open_store(url) as store:
        a = store.save(read_json(files["base"]))
        b = store.save(read_json(files["slower"]))
    assert run(str(a), str(b), "--store", url)[0] == 1
    assert run("previous", "latest", "--store", url)[0] == 1
    code, output = run("7", "latest", "--store", url)
    assert code == 2 and "no run with id 7" in output


def test_result_outputs_for_runs(tmp_path: Path) -> None:
    from perfgate.model import Verdict
    from perfgate.report.junit import write_junit
    from perfgate.report.markdown import write_markdown

    rs = ResultSet(environment=Environment(git_commit="abcdef1234567"), results=(
        Result(name="ok", kind="bench", verdicts=(Verdict("median < 1ms", "pass", 1e-4, 1e-3,
                                                          "fine"),)),
        Result(name="slow", kind="bench", verdicts=(Verdict("median < 1ms", "fail", 2e-3, 1e-3,
                                                            "too slow"),)),
        Result(name="boom", kind="bench", error="ValueError: nope"),
    ))
    write_junit(rs, tmp_path / "r.xml")
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    write_markdown(rs, tmp_path / "r.md")
    md = (tmp_path / "r.md").read_text()
    assert "checks failed" in md and "ValueError: nope" in md and "| slow |" in md
