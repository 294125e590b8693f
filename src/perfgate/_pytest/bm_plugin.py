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

from perfgate._pytest import bm_hookspec, bm_json
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
    config.stash[SESSION] = BenchmarkSession(
        settings=settings_from(config),
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
    if bs is None or bs.json_path is None:
        return
    if not bs.benchmarks:
        bs.notes.append(f"--benchmark-json: nothing written to {bs.json_path}, "
                        "no benchmarks have been run")
        return
    bm_json.write(session.config, bs.json_path, bs.benchmarks)
    bs.notes.append(f"benchmark JSON (pytest-benchmark format) written to {bs.json_path}")


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
