from __future__ import annotations

from pathlib import Path

import pytest

import perfgate as pg
from perfgate.runner import run_specs
from perfgate.suite import discover, keyword_match

SUITE = '''
import perfgate as pg

@pg.bench(checks=["median < 1s"], max_time=0.02, warmup=0, memory=False)
def fast():
    sum(range(10))

@pg.bench(setup=lambda: [3, 2, 1], max_time=0.02, warmup=0, memory=False)
def sort_it(data):
    sorted(data)

@pg.burst_case(n=4, checks=["count(ok) == 4"])
def together():
    pass

def not_a_benchmark():
    raise AssertionError("never collected")
'''


def write_suite(tmp_path: Path, name: str = "perf_example.py", text: str = SUITE) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_discovery_in_file_order(tmp_path: Path) -> None:
    write_suite(tmp_path)
    write_suite(tmp_path, "helpers.py", "raise RuntimeError('not a suite file')")
    (tmp_path / ".venv").mkdir()
    write_suite(tmp_path / ".venv", "perf_hidden.py")
    specs = discover([tmp_path])
    assert [s.name for s in specs] == ["fast", "sort_it", "together"]
    assert specs[0].nodeid.endswith("perf_example.py::fast")


@pytest.mark.parametrize("when", ["finished", "started"])
def test_ctrl_c_while_a_result_is_reported_keeps_the_results(tmp_path: Path,
                                                             when: str) -> None:
    """A Ctrl-C lands as often while a result line is printed as during a measurement: the
    results measured so far are in the Interrupted, not lost with a bare KeyboardInterrupt."""
    from perfgate.runner import QUIET, run_all

    class Listener(type(QUIET)):  # type: ignore[misc]
        def started(self, name: str, index: int, total: int) -> None:
            if when == "started" and index == 1:
                raise KeyboardInterrupt

        def finished(self, result: pg.Result) -> None:
            if when == "finished" and result.name == "sort_it":
                raise KeyboardInterrupt

    with pytest.raises(pg.Interrupted) as got:
        run_all(discover([write_suite(tmp_path)]), Listener())
    kept = [r.name for r in got.value.results]
    assert kept == (["fast", "sort_it"] if when == "finished" else ["fast"])


def test_run_applies_checks(tmp_path: Path) -> None:
    results = run_specs(discover([write_suite(tmp_path)]))
    assert [r.status for r in results] == ["pass", "pass", "pass"]
    assert results[1].metrics["time"].n
    assert results[2].metrics["count.ok"].value == 4


def test_keyword_selection(tmp_path: Path) -> None:
    write_suite(tmp_path)
    assert [s.name for s in discover([tmp_path], "sort or together")] == ["sort_it", "together"]
    assert [s.name for s in discover([tmp_path], "not (sort or together)")] == ["fast"]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [("a", True), ("A and b", True), ("a and not b", False), ("(x or b) and a", True),
     ("not x", True), ("x or z", False)],
)
def test_keyword_match(expr: str, expected: bool) -> None:
    assert keyword_match(expr, "file_a.py::b") is expected


@pytest.mark.parametrize("bad", ["a and", "(a", "or a", "a )"])
def test_bad_keyword(bad: str) -> None:
    with pytest.raises(pg.UsageError):
        keyword_match(bad, "x")


def test_malformed_check_stops_discovery_with_file_and_position(tmp_path: Path) -> None:
    p = write_suite(tmp_path, "perf_bad.py",
                    "import perfgate as pg\n@pg.bench(checks=['median << 5ms'])\ndef f(): pass\n")
    with pytest.raises(pg.TargetError, match=r"perf_bad.py: CheckSyntaxError: expected a number"):
        discover([p])


def test_a_raising_setup_is_reported_on_the_result(tmp_path: Path) -> None:
    p = write_suite(tmp_path, "perf_setup.py",
                    "import perfgate as pg\n"
                    "def boom(): raise OSError('no fixtures')\n"
                    "@pg.bench(setup=boom)\ndef f(x): pass\n")
    (r,) = run_specs(discover([p]))
    assert r.error == "setup raised OSError: no fixtures"


def test_unknown_metric_in_a_check_keeps_the_result(tmp_path: Path) -> None:
    p = write_suite(tmp_path, "perf_unknown.py",
                    "import perfgate as pg\n"
                    "@pg.bench(checks=['latency_x < 1s'], max_time=0.01, warmup=0)\n"
                    "def f(): pass\n")
    (r,) = run_specs(discover([p]))
    assert r.error is not None and "unknown metric 'latency_x'" in r.error
    assert r.metrics["time"].n  # measured and kept


def test_missing_path() -> None:
    with pytest.raises(pg.UsageError, match="no such file"):
        discover(["/nonexistent/perf"])
