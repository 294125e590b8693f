"""pytest-benchmark compatibility: the ``benchmark`` fixture, its marker and options.

perfgate registers this module as the plugin ``perfgate.benchmark`` only when pytest-benchmark
is not active (see :mod:`perfgate._pytest.detect`), so the two never define the same fixture
or option. ``-p no:perfgate.benchmark`` keeps it out altogether.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from perfgate._errors import PerfgateError, UsageError
from perfgate._pytest import bm_compare, bm_hookspec, bm_json
from perfgate._pytest.bm_fixture import BenchmarkFixture
from perfgate._pytest.bm_options import (
    MARKER_KWARGS,
    Settings,
    add_options,
    ignored_options,
    settings_from,
)
from perfgate._pytest.bm_stats import Metadata
from perfgate._pytest.collector import COLLECTOR, Collector

__all__ = ["NAME", "SESSION", "BenchmarkSession"]

NAME = "perfgate.benchmark"


@dataclass
class BenchmarkSession:
    """What the ``--benchmark-*`` options decided for this run, and what was measured."""

    settings: Settings
    skip: bool
    only: bool
    disabled: bool
    quiet: bool
    json_path: Path | None
    ignored: list[str]
    fixtures: list[BenchmarkFixture] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    save_name: str | None = None  # --benchmark-save / --benchmark-autosave ("autosave")
    save_data: bool = False
    storage: str = "file://./.benchmarks"
    compare: str | bool | None = None  # --benchmark-compare: True (newest), NUM or ID
    fail_rules: list[bm_compare.FailRule] = field(default_factory=list)

    @property
    def benchmarks(self) -> list[Metadata]:
        return [f.stats for f in self.fixtures if f.stats is not None]


SESSION = pytest.StashKey[BenchmarkSession]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(bm_hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "benchmark(**options): pytest-benchmark settings for this test (perfgate)."
    )
    opt = config.getoption
    disabled = bool(opt("benchmark_disable")) and not opt("benchmark_enable")
    notes: list[str] = []
    # As pytest-benchmark: parallel workers share the CPUs, so their timings mean nothing.
    if os.environ.get("PYTEST_XDIST_WORKER") or hasattr(config, "workerinput"):
        if not disabled:
            notes.append("benchmarks disabled: pytest-xdist is active")
        disabled = True
    only, skip = bool(opt("benchmark_only")), bool(opt("benchmark_skip"))
    if disabled and only:
        raise pytest.UsageError(
            "Can't have both --benchmark-only and --benchmark-disable options."
        )
    compare = opt("benchmark_compare")
    try:
        rules = bm_compare.parse_fail(opt("benchmark_compare_fail") or [])
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    if rules and compare == []:
        raise pytest.UsageError("--benchmark-compare-fail needs --benchmark-compare (which "
                                "saved run to compare with)")
    config.stash[SESSION] = BenchmarkSession(
        settings=settings_from(config),
        save_name=opt("benchmark_save") or opt("benchmark_autosave"),
        save_data=bool(opt("benchmark_save_data")),
        storage=str(opt("benchmark_storage")),
        compare=None if compare == [] else compare,
        fail_rules=rules,
        skip=skip and not only,
        only=only,
        disabled=disabled,
        quiet=bool(opt("benchmark_quiet")),
        json_path=opt("benchmark_json"),
        ignored=ignored_options(config),
        notes=notes,
    )


@pytest.hookimpl(trylast=True)
def pytest_benchmark_generate_machine_info(config: pytest.Config) -> dict[str, Any]:
    return bm_json.machine_info()


@pytest.hookimpl(trylast=True)
def pytest_benchmark_generate_commit_info(config: pytest.Config) -> dict[str, Any]:
    return bm_json.commit_info(config.rootpath)


@pytest.hookimpl(trylast=True)
def pytest_benchmark_generate_json(
    config: pytest.Config, benchmarks: list[Metadata], include_data: bool,
    machine_info: Any, commit_info: Any,
) -> dict[str, Any]:
    return bm_json.document(benchmarks, include_data, machine_info, commit_info)


def _is_benchmark(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return "benchmark" in names or "perf" in names


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    bs = config.stash[SESSION]
    skip_bench = pytest.mark.skip(reason="Skipping benchmark (--benchmark-skip active).")
    skip_other = pytest.mark.skip(reason="Skipping non-benchmark (--benchmark-only active).")
    for item in items:
        if _is_benchmark(item):
            if bs.skip:
                item.add_marker(skip_bench)
        elif bs.only:
            item.add_marker(skip_other)


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("benchmark")
    if marker is None:
        return
    if marker.args:
        raise ValueError("benchmark mark can't have positional arguments.")
    for name in marker.kwargs:
        if name not in MARKER_KWARGS:
            raise ValueError(f"benchmark mark can't have {name!r} keyword argument.")


def pytest_sessionfinish(session: pytest.Session) -> None:
    bs = session.config.stash.get(SESSION, None)
    if bs is None:
        return
    if bs.json_path is not None:
        if not bs.benchmarks:
            bs.notes.append(f"--benchmark-json: nothing written to {bs.json_path}, "
                            "no benchmarks have been run")
        else:
            bm_json.write(session.config, bs.json_path, bs.benchmarks)
            bs.notes.append(f"benchmark JSON (pytest-benchmark format) written to "
                            f"{bs.json_path}")
    if bs.compare is None and bs.save_name is None:
        return
    if not bs.benchmarks:
        bs.notes.append("--benchmark-compare/--benchmark-save: no benchmarks have been run")
        return
    try:
        folder = bm_compare.storage_folder(bs.storage, session.config.invocation_params.dir)
    except UsageError as exc:
        bs.notes.append(f"error: {exc}")
        _fail(session)  # a save or a comparison asked for and not made
        return
    # before saving: the saved run compared is an earlier one; a comparison that cannot be
    # made does not cost this run its save
    for step, what in ((_compare, bs.compare), (_save, bs.save_name)):
        if what is None:
            continue
        try:
            step(session, bs, folder)
        except (PerfgateError, OSError) as exc:
            bs.notes.append(f"error: {exc}")
            if step is _save or bs.fail_rules:  # a save or a gate that did not happen
                _fail(session)


def _fail(session: pytest.Session) -> None:
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _compare(session: pytest.Session, bs: BenchmarkSession, folder: Path) -> None:
    from perfgate.store import from_pytest_benchmark, import_file

    assert bs.compare is not None
    try:
        path = bm_compare.pick_saved(folder, bs.compare)
    except UsageError as exc:  # nothing saved yet: the first run of a pipeline
        bs.notes.append(f"warning: {exc}; nothing compared")
        return
    base, _ = import_file(path)  # the run compared with must be readable: else an error
    runs = bm_compare.saved_runs(folder)[-bm_compare.HISTORY_RUNS:]
    history = []
    for p in runs:  # the noise estimate does without a file it cannot read, and says so
        try:
            history.append(import_file(p)[0])
        except PerfgateError as exc:
            bs.notes.append(f"warning: left out of the run-to-run noise: {exc}")
    current = from_pytest_benchmark(bm_json.build(session.config, bs.benchmarks), "session")
    report, failed = bm_compare.compare_with_saved(current, base, history, bs.fail_rules,
                                                   path.name)
    bs.notes.append(f"compared with the saved run {path} by perfgate (each side one run: a "
                    f"change is called only beyond the run-to-run noise of {len(history)} saved "
                    "run(s), else an assumed 6 % per run):")
    bs.notes.extend(bm_compare.describe(report))
    if failed:
        worse = ", ".join(c.name for c in report.comparisons if c.level == "fail")
        bs.notes.append(f"error: --benchmark-compare-fail {' '.join(failed)}: regression "
                        f"in {worse}")
        _fail(session)


def _save(session: pytest.Session, bs: BenchmarkSession, folder: Path) -> None:
    config = session.config
    doc = bm_json.build(config, bs.benchmarks, include_data=bs.save_data)
    if bs.save_name == "autosave":
        ci = doc.get("commit_info") or {}
        stamp = str(doc.get("datetime", ""))[:19].replace("-", "").replace(":", "")
        name = f"{ci.get('id') or 'unversioned'}_{stamp}" + (
            "_uncommitted-changes" if ci.get("dirty") else "")
    else:
        name = str(bs.save_name)
    path = bm_compare.save_path(folder, name)
    bm_json.write(config, path, bs.benchmarks, doc)
    bs.notes.append(f"saved as {path}" + ("" if bs.save_data else
                                         " (without the rounds: --benchmark-save-data keeps them)"))


@pytest.fixture
def benchmark(request: pytest.FixtureRequest) -> BenchmarkFixture:
    """pytest-benchmark's fixture, measured by perfgate (see docs/pytest.md)."""
    bs = request.config.stash[SESSION]
    if bs.skip:
        pytest.skip("Benchmarks are skipped (--benchmark-skip was used).")
    node = cast(pytest.Item, request.node)
    marker = node.get_closest_marker("benchmark")
    settings = bs.settings.with_marker(marker.kwargs if marker else {})
    fixture = BenchmarkFixture(
        node, settings, disabled=bs.disabled, add_stats=bs.fixtures.append
    )
    collector: Collector = request.config.stash[COLLECTOR]
    collector.add(node.nodeid, fixture.perfgate_result, "benchmark")
    return fixture


@pytest.fixture
def benchmark_weave(benchmark: BenchmarkFixture) -> Any:
    return benchmark.weave
