"""Distributed load on Dask: a real ``dask scheduler`` and ``dask worker`` processes on
127.0.0.1, a real HTTP server, counts and percentiles merged, a worker killed mid-run."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import perfgate as pg
from _load_servers import Reply, Server
from perfgate._errors import UsageError
from perfgate.load import LiveStats, LogHistogram
from perfgate.load._dask import parse_cluster, require_cluster
from perfgate.load._http import Request
from perfgate.load._targets import HttpTarget

distributed = pytest.importorskip("distributed")

_SRC = str(Path(pg.__file__).resolve().parents[1])  # this checkout's perfgate, for workers
_START_S = 120  # a busy CI machine starts a Dask process in seconds; this only bounds a hang


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Proc:
    """A Dask process whose log lines are read by a thread; ``wait_for`` blocks on them."""

    def __init__(self, args: list[str]) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [_SRC, *filter(None, [os.environ.get("PYTHONPATH")])]),
            "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}  # as docs/distributed.md
        self.p = subprocess.Popen([sys.executable, "-m", *args], env=env, text=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.p.stderr is not None
        for line in self.p.stderr:
            self.lines.put(line)
        self.lines.put("")

    def wait_for(self, marker: str) -> str:
        """The text after ``marker`` on the first log line holding it."""
        while True:
            try:
                line = self.lines.get(timeout=_START_S)
            except queue.Empty:
                raise AssertionError(f"no {marker!r} line from {self.p.args}") from None
            if not line:
                raise AssertionError(f"{self.p.args} exited before {marker!r}")
            if marker in line:
                return line.split(marker, 1)[1].strip()

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.reader.join(10)  # it has read up to the end of the exited process's log
        if self.p.stderr is not None:
            self.p.stderr.close()


@dataclass
class Cluster:
    url: str
    workers: dict[str, _Proc] = field(default_factory=dict)  # address → process


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """``dask scheduler`` + two ``dask worker`` processes (one thread each, no nanny, so a
    killed worker stays dead) on 127.0.0.1."""
    port = _free_port()
    sched = _Proc(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                   str(port), "--no-dashboard"])
    procs = [sched]
    try:
        url = sched.wait_for("Scheduler at:")
        c = Cluster(url)
        for _ in range(2):
            w = _Proc(["distributed.cli.dask_worker", url, "--nthreads", "1", "--no-nanny",
                       "--host", "127.0.0.1", "--no-dashboard"])
            procs.append(w)
            c.workers[w.wait_for("Start worker at:")] = w
        for w in c.workers.values():
            w.wait_for("Registered to:")
        yield c
    finally:
        for p in reversed(procs):
            p.stop()


def _workers(r: pg.Result) -> list[dict[str, object]]:
    rows = r.extra["generator"]["workers"]
    assert isinstance(rows, list)
    return rows


@pytest.mark.slow
def test_closed_model_on_two_dask_workers(cluster: Cluster) -> None:
    with Server(lambda n, p: Reply()) as s:
        r = pg.load(s.url, vus=4, duration=1.5, cluster=cluster.url,
                    checks=["requests > 100", "error_rate == 0", "p(99) < 1s"])
    assert r.error is None, r.error
    n = int(r.metrics["requests"].value or 0)
    assert n == s.answered  # every answer the server gave was merged, once
    rows = _workers(r)
    assert {str(w["address"]) for w in rows} == set(cluster.workers)  # both Dask workers
    assert sum(int(str(w["requests"])) for w in rows) == n
    assert all(not w["lost"] and w["clock_offset_error"] is not None for w in rows)
    assert r.params["cluster"] == cluster.url and r.params["processes"] == 2
    # the merged percentiles are those of one histogram holding every sample
    lat = r.metrics["latency"]
    h = LogHistogram.from_sparse(lat.extra["histogram"])
    assert h.n == lat.n == n + r.extra.get("co_synthetic_samples", 0)
    assert lat.p99 == pytest.approx(h.quantile(0.99) * 1e-9)
    assert [v.status for v in r.verdicts] == ["pass", "pass", "pass"]
    assert "partial" not in r.extra
    assert r.warnings == ()  # nothing saturated, lost or profiled


@pytest.mark.slow
def test_open_model_splits_one_schedule(cluster: Cluster) -> None:
    """200/s for 2 s over two workers: 400 arrivals in all, not 2 × 400."""
    with Server(lambda n, p: Reply()) as s:
        r = pg.load(s.url, rate="200/s", duration=2, cluster=cluster.url)
    sent = int(r.metrics["requests"].value or 0) + int(r.metrics["dropped"].value or 0)
    assert sent == 400
    assert [w["requests"] for w in _workers(r)] == [200, 200]


@pytest.mark.slow
def test_a_worker_killed_mid_run_gives_a_partial_result(cluster: Cluster) -> None:
    """Kill one Dask worker once the run is 1.5 s into its 3 s: the other finishes, what
    the lost one sent before is merged, and its unsent share is counted."""
    addr, victim = sorted(cluster.workers.items())[0]
    killed: list[float] = []

    def progress(s: LiveStats) -> None:
        if not killed and s.elapsed >= 1.5:
            killed.append(s.elapsed)
            os.kill(victim.p.pid, signal.SIGKILL)

    with Server(lambda n, p: Reply()) as s:
        r = pg.load(s.url, rate="100/s", duration=3, cluster=cluster.url, progress=progress)
    assert killed
    lost = r.extra["partial"]["lost"]
    assert [x["address"] for x in lost] == [addr]
    x = lost[0]
    assert x["at"] >= 1.5 and x["planned"] == 150 and x["share"] == 0.5
    assert 0 < x["measured"] < 150 and x["not_sent"] == 150 - x["measured"]
    merged = int(r.metrics["requests"].value or 0) + int(r.metrics["dropped"].value or 0)
    assert merged + x["not_sent"] == 300  # never silently short
    assert r.warnings[0].startswith("partial result: worker")
    assert any(addr in w for w in r.warnings)
    assert r.error is None  # the survivor's measurements stand
    json.dumps(r.to_dict())  # the partial marker is plain JSON


@pytest.mark.slow
def test_a_closed_model_worker_lost_reports_the_vu_seconds_not_run(cluster: Cluster) -> None:
    addr, victim = sorted(cluster.workers.items())[1]
    killed: list[float] = []

    def progress(s: LiveStats) -> None:
        if not killed and s.elapsed >= 1.0:
            killed.append(s.elapsed)
            os.kill(victim.p.pid, signal.SIGKILL)

    with Server(lambda n, p: Reply()) as s:
        r = pg.load(s.url, vus=4, duration=3, cluster=cluster.url, progress=progress)
    (x,) = r.extra["partial"]["lost"]
    assert x["address"] == addr and x["share"] == 0.5 and "planned" not in x
    assert 1.0 <= x["at"] < 3.0
    assert x["vu_seconds_not_run"] == pytest.approx(2 * (3.0 - x["at"]))
    assert x["not_sent_estimate"] > 0
    rows = {str(w["address"]): w for w in _workers(r)}
    assert rows[addr]["lost"] and not next(w for a, w in rows.items() if a != addr)["lost"]
    # what both sent before the loss is merged; the lost worker's last tick never arrived
    n = int(r.metrics["requests"].value or 0)
    assert n == sum(int(str(w["requests"])) for w in rows.values()) <= s.answered
    assert "VU-seconds not run" in r.warnings[0]


@pytest.mark.slow
def test_each_worker_applies_the_loopback_rule(cluster: Cluster) -> None:
    """A target that skipped the coordinator's check (an HttpTarget built by hand) is
    refused on the workers: nothing is sent to 192.0.2.1."""
    tgt = HttpTarget((Request("http://192.0.2.1:9/"),))
    r = pg.load(tgt, vus=1, duration=1, cluster=cluster.url, processes=1)
    assert r.error is not None and "not a loopback address" in r.error
    assert r.metrics["requests"].value == 0


def test_cluster_urls_are_checked() -> None:
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.5:8786") == ("connect", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", "10.0.0.5:8786", "http://h:1", "tcp://"):
        with pytest.raises(UsageError, match="cluster"):
            parse_cluster(bad)
    with pytest.raises(UsageError, match="local:N"):
        pg.load("http://127.0.0.1:1/", vus=1, duration=1, cluster="nowhere")


def test_without_the_extra_a_cluster_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(UsageError, match=r"perfgate\[distributed\]"):
        require_cluster("local:2")
    with pytest.raises(UsageError, match=r"perfgate\[distributed\]"):
        pg.load("http://127.0.0.1:1/", vus=1, duration=1, cluster="local:2")


def test_snapshots_travel_sparse_and_come_back_exact() -> None:
    import pickle

    from perfgate.load._dask_task import from_wire, to_wire
    from perfgate.load._outcomes import Tally
    from perfgate.load._recorder import Snapshot

    lat = LogHistogram.of([1_000_000 + 997 * i for i in range(5000)])
    snap = Snapshot(worker=3, tick=7, t_end=8.0, lat=lat, svc=lat.copy(), tally=Tally(),
                    dropped=2, cpu=0.4, lag_max=0.003, requests=5000)
    wire = to_wire(("tick", snap))
    back = from_wire(pickle.loads(pickle.dumps(wire)))[1]
    assert (back.worker, back.tick, back.dropped, back.requests, back.cpu) == (3, 7, 2, 5000, 0.4)
    for h in (back.lat, back.svc):
        assert h is not None and (h.counts == lat.counts).all()
        assert (h.n, h.total, h.sumsq, h.vmin, h.vmax) == (
            lat.n, lat.total, lat.sumsq, lat.vmin, lat.vmax)
    assert len(pickle.dumps(wire)) * 5 < len(pickle.dumps(("tick", snap)))
    assert to_wire(("ready", 1)) == ("ready", 1)


SUITE = '''
import perfgate as pg

@pg.scenario(executor=pg.closed(vus=2, duration=1), base_url="{url}",
             checks=["requests > 10", "error_rate == 0"])
async def hit(client):
    r = await client.get("/")
    pg.expect(r.status == 200)
'''


@pytest.mark.slow
def test_perfgate_run_ships_a_suite_file_scenario_to_the_cluster(
        cluster: Cluster, tmp_path: Path) -> None:
    with Server(lambda n, p: Reply()) as s:
        (tmp_path / "perf_remote.py").write_text(SUITE.format(url=s.url.rstrip("/")))
        env = {**os.environ, "PYTHONPATH": _SRC, "NO_COLOR": "1"}
        out = subprocess.run(
            [sys.executable, "-m", "perfgate", "run", "perf_remote.py", "--cluster",
             cluster.url, "--json", "out.json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    (r,) = json.loads((tmp_path / "out.json").read_text())["results"]
    assert r["params"]["cluster"] == cluster.url and r["params"]["processes"] == 2
    assert r["metrics"]["requests"]["value"] == s.answered > 10
    assert [v["status"] for v in r["verdicts"]] == ["pass", "pass"]


def test_a_suite_file_missing_on_the_worker_is_imported_from_its_shipped_source(
        tmp_path: Path) -> None:
    from perfgate._importer import import_file
    from perfgate.load._dask_task import rebuild, shippable
    from perfgate.load._targets import make_target

    f = tmp_path / "perf_ship.py"
    f.write_text("def fn():\n    return 42\n")
    target = make_target(import_file(f).fn)
    stripped, shipped = shippable(target)
    assert shipped is not None and shipped.qualname == "fn"
    f.unlink()  # as on another host: the path does not exist there
    rebuilt = rebuild(stripped, shipped)
    assert rebuilt.fn() == 42  # type: ignore[union-attr]


@pytest.mark.slow
def test_cli_refuses_a_malformed_cluster_with_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": _SRC, "NO_COLOR": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "perfgate", "load", "http://127.0.0.1:9/", "--cluster",
         "10.0.0.5:8786", "--duration", "1s"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 2
    assert "tcp://HOST:PORT" in out.stderr + out.stdout


@pytest.mark.slow
def test_local_n_starts_and_stops_its_own_cluster() -> None:
    with Server(lambda n, p: Reply()) as s:
        r = pg.load(s.url, rate="100/s", duration=1, cluster="local:2")
    assert int(r.metrics["requests"].value or 0) == s.answered == 100
    rows = _workers(r)
    assert len(rows) == 2 and all(w["dask_profiler"] is False for w in rows)
    assert r.warnings == ()


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_keeps_what_they_measured(cluster: Cluster) -> None:
    def progress(s: LiveStats) -> None:
        if s.elapsed >= 1.0:
            raise KeyboardInterrupt  # as Ctrl-C would, in the coordinator's loop

    with Server(lambda n, p: Reply()) as s, pytest.raises(pg.Interrupted) as caught:
        pg.load(s.url, vus=2, duration=30, cluster=cluster.url, progress=progress)
    (r,) = caught.value.results
    n = int(r.metrics["requests"].value or 0)
    assert n > 0 and n == sum(int(str(w["requests"])) for w in _workers(r))
    # every answer measured (final snapshots included) but those of the ≤ 2 iterations in
    # flight at the stop, which are abandoned and reported as such
    assert 0 <= s.answered - n <= 2
    assert "partial" not in r.extra  # stopped, not lost
    assert any("interrupted" in w for w in r.warnings)
