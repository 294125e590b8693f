"""perfgate's pytest plugin (entry point ``pytest11: perfgate``).

- the ``perf`` fixture: ``perf.bench``, ``perf.burst``, ``perf.parallel``, ``perf.check``;
- pytest-benchmark's ``benchmark`` fixture, ``@pytest.mark.benchmark`` and ``--benchmark-*``
  options, measured by perfgate, *unless pytest-benchmark itself is active*: then those are
  left to it and perfgate adds only ``perf`` and its own options (docs/pytest.md);
- markers ``perf`` (added to every test that uses ``perf`` or ``benchmark``) and ``slow``;
- ``--perfgate-json FILE``: every Result of the session as perfgate JSON, as the CLI writes it;
- verdicts enforced: a test in which a result got a ``fail`` verdict — through ``perf.*`` or
  ``pg.*`` — fails, with the verdicts in the message, unless the test saw the failure itself
  (``pytest.raises``) or opted out (``@pytest.mark.perf(enforce=False)``,
  ``--perfgate-no-enforce``).

pytest imports this module in every project that installs perfgate, so neither it nor
``perfgate._pytest`` imports an engine, numpy or scipy at module level: those load when a
fixture first runs (``perfgate/__init__.py`` still runs first, as for any submodule).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import cast

import pytest

from perfgate._pytest import bm_plugin
from perfgate._pytest.collector import COLLECTOR, Collector
from perfgate._pytest.detect import benchmark_plugin_expected as _benchmark_plugin_expected
from perfgate._pytest.perf import Perf

__all__ = ["Perf", "perf"]

_NOTES = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup("perfgate", "perfgate (performance tests)")
    group.addoption(
        "--perfgate-json", dest="perfgate_json", metavar="FILE", type=Path, default=None,
        help="Write every perf/benchmark result of the run as perfgate JSON "
             "(docs/results-format.md).",
    )
    group.addoption(
        "--perfgate-max-time", dest="perfgate_max_time", metavar="SECONDS", type=float,
        default=None,
        help="Time budget of each perf.bench, warm-up capped at it too (default: 1 s budget, "
             "0.1 s warm-up; a perf marker or call argument wins).",
    )
    group.addoption(
        "--perfgate-measure", dest="perfgate_measure", choices=("time", "instructions"),
        default=None, help="instructions: each perf.bench also counts instructions per call "
                           "under valgrind (needs an importable target).",
    )
    group.addoption(
        "--perfgate-no-enforce", dest="perfgate_enforce", action="store_false", default=True,
        help="Do not fail a test because a perfgate result made in it has a failed check "
             "that the test did not raise (they are still reported).",
    )
    parser.addini(
        "perfgate_enforce_results", type="bool", default=True,
        help="Fail a test in which a result made outside the perf fixture (pg.load(..., "
             "checks=...)) has a failed check (default true; false for a suite that tests "
             "perfgate's verdicts themselves). perf.* calls raise either way.",
    )
    # Decided here, while options are being added: two plugins adding one option is an error.
    if not _benchmark_plugin_expected(pluginmanager) and not pluginmanager.is_registered(
        bm_plugin
    ):
        pluginmanager.register(bm_plugin, bm_plugin.NAME)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "perf(enforce=True, **bench_options): a performance test; options for "
        "perf.bench; enforce=False: a failed check does not fail the test by itself "
        "(added automatically to tests using the perf or benchmark fixture)",
    )
    config.addinivalue_line("markers", "slow: takes more than a second")
    config.stash[COLLECTOR] = Collector()
    config.stash[_NOTES] = []


def pytest_report_header(config: pytest.Config) -> str:
    from perfgate import __version__
    from perfgate._pytest.detect import pytest_benchmark_registered

    if config.pluginmanager.has_plugin(bm_plugin.NAME):
        who = "perfgate (pytest-benchmark is not active)"
    elif pytest_benchmark_registered(config.pluginmanager):
        who = "pytest-benchmark (perfgate adds the perf fixture only)"
    else:
        who = f"none (-p no:{bm_plugin.NAME})"
    return f"perfgate: {__version__}; benchmark fixture: {who}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if ("perf" in names or "benchmark" in names) and item.get_closest_marker("perf") is None:
            item.add_marker(pytest.mark.perf)


@pytest.fixture
def perf(request: pytest.FixtureRequest) -> Perf:
    """perfgate inside a test: ``perf.bench(fn, checks=[...])``, ``perf.burst(fn, n=10)``."""
    defaults: dict[str, object] = {}
    max_time = request.config.getoption("perfgate_max_time")
    if max_time is not None:  # a budget for the whole benchmark: warm-up included
        defaults["max_time"] = float(max_time)
        from perfgate.bench import BenchOptions

        defaults["warmup"] = min(BenchOptions().warmup, float(max_time))
    measure = request.config.getoption("perfgate_measure")
    if measure is not None:
        defaults["measure"] = measure
    marker = cast(pytest.Item, request.node).get_closest_marker("perf")
    if marker is not None:
        defaults.update({k: v for k, v in marker.kwargs.items() if k != "enforce"})
    return Perf(request.node.nodeid, request.config.stash[COLLECTOR], defaults,
                enforce=_enforced(cast(pytest.Item, request.node)))


def _enforced(item: pytest.Item) -> bool:
    """The test's opt-out (marker), else the run's (``--perfgate-no-enforce``)."""
    marker = item.get_closest_marker("perf")
    if marker is not None and "enforce" in marker.kwargs:
        return bool(marker.kwargs["enforce"])
    return bool(item.config.getoption("perfgate_enforce", True))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a test that passed while a result it made holds a failed check nobody raised
    (``pg.load(..., checks=...)`` returns such a result rather than raising)."""
    if not (_enforced(item) and item.config.getini("perfgate_enforce_results")):
        return (yield)
    from perfgate._observe import observing

    with observing() as obs:
        res = yield
    failures = obs.unraised_failures()
    if failures:
        from perfgate._pytest.perf import verdict_failure

        msgs = [str(verdict_failure(r, vs)) for r, vs in failures]
        err = AssertionError("\n".join(msgs) + "\n(opt out: @pytest.mark.perf(enforce=False)"
                             " or --perfgate-no-enforce)")
        err.results = [r for r, _ in failures]  # type: ignore[attr-defined]
        raise err
    return res


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    path: Path | None = config.getoption("perfgate_json")
    if path is None or COLLECTOR not in config.stash:
        return
    collector = config.stash[COLLECTOR]
    if not config.pluginmanager.has_plugin(bm_plugin.NAME):
        from perfgate._pytest.foreign import pytest_benchmark_results as timed_elsewhere

        for r in timed_elsewhere(config):
            collector.add_result(str(r.extra.get("test", r.name)), r, "benchmark")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # each xdist worker writes its own file beside FILE
        path = path.with_name(f"{path.stem}.{worker}{path.suffix}")
    try:
        rs = collector.write_json(path)
    except OSError as exc:
        config.stash[_NOTES].append(f"error: could not write {path}: {exc}")
        return
    config.stash[_NOTES].append(f"perfgate JSON ({len(rs.results)} results) written to {path}")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    from rich.console import RenderableType

    from perfgate._pytest import report

    if COLLECTOR not in config.stash:
        return
    collector = config.stash[COLLECTOR]
    bs = config.stash.get(bm_plugin.SESSION, None)
    items: list[RenderableType] = []
    if bs is not None and bs.benchmarks and not bs.quiet:
        by_name = {r.name: r for r in collector.results("benchmark")}
        items.append(report.benchmark_table(
            bs.benchmarks, by_name, report.terminal_width(terminalreporter)
        ))
    perf_results = collector.results("perf")
    if perf_results:
        items.append(report.perf_table(perf_results))
    notes = [*config.stash[_NOTES]]
    if bs is not None:
        notes = bs.notes + notes
        if bs.ignored:
            notes.append(
                "pytest-benchmark options accepted but ignored by perfgate: "
                + ", ".join(bs.ignored)
            )
    if not items and not notes:
        return
    terminalreporter.section("perfgate")
    report.write_renderables(terminalreporter, items)
    for note in notes:  # plain lines: never wrapped, so logs and greps see them whole
        terminalreporter.write_line(note, red=note.startswith("error"))
