"""Issue 10: latency measured, not invented; stalls flagged; zero real work is no pass;
Connection: close is no error; a per-VU budget ends the run — real servers on 127.0.0.1."""

from __future__ import annotations

import random

import pytest
from tests._load_servers import Reply, Server, Stalls, always

import perfgate as pg
from perfgate.load._result import STALL_WARNING


class _Bimodal:
    """90 % of answers at once-ish (~1 ms), 10 % after 200 ms — a slow database."""

    def __init__(self) -> None:
        self.rnd = random.Random(7)

    def __call__(self, n: int, path: str) -> Reply:
        return Reply(delay=0.2 if self.rnd.random() < 0.1 else 0.001)


@pytest.mark.slow
def test_bimodal_service_closed_model_reports_real_percentiles() -> None:
    with Server(_Bimodal()) as s:
        r = pg.load(s.url, vus=20, duration=1.5, processes=1)
    lat = r.metrics["latency"]
    assert lat.p50 is not None and lat.p95 is not None
    assert lat.p50 == pytest.approx(0.001, abs=0.004)  # p50 ≈ 1 ms (asyncio sleep + loop)
    assert lat.p95 == pytest.approx(0.2, abs=0.02)  # p95 ≈ 200 ms
    assert "co_synthetic_samples" not in r.extra
    assert r.extra["latency_correction"].startswith("none")
    assert not any(w.startswith(STALL_WARNING) for w in r.warnings)  # slow ≠ stalled
    assert r.status == "pass" and r.error is None


@pytest.mark.slow
def test_a_pausing_server_is_flagged_closed_and_shows_in_open_p90() -> None:
    # one complete 1 s pause (from 0.25 s to 1.25 s) of a 3 s cycle
    with Server(Stalls(period=3.0, stall=1.0)) as s:
        closed = pg.load(s.url, vus=8, duration=1.6, processes=1)
    assert any(w.startswith(STALL_WARNING) for w in closed.warnings), closed.warnings
    stalls = closed.extra["stalls"]
    assert stalls["count"] >= 1 and stalls["longest"] == pytest.approx(1.0, abs=0.15)
    assert closed.metrics["latency"].p50 is not None and closed.metrics["latency"].p50 < 0.05

    with Server(Stalls(period=3.0, stall=1.0)) as s:
        opened = pg.load(s.url, rate="300/s", duration=1.6, max_vus=400, processes=1)
    p90 = opened.metrics["latency"].p90
    assert p90 is not None and p90 > 0.3  # arrivals during the pause waited for it
    assert opened.metrics["service_time"].p50 is not None
    assert not any(w.startswith(STALL_WARNING) for w in opened.warnings)  # latency shows it


def test_all_failing_scenario_has_no_latency_and_is_an_error() -> None:
    async def broken(client: pg.HttpClient) -> None:
        await client.get("/relative")  # no base URL: every iteration raises

    r = pg.load(broken, vus=2, iterations=20)
    assert r.metrics["latency"].n == 0 and r.metrics["latency"].p50 is None
    assert r.metrics["latency_failed"].n == 20
    assert r.error is not None and "every iteration failed" in r.error
    assert r.status == "error"


def test_all_failing_http_target_is_an_error_even_without_checks() -> None:
    with Server(always(503)) as s:
        r = pg.load(s.url, vus=1, iterations=5, processes=1)
    assert r.status == "error" and "http_5xx ×5" in (r.error or "")
    assert r.metrics["latency"].n == 0 and r.metrics["latency_failed"].n == 5


def test_connection_close_responses_are_not_errors() -> None:
    with Server(lambda n, p: Reply(close=True)) as s:
        r = pg.load(s.url, vus=1, iterations=10, processes=1)
        received = s.received
    assert r.metrics["errors"].value == 0, r.extra.get("errors_examples")
    assert r.metrics["requests"].value == 10 and received == 10


def test_per_vu_budget_with_one_process_ends() -> None:
    with Server(always()) as s:
        r = pg.load(s.url, vus=1, iterations=5, per_vu=True, processes=1, grace=0.2)
        received = s.received
    assert r.metrics["requests"].value == 5 and received == 5 and r.status == "pass"


def test_scenario_counts_http_requests_and_iterations_apart_and_times_phases() -> None:
    with Server(always()) as s:
        base = s.url.rstrip("/")

        async def two_calls(client: pg.HttpClient) -> None:
            with pg.phase("list"):
                await client.get("/a")
            with pg.phase("item"):
                await client.get("/b")

        r = pg.load(two_calls, vus=2, iterations=30, base_url=base)
    m = r.metrics
    assert m["iterations"].value == 30 and m["requests"].value == 60
    assert m["latency.list"].n == 30 and m["latency.item"].n == 30
    assert m["rps"].value == pytest.approx(2 * m["iteration_rate"].value)
    assert sum(v * 1.0 for _, v in m["series.rps"].points or ()) > 0  # HTTP requests/s too


def test_a_check_on_a_metric_with_no_samples_says_so() -> None:
    from perfgate._errors import NoSamplesError
    from perfgate.analysis.checks import evaluate, parse_checks

    with Server(always(500)) as s:
        r = pg.load(s.url, vus=1, iterations=3, processes=1, checks=["p(99) < 1s"])
    assert r.status == "error"
    with pytest.raises(NoSamplesError, match="no samples"):
        evaluate(parse_checks(["p(99) < 1ns"])[0], r)


