"""Calls in sweeps, checks, the ``perf`` fixture, the CLI and the reports: a function that
fetches one URL (or one cache key) per item is O(n) with its N+1 located at the line that
makes the call; the fixed version, one call, is O(1). Real servers on 127.0.0.1."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from rich.console import Console

import perfgate as pg
from _probe_servers import CountingServer, http_server, redis_binary, redis_server
from perfgate._errors import UnknownMetricError
from perfgate.bench import BenchOptions
from perfgate.model import Environment, ResultSet
from perfgate.report.markdown import results_markdown
from perfgate.report.terminal import render_results

QUICK = BenchOptions(rounds=3, iterations=1, warmup=0.0, memory=False)
SIZES = [2, 4, 8]
HERE = Path(__file__).name
SESSION = requests.Session()


def line_of(fn: Callable[..., Any], marker: str) -> str:
    lines, start = inspect.getsourcelines(fn)
    for i, text in enumerate(lines):
        if marker in text:
            return f"{HERE}:{start + i}"
    raise AssertionError(marker)


@pytest.fixture(scope="module")
def server() -> Iterator[CountingServer]:
    with http_server() as s:
        yield s


@pytest.fixture(scope="module")
def cache(require_system: Callable[[str], Any]) -> Iterator[redis.Redis]:
    binary = redis_binary()
    if binary is None:
        require_system("redis-server is not installed; scripts/system-deps installs it")
    assert binary is not None
    with redis_server(binary) as port:
        client = redis.Redis(host="127.0.0.1", port=port)
        client.mset({f"price:{i}": i for i in range(64)})
        yield client
        client.close()


def fetch_one_by_one(base: str, ids: list[int]) -> list[Any]:
    return [SESSION.get(f"{base}/items/{i}").json() for i in ids]  # N+1 http


def fetch_at_once(base: str, ids: list[int]) -> Any:
    return SESSION.get(f"{base}/items", params={"ids": ",".join(map(str, ids))}).json()


def prices_one_by_one(client: redis.Redis, ids: list[int]) -> list[Any]:
    return [client.get(f"price:{i}") for i in ids]  # N+1 cache


def prices_at_once(client: redis.Redis, ids: list[int]) -> Any:
    return client.mget([f"price:{i}" for i in ids])


def _factory(fn: Callable[[Any, list[int]], Any], target: Any) -> Callable[[int], Any]:
    def build(n: int) -> Callable[[], Any]:
        ids = list(range(n))
        return lambda: fn(target, ids)
    return build


# --------------------------------------------------------------------------- sweeps


def test_sweep_locates_the_http_n_plus_one_and_the_fix_is_constant(server: CountingServer,
                                                                    ) -> None:
    r = pg.sweep(_factory(fetch_one_by_one, server.url), SIZES, calls=True, options=QUICK,
                 name="fetch_one_by_one")
    assert r.error is None, r.error
    assert [p["metrics"]["http_calls"]["value"] for p in r.extra["by_size"]] == SIZES
    assert r.extra["complexity"]["http_calls"]["class"] == "O(n)"
    [found] = r.extra["n_plus_one"]
    assert found["kind"] == "http"
    assert found["statement"] == f"GET {server.url}/items/{{id}}"
    assert found["counts"] == SIZES and found["count"] == 8 and found["class"] == "O(n)"
    assert found["location"].endswith(line_of(fetch_one_by_one, "# N+1 http"))
    assert any("N+1: http call" in w for w in r.warnings)
    assert r.extra["calls"]["http"][0]["count"] == 8
    failed = pg.apply_checks(r, [pg.parse_check(c) for c in (
        "http_calls <= 6", "complexity(http_calls) == O(1)", "n_plus_one == 0")])
    assert [v.status for v in failed.verdicts] == ["fail", "fail", "fail"]

    fixed = pg.sweep(_factory(fetch_at_once, server.url), SIZES, calls=True, options=QUICK)
    assert fixed.error is None, fixed.error
    assert fixed.extra["n_plus_one"] == [] and fixed.metrics["http_calls"].value == 1
    assert fixed.extra["complexity"]["http_calls"]["class"] == "O(1)"
    passed = pg.apply_checks(fixed, [pg.parse_check(c) for c in (
        "http_calls <= 6", "complexity(http_calls) == O(1)", "count(http_calls.POST) == 0",
        "count(http_calls.GET) == 1", "cache_calls <= 1", "n_plus_one == 0",
        'count("http_calls.host=127.0.0.1") == 1')])
    assert [v.status for v in passed.verdicts] == ["pass"] * 7


def test_sweep_locates_the_cache_n_plus_one(cache: redis.Redis) -> None:
    r = pg.sweep(_factory(prices_one_by_one, cache), SIZES, calls=True, options=QUICK)
    assert r.error is None, r.error
    [found] = r.extra["n_plus_one"]
    assert found["kind"] == "cache" and found["statement"] == "GET price:{id}"
    assert found["counts"] == SIZES
    assert found["location"].endswith(line_of(prices_one_by_one, "# N+1 cache"))
    assert r.extra["complexity"]["cache_calls"]["class"] == "O(n)"
    verdict = pg.evaluate(pg.parse_check("cache_calls <= 1"), r)
    assert verdict.status == "fail" and verdict.value == 8

    fixed = pg.sweep(_factory(prices_at_once, cache), SIZES, calls=True, options=QUICK)
    assert fixed.extra["n_plus_one"] == []
    assert fixed.metrics["cache_calls"].value == 1 and fixed.metrics["cache_calls.MGET"].value == 1
    assert fixed.extra["complexity"]["cache_calls"]["class"] == "O(1)"


def test_queries_and_calls_together_keep_both_kinds(server: CountingServer, tmp_path: Path,
                                                    ) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "t.db", check_same_thread=False)
    db.execute("create table t (id integer primary key)")
    db.executemany("insert into t values (?)", [(i,) for i in range(16)])

    def build(n: int) -> Callable[[], Any]:
        def op() -> None:
            for i in range(n):
                db.execute("select id from t where id = ?", (i,)).fetchone()
            fetch_at_once(server.url, list(range(n)))
        return op

    r = pg.sweep(build, SIZES, queries=True, calls=True, options=QUICK)
    assert [(f["kind"], f["count"]) for f in r.extra["n_plus_one"]] == [("query", 8)]
    assert r.metrics["queries"].value == 8 and r.metrics["http_calls"].value == 1
    assert r.extra["queries"][0]["count"] == 8 and r.extra["calls"]["http"][0]["count"] == 1
    db.close()


def test_count_of_a_probe_metric_that_was_not_measured_is_an_error(server: CountingServer,
                                                                   ) -> None:
    r = pg.sweep(_factory(fetch_at_once, server.url), [1, 2], options=QUICK)
    with pytest.raises(UnknownMetricError, match="http_calls"):
        pg.evaluate(pg.parse_check("count(http_calls.POST) == 0"), r)


# --------------------------------------------------------------------------- pytest, CLI


def test_perf_fixture_sweep_and_bench(perf: Any, server: CountingServer) -> None:
    r = perf.sweep(_factory(fetch_at_once, server.url), SIZES, calls=True, options=QUICK,
                   checks=["complexity(http_calls) == O(1)", "http_calls <= 6"])
    assert [v.status for v in r.verdicts] == ["pass", "pass"]
    with pytest.raises(AssertionError, match=r"complexity\(http_calls\) == O\(1\)"):
        perf.sweep(_factory(fetch_one_by_one, server.url), SIZES, calls=True, options=QUICK,
                   checks=["complexity(http_calls) == O(1)"])
    b = perf.bench(fetch_one_by_one, server.url, [1, 2, 3], calls=True, rounds=3, iterations=1,
                   warmup=0.0, memory=False,
                   checks=["http_calls == 3", "count(http_calls.POST) == 0"])
    assert b.metrics["http_calls.GET"].value == 3
    assert b.extra["calls"]["http"][0]["location"].endswith(
        line_of(fetch_one_by_one, "# N+1 http"))


def test_suite_decorator_with_calls(server: CountingServer, cache: redis.Redis) -> None:
    @pg.bench(sizes=[1, 2, 4], calls=True, rounds=3, iterations=1, warmup=0.0, memory=False,
              checks=["complexity(cache_calls) == O(1)", "complexity(http_calls) == O(n)"])
    def page(n: int) -> Callable[[], Any]:
        ids = list(range(n))
        return lambda: (prices_at_once(cache, ids), fetch_one_by_one(server.url, ids))

    @pg.bench(calls=True, checks=["http_calls <= 6", "cache_calls <= 1"], rounds=3,
              iterations=1, warmup=0.0, memory=False)
    def one() -> None:
        prices_at_once(cache, [1, 2])
        fetch_at_once(server.url, [1, 2])

    swept, plain = pg.run_specs([*page.__perfgate__, *one.__perfgate__])
    assert swept.kind == "sweep" and [v.status for v in swept.verdicts] == ["pass", "pass"]
    assert [f["kind"] for f in swept.extra["n_plus_one"]] == ["http"]
    assert plain.kind == "bench" and [v.status for v in plain.verdicts] == ["pass", "pass"]
    assert plain.metrics["cache_calls.MGET"].value == 1


@pytest.mark.slow
def test_cli_bench_calls(server: CountingServer, tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(
        "import requests\n"
        f"URL = {server.url!r}\n"
        "def make(n):\n"
        "    return list(range(n))\n"
        "def ids():\n"
        "    return [1, 2, 3]\n"
        "def fetch_each(ids):\n"
        "    for i in ids:\n"
        "        requests.get(f'{URL}/items/{i}')\n"
    )
    src = str(Path(pg.__file__).resolve().parents[1])  # this checkout's perfgate
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), src]),
           "NO_COLOR": "1", "COLUMNS": "200"}
    out = tmp_path / "r.json"
    run = subprocess.run(
        [sys.executable, "-m", "perfgate", "bench", "svc:fetch_each", "--setup", "svc:make",
         "--sizes", "2,4,8", "--calls", "--rounds", "3", "--iterations", "1", "--warmup", "0",
         "--no-memory", "--check", "complexity(http_calls) == O(1)", "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 1, run.stdout + run.stderr  # the check fails: N+1
    assert "N+1 HTTP call" in run.stdout and "svc.py:9" in run.stdout
    [result] = json.loads(out.read_text())["results"]
    assert result["n_plus_one"][0]["kind"] == "http"
    assert result["calls"]["http"][0]["location"].endswith("svc.py:9")
    assert result["params"]["calls"] is True

    plain = subprocess.run(  # no sizes: one benchmark, then the calls pass
        [sys.executable, "-m", "perfgate", "bench", "svc:fetch_each", "--setup", "svc:ids",
         "--calls", "--rounds", "3", "--iterations", "1", "--warmup", "0", "--no-memory",
         "--check", "http_calls == 3", "--check", "count(http_calls.POST) == 0",
         "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    [result] = json.loads(out.read_text())["results"]
    assert result["kind"] == "bench" and result["metrics"]["http_calls.GET"]["value"] == 3


# --------------------------------------------------------------------------- reports


def test_reports_show_calls_beside_queries(server: CountingServer) -> None:
    r = pg.sweep(_factory(fetch_one_by_one, server.url), SIZES, calls=True, options=QUICK,
                 name="fetch <one> by one")
    rs = ResultSet(environment=Environment(), results=(r,))
    console = Console(width=240, record=True, no_color=True)
    console.print(render_results(rs))
    text = console.export_text()
    assert "0 queries" not in text  # the query probe did not run: not shown as zero
    assert "8 HTTP calls (GET 8, host=127.0.0.1 8) · 0 cache commands per operation at n=8" \
        in text
    assert f"N+1 HTTP call: GET {server.url}/items/{{id}} ran 8× per operation" in text
    md = results_markdown(rs).replace("\\", "")  # Markdown escapes data: read it unescaped
    assert "8 HTTP calls (GET 8, host=127.0.0.1 8)" in md and "N+1 HTTP call" in md

    from perfgate.report.html import render_html

    page = render_html(rs)
    assert "fetch &lt;one&gt; by one" in page
    assert "8 HTTP calls (GET 8, host=127.0.0.1 8)" in page
    assert "<td>http</td>" in page and "/items/{id}" in page

    from perfgate.probes._calls_pass import with_probe_passes

    ids = [1, 2]
    bench = with_probe_passes(
        pg.bench_callable(lambda: fetch_one_by_one(server.url, ids), name="bench", options=QUICK),
        lambda: fetch_one_by_one(server.url, ids), calls=True)
    page = render_html(ResultSet(environment=Environment(), results=(bench,)))
    assert ">http_calls.GET<" in page and ">cache_calls<" in page  # rows beside the others
