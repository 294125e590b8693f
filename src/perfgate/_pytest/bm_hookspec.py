"""pytest-benchmark's hook specifications, so conftest files implementing them still load.

pytest rejects an unknown ``pytest_*`` hook in a conftest; suites customise their JSON with
these (``pytest_benchmark_update_json`` above all). perfgate calls the machine/commit/JSON
hooks when it writes ``--benchmark-json``; the display and comparison hooks are accepted and
never called (perfgate does not do pytest-benchmark's comparison or grouping).
"""

from __future__ import annotations

from typing import Any

import pytest

# Parameter names are the contract (pluggy passes them by name); the bodies are empty.


@pytest.hookspec(firstresult=True)
def pytest_benchmark_scale_unit(
    config: Any, unit: Any, benchmarks: Any, best: Any, worst: Any, sort: Any
) -> Any:
    """Accepted, not called."""


@pytest.hookspec(firstresult=True)
def pytest_benchmark_generate_machine_info(config: Any) -> Any:
    """The ``machine_info`` object of --benchmark-json."""


def pytest_benchmark_update_machine_info(config: Any, machine_info: Any) -> None:
    """Edit ``machine_info`` in place."""


@pytest.hookspec(firstresult=True)
def pytest_benchmark_generate_commit_info(config: Any) -> Any:
    """The ``commit_info`` object of --benchmark-json."""


def pytest_benchmark_update_commit_info(config: Any, commit_info: Any) -> None:
    """Edit ``commit_info`` in place."""


@pytest.hookspec(firstresult=True)
def pytest_benchmark_group_stats(config: Any, benchmarks: Any, group_by: Any) -> Any:
    """Accepted, not called."""


@pytest.hookspec(firstresult=True)
def pytest_benchmark_generate_json(
    config: Any, benchmarks: Any, include_data: Any, machine_info: Any, commit_info: Any
) -> Any:
    """The whole --benchmark-json document."""


def pytest_benchmark_update_json(config: Any, benchmarks: Any, output_json: Any) -> None:
    """Edit the --benchmark-json document in place before it is written."""


def pytest_benchmark_compare_machine_info(
    config: Any, benchmarksession: Any, machine_info: Any, compared_benchmark: Any
) -> None:
    """Accepted, not called."""