def test_phases_in_a_sync_callable() -> None:
    def step() -> None:
        with pg.phase("parse"):
            sum(range(100))

    r = pg.load(step, vus=2, iterations=50)
    assert r.metrics["latency.parse"].n == 50 and r.metrics["requests"].value == 50


def test_cli_per_vu_one_process_ends_and_summary_has_what_teams_ask() -> None:
    from click.testing import CliRunner

    from perfgate.cli import main

    with Server(always()) as s:
        res = CliRunner().invoke(main, [
            "load", s.url, "--vus", "1", "--iterations", "5", "--per-vu", "--processes", "1"])
        received = s.received
    assert res.exit_code == 0, res.output
    assert received == 5
    for col in ("count", "success", "rps", "avg", "min", "p50", "p95", "p99", "max"):
        assert col in res.output
    assert "100.00%" in res.output


def test_cli_all_failing_without_checks_exits_non_zero() -> None:
    from click.testing import CliRunner

    from perfgate.cli import main

    with Server(always(500)) as s:
        res = CliRunner().invoke(main, ["load", s.url, "--iterations", "4", "--processes", "1"])
    assert res.exit_code == 1, res.output
    assert "every iteration failed" in res.output


def _load_result(of: str) -> object:
    from perfgate.model import Metric, Result

    return Result(name="GET /", kind="load", params={"model": "closed"}, metrics={
        "latency": Metric(unit="s", kind="distribution", n=1234, median=0.002, p50=0.002,
                          p99=0.01, min=0.001, max=0.02, mean=0.003),
        "rss_growth": Metric.gauge(1.1e6, "B/s", of=of),
    })


def test_html_says_whose_memory_grew_and_markdown_shows_median_and_n() -> None:
    from perfgate.model import Environment, ResultSet
    from perfgate.report.html import render_html
    from perfgate.report.markdown import results_markdown

    env = Environment(git_commit="c")
    gen = render_html(ResultSet(env, (_load_result("generator"),)))  # type: ignore[arg-type]
    assert "generator RSS growth" in gen and "target RSS growth" not in gen
    tgt = render_html(ResultSet(env, (_load_result("target"),)))  # type: ignore[arg-type]
    assert "target RSS growth (leak check)" in tgt
    md = results_markdown(ResultSet(env, (_load_result("generator"),)))  # type: ignore[arg-type]
    row = next(line for line in md.splitlines() if line.startswith("| GET /"))
    assert "2 ms" in row and "1234" in row


@pytest.mark.slow
def test_a_saturating_http_scenario_is_labelled_bounded_by_the_generator() -> None:
    from tests._fast_server import FastServer

    from perfgate.load._result import GENERATOR_WARNING

    async def two_gets(client: pg.HttpClient) -> None:
        await client.get("/a")
        r = await client.get("/b")
        pg.expect(r.json()["id"] == 1)

    # a server in its own process that costs far less per request than the scenario's
    # Python does: 100 VUs on one loop make the generator, not the server, the bottleneck
    with FastServer() as base:
        r = pg.load(two_gets, vus=100, duration=1.5, base_url=base)
    assert any(w.startswith(GENERATOR_WARNING) for w in r.warnings), (
        r.warnings, r.extra["generator"])


def test_scenario_client_reconnects_after_connection_close_and_times_out() -> None:
    with Server(lambda n, p: Reply(close=True, hang=p == "/hang")) as s:
        base = s.url.rstrip("/")

        async def two(client: pg.HttpClient) -> None:
            await client.get("/a")
            await client.get("/b")

        r = pg.load(two, vus=2, iterations=10, base_url=base)
        assert r.metrics["errors"].value == 0 and r.metrics["requests"].value == 20

        async def slow(client: pg.HttpClient) -> None:
            await client.get("/hang")

        t = pg.load(slow, vus=1, iterations=1, base_url=base, timeout=0.2, grace=0.1)
    assert t.metrics["count.timeout"].value == 1


def test_phases_in_a_sync_callable_under_the_open_model() -> None:
    def step() -> None:
        with pg.phase("work"):
            sum(range(10))

    r = pg.load(step, rate="200/s", duration=0.3, max_vus=4)
    assert r.metrics["latency.work"].n == r.metrics["iterations"].value > 0


def test_cli_summary_shows_phases(tmp_path: object) -> None:
    import sys
    from pathlib import Path

    from click.testing import CliRunner

    from perfgate.cli import main

    d = Path(str(tmp_path))
    (d / "phased_target_mod.py").write_text(
        "import perfgate as pg\n\ndef op():\n    with pg.phase('parse'):\n"
        "        sum(range(10))\n")
    sys.path.insert(0, str(d))
    try:
        res = CliRunner().invoke(main, ["load", "phased_target_mod:op", "--iterations", "20"])
    finally:
        sys.path.remove(str(d))
    assert res.exit_code == 0, res.output
    assert "parse n=20" in res.output


def test_client_headers_set_during_a_scenario_are_sent() -> None:
    seen: list[str] = []

    def behaviour(n: int, path: str) -> Reply:
        seen.append(path)
        return Reply()

    import asyncio

    from perfgate.load._http import HttpClient

    with Server(behaviour) as s:
        async def go() -> list[int]:
            c = HttpClient(s.url.rstrip("/"))
            a = (await c.get("/x")).status
            c.headers["Authorization"] = "Bearer t"  # set after a login
            payload = c._prepare("GET", "/x", None, b"", None)[1]
            b = (await c.get("/x")).status
            c.close()
            assert b"Authorization: Bearer t" in payload
            return [a, b]

        assert asyncio.run(go()) == [200, 200]
    assert seen == ["/x", "/x"]
