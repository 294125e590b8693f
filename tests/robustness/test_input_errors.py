"""Input errors (issue 12, last group): exit 2 with a message naming the place, never a
traceback, and nothing sent or measured first.

``perfgate load`` with an impossible timeout, pid, port or IPv6 URL; counts and budgets that
are zero, negative or ``nan`` in every verb; a 100,000-deep nested JSON file given to
``compare``, ``report`` and ``import``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rbhelp import no_traceback, run

pytestmark = pytest.mark.slow

URL = "http://127.0.0.1:9/"  # never contacted: every case is refused before the run

LOAD_CASES = [
    ([URL, "--timeout", "0"], "'--timeout'"),
    ([URL, "--timeout", "-1"], "'--timeout'"),
    ([URL, "--timeout", "nan"], "'--timeout'"),
    ([URL, "--pid", "-1"], "'--pid'"),
    ([URL, "--pid", "4194304999"], "--pid 4194304999: no such process"),
    ([URL, "--vus", "0"], "'--vus'"),
    ([URL, "--rate", "5/s", "--max-vus", "0"], "'--max-vus'"),
    ([URL, "--warmup", "nan"], "'--warmup'"),
    (["http://127.0.0.1:70000/"], "not a valid URL: Port out of range"),
    (["http://[::1/"], "not a valid URL: Invalid IPv6 URL"),
    (["http://[::1]:99999/"], "not a valid URL: Port out of range"),
    (["http://127.0.0.1:-1/"], "not a valid URL"),
]


@pytest.mark.parametrize(("args", "message"), LOAD_CASES,
                         ids=[" ".join(a[1:]) or a[0] for a, _ in LOAD_CASES])
def test_load_input_errors(tmp_path: Path, args: list[str], message: str) -> None:
    done = run(["load", *args, "--iterations", "1", "--json", "r.json"], tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    assert message in done.err, done.err
    assert not (tmp_path / "r.json").exists()


OTHER_CASES = [
    (["bench", "math:pi", "--max-time", "nan"], "'--max-time'"),
    (["bench", "math:pi", "--warmup", "-1"], "'--warmup'"),
    (["run", ".", "--max-time", "inf"], "'--max-time'"),
    (["compare", "--against", "HEAD", "m:f", "--budget", "nan"], "'--budget'"),
    (["compare", "--against", "HEAD", "m:f", "--process-time", "0"], "'--process-time'"),
    (["history", "--limit", "0"], "'--limit'"),
]


@pytest.mark.parametrize(("args", "message"), OTHER_CASES,
                         ids=[" ".join(a) for a, _ in OTHER_CASES])
def test_numbers_that_are_not_finite_or_in_range(tmp_path: Path, args: list[str],
                                                 message: str) -> None:
    done = run(args, tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    assert message in done.err


def test_deeply_nested_json_is_a_format_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    ok = tmp_path / "ok.json"
    ok.write_text('{"schema": 1, "environment": {}, "results": []}')
    nested = tmp_path / "nested.json"  # valid JSON at the top, the depth inside
    nested.write_text('{"schema": 1, "environment": {}, "results": [{"name": "x", '
                      '"kind": "bench", "extra": ' + "[" * 100_000 + "]" * 100_000 + "}]}")
    for args in (["compare", "deep.json", "ok.json"], ["report", "deep.json", "--html", "r.html"],
                 ["import", "deep.json", "--store", "h.db"],
                 ["compare", "ok.json", "nested.json"]):
        done = run(args, tmp_path)
        assert done.code == 2, (args, done.both)
        no_traceback(done)
        assert "nested too deeply" in done.err, done.err
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "h.db").exists()
