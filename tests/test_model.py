from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from perfgate import ResultFormatError, UnknownMetricError
from perfgate.analysis.stats import summarize
from perfgate.env import collect
from perfgate.model import (
    DISTRIBUTION_FIELDS,
    SCHEMA,
    Metric,
    Result,
    ResultSet,
    Verdict,
    read_json,
    write_json,
)


def _result() -> Result:
    return Result(
        name="parse",
        kind="bench",
        params={"iterations": 100},
        metrics={
            "time": summarize([1e-3, 1.1e-3, 0.9e-3, 1.05e-3, 0.95e-3]),
            "ops": Metric.gauge(1000.0, "1/s", (950.0, 1050.0)),
            "count.ok": Metric.counter(1000),
        },
        verdicts=(Verdict("median < 5ms", "pass", 1e-3, 5e-3, "fine", "s"),),
    )


def test_json_has_the_documented_shape(tmp_path: Path) -> None:
    rs = ResultSet(collect(), (_result(),))
    path = tmp_path / "out" / "results.json"
    write_json(path, rs)
    doc = json.loads(path.read_text())
    assert doc["schema"] == SCHEMA == 1
    env = doc["environment"]
    for key in ("python_version", "implementation", "platform", "cpu_model", "cpu_count",
                "hostname", "started_at", "git_commit", "git_branch", "git_dirty"):
        assert key in env
    r = doc["results"][0]
    assert set(r) >= {"name", "kind", "params", "metrics", "verdicts"}
    t = r["metrics"]["time"]
    assert t["unit"] == "s" and t["kind"] == "distribution"
    for f in DISTRIBUTION_FIELDS:
        assert f in t, f
    assert t["ci_low"] <= t["median"] <= t["ci_high"]
    assert len(t["samples"]) == 5
    assert r["metrics"]["count.ok"] == {"unit": "1", "kind": "counter", "value": 1000}
    v = r["verdicts"][0]
    assert set(v) >= {"check", "status", "value", "limit", "evidence"}


def test_round_trip(tmp_path: Path) -> None:
    rs = ResultSet(collect(), (_result(),))
    write_json(tmp_path / "r.json", rs)
    back = read_json(tmp_path / "r.json")
    assert back.results == rs.results
    assert back.environment.hostname == rs.environment.hostname


def test_unknown_fields_survive_a_round_trip() -> None:
    doc = ResultSet(collect(), (_result(),)).to_dict()
    doc["results"][0]["complexity"] = {"time": {"class": "O(n)"}}
    doc["results"][0]["metrics"]["time"]["histogram"] = "HISTFAAAA"
    back = ResultSet.from_dict(json.loads(json.dumps(doc)))
    assert back.results[0].extra["complexity"] == {"time": {"class": "O(n)"}}
    assert back.results[0].metrics["time"].extra["histogram"] == "HISTFAAAA"


def test_nan_is_written_as_null() -> None:
    r = Result("x", "bench", metrics={"g": Metric.gauge(math.nan)})
    doc = json.loads(ResultSet(collect(), (r,)).to_json())
    assert doc["results"][0]["metrics"]["g"]["value"] is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "invalid JSON at line 1"),
        ('{"schema": 99, "results": []}', "schema 99 is not supported"),
        ('{"hello": 1}', "not a perfgate results document"),
        ('{"schema": 1, "results": [{"name": "a"}]}', r"results\[0\]"),
        ('{"schema": 1, "results": [{"name": "a", "kind": "bench", "metrics": {"t": {"unit": "s"}}}]}',
         "metric 't'"),
    ],
)
def test_bad_documents_name_the_place(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(ResultFormatError, match=match) as info:
        read_json(p)
    assert str(p) in str(info.value)


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(ResultFormatError, match="cannot read"):
        read_json(tmp_path / "nope.json")


def test_unknown_metric_lists_what_exists() -> None:
    with pytest.raises(UnknownMetricError, match="available: count.ok, ops, time"):
        _result().metric("latency")


def test_status_is_the_worst_verdict() -> None:
    r = _result()
    assert r.status == "pass"
    worse = r.with_verdicts([*r.verdicts, Verdict("x", "inconclusive", 1, 1, "")])
    assert worse.status == "inconclusive"
    assert Result("e", "bench", error="boom").status == "error"
    assert not ResultSet(collect(), (Result("e", "bench", error="boom"),)).passed


def test_environment_sees_git(tmp_path: Path) -> None:
    env = collect(Path(__file__).parent)
    assert env.cpu_count >= 1
    assert env.python_version.count(".") == 2
    outside = collect(tmp_path)
    assert outside.git_commit is None and outside.git_dirty is None
