"""Load tests of Python callables (sync on threads, async on the loop), scenarios, the CLI."""

from __future__ import annotations

import _thread
import json
import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import perfgate as pg
from _load_servers import Reply, Server, always
from perfgate.cli import main
from perfgate.runner import run_spec
from perfgate.suite import specs_in


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.n += 1
            n = self.n
        if n % 4 == 0:
            raise ValueError(f"bad input #{n}")


def test_a_sync_target_that_raises() -> None:
    c = Counter()
    r = pg.load(c, vus=3, iterations=100, checks=["count(ValueError) == 25"])
    m = r.metrics
    assert c.n == 100 == m["requests"].value
    assert m["count.ValueError"].value == 25 and m["count.ok"].value == 75
    assert m["error_rate"].value == 0.25
    examples = r.extra["errors_examples"]["ValueError"]
    assert 1 <= len(examples) <= 3 and examples[0]["message"].startswith("ValueError: bad input")
    assert r.status == "pass" and r.error is None


def test_iterations_per_vu() -> None:
    c = Counter()
    r = pg.load(c, vus=3, iterations=10, per_vu=True)
    assert c.n == 30 == r.metrics["requests"].value


def test_async_target_with_expect() -> None:
    calls = 0

    async def op() -> None:
        nonlocal calls
        calls += 1
        pg.expect(calls % 10 != 0, "every tenth call fails")

    r = pg.load(op, vus=5, iterations=200)
    assert calls == 200 == r.metrics["requests"].value
    assert r.metrics["count.expect"].value == 20
    assert r.extra["errors_examples"]["expect"][0]["message"] == \
        "ExpectationFailed: every tenth call fails"


def test_sync_target_under_the_open_model() -> None:
    c = Counter()
    r = pg.load(lambda: None, rate="400/s", duration=0.5, max_vus=4)
    assert r.metrics["requests"].value == pytest.approx(200, abs=3)
    assert r.metrics["dropped"].value == 0
    assert r.params["model"] == "open" and c.n == 0


def test_async_target_under_the_open_model_with_ramp() -> None:
    async def op() -> None:
        pass

    r = pg.load(op, stages=[("0.3s", "200/s"), ("0.3s", "200/s")], max_vus=10)
    # 30 arrivals while ramping up, 60 at full rate
    assert r.metrics["requests"].value == pytest.approx(90, abs=3)


def test_closed_stages_ramp_the_vus() -> None:
    seen: set[int] = set()

    def op() -> None:
        seen.add(threading.get_ident())
        time.sleep(0.001)  # an I/O-bound target: lets the other threads run

    r = pg.load(op, stages="0.2s:3,0.2s:3")
    assert r.extra["generator"]["peak_vus"] == 3 and len(seen) == 3


def test_scenario_with_client_runs_from_a_suite() -> None:
    with Server(lambda n, p: Reply(201 if p == "/checkout" else 404)) as s:

        @pg.scenario(executor=pg.closed(vus=2, iterations=20), base_url=s.url.rstrip("/"),
                     checks=["error_rate < 1%", "count(ok) == 20"])
        async def checkout(client: pg.HttpClient) -> None:
            r = await client.post("/checkout", json={"sku": 1})
            pg.expect(r.status == 201, f"status {r.status}")

        @pg.scenario(executor=pg.closed(vus=1, iterations=5), base_url=s.url.rstrip("/"))
        async def missing(client: pg.HttpClient) -> None:
            await client.get("/nope")

        specs = specs_in({"checkout": checkout, "missing": missing})
        results = [run_spec(spec) for spec in specs]
    assert [sp.kind for sp in specs] == ["load", "load"]
    ok, bad = results
    assert ok.status == "pass", ok.verdicts
    assert s.paths["/checkout"] == 20
    assert bad.metrics["count.http_4xx"].value == 5


def test_scenario_checks_are_parsed_at_decoration() -> None:
    with pytest.raises(pg.CheckSyntaxError):
        pg.scenario(executor=pg.closed(iterations=1), checks=["p(99) <<< 3"])
    with pytest.raises(pg.UsageError):
        pg.scenario(executor="fast")  # type: ignore[arg-type]


def test_client_refuses_remote_hosts() -> None:
    async def op(client: pg.HttpClient) -> None:
        await client.get("http://192.0.2.1/")

    r = pg.load(op, iterations=1)
    assert r.metrics["count.UsageError"].value == 1


def test_cli_url(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    with Server(always()) as s:
        res = CliRunner().invoke(main, [
            "load", s.url, "--vus", "2", "--duration", "0.3s", "--processes", "1",
            "--check", "error_rate < 1%", "--json", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    r = doc["results"][0]
    assert r["kind"] == "load" and r["metrics"]["requests"]["value"] > 0
    assert r["verdicts"][0]["status"] == "pass"


def test_cli_refuses_remote_and_bad_input() -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["load", "http://192.0.2.1/", "--iterations", "1"])
    assert res.exit_code == 2 and "allow-remote" in res.output
    res = runner.invoke(main, ["load", "http://127.0.0.1:1/", "--vus", "1", "--rate", "5/s"])
    assert res.exit_code == 2
    res = runner.invoke(main, ["load", "nosuchmodule_xyz:fn", "--iterations", "1"])
    assert res.exit_code == 2


def test_cli_callable_with_failing_check(tmp_path: Path) -> None:
    mod = tmp_path / "loadtarget_mod.py"
    mod.write_text("def op():\n    raise KeyError('gone')\n")
    res = CliRunner().invoke(main, [
        "load", f"{mod}:op", "--iterations", "10", "--check", "error_rate < 1%"])
    assert res.exit_code == 1, res.output
    assert "KeyError" in res.output


def test_a_leak_shows_in_rss_growth() -> None:
    hoard: list[bytes] = []

    def leaky() -> None:
        hoard.append(b"x" * 200_000)  # 200 kB per call, 40 MB/s at 200/s

    r = pg.load(leaky, rate="200/s", duration=1.0, max_vus=2, target_pid=os.getpid(),
                warmup=0.2, checks=["rss_growth < 10MB/h"])
    g = r.metrics["rss_growth"]
    assert g.extra["of"] == "target" and g.value is not None and g.value > 5e6
    assert r.status == "fail"
    assert r.metrics["series.rss_target"].points


def test_ctrl_c_keeps_what_was_measured() -> None:
    calls = 0

    def op() -> None:
        nonlocal calls
        calls += 1
        if calls == 50:
            _thread.interrupt_main()  # as if Ctrl-C were pressed in the middle of the run
        time.sleep(0.001)

    with pytest.raises(pg.Interrupted) as info:
        pg.load(op, vus=1, duration=30)
    (r,) = info.value.results
    assert r.kind == "load" and r.metrics["requests"].value
    assert r.metrics["requests"].value >= 49
    assert any("interrupted" in w for w in r.warnings)
