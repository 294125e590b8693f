"""The export options on the CLI verbs: ``perfgate run`` (several specs, a load scenario
among them) and ``perfgate load``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _scrape import scrape, total
from click.testing import CliRunner

from perfgate.cli import main

SUITE = '''
import perfgate as pg

counter = {"n": 0}

@pg.bench(max_time=0.01, warmup=0, min_rounds=3)
def plain():
    return sum(range(10))

@pg.scenario(executor=pg.closed(vus=2, iterations=120), name="calls <x>")
def calls():
    counter["n"] += 1
    pg.expect(counter["n"] % 4 != 0, "every fourth fails")
'''


@pytest.mark.slow
def test_run_pushes_the_scenarios_numbers(pushgateway: str, tmp_path: Path) -> None:
    suite = tmp_path / "perf_live.py"
    suite.write_text(SUITE)
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["run", str(suite), "--pushgateway", pushgateway,
                                  "--json", str(out)])
    assert r.exit_code == 0, r.output
    res = {x["name"]: x for x in json.loads(out.read_text())["results"]}
    m = res["calls <x>"]["metrics"]
    got = scrape(f"{pushgateway}/metrics")
    assert total(got, "perfgate_requests_total", scenario="calls <x>") == m["requests"]["value"]
    assert total(got, "perfgate_errors_total", outcome="expect") == m["count.expect"]["value"] == 30
    assert not [k for k in got if dict(k[1]).get("scenario") == "plain"]  # no load, no series


def test_a_bad_address_is_exit_2_before_anything_runs(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["load", "http://127.0.0.1:9/", "--duration", "1s",
                                  "--prometheus", "not-an-address"])
    assert r.exit_code == 2
    assert "--prometheus 'not-an-address'" in r.output
