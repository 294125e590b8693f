"""Is pytest-benchmark going to be active in this pytest run?

Decided while perfgate's ``pytest_addoption`` runs, because that is when perfgate must choose
whether to add the ``--benchmark-*`` options (two plugins adding one option is an error).
pytest-benchmark may not be registered yet at that moment (entry points load in an arbitrary
order), so its *pending* arrival counts too: ``-p benchmark``, ``PYTEST_PLUGINS`` or an
installed ``pytest11`` entry point with autoloading on.
"""

from __future__ import annotations

import importlib.metadata
import os

import pytest

__all__ = ["ENTRY_POINT", "benchmark_plugin_expected", "pytest_benchmark_registered"]

ENTRY_POINT = "benchmark"  # pytest-benchmark's pytest11 entry-point name
_MODULES = ("pytest_benchmark.plugin", "pytest_benchmark")


def _requested(names: list[str]) -> bool:
    return any(n.strip() in (ENTRY_POINT, *_MODULES) for n in names)


def pytest_benchmark_registered(pm: pytest.PytestPluginManager) -> bool:
    return any(pm.has_plugin(n) for n in (ENTRY_POINT, *_MODULES))


def benchmark_plugin_expected(pm: pytest.PytestPluginManager) -> bool:
    """True when pytest-benchmark is, or is about to be, registered with ``pm``."""
    if pm.is_blocked(ENTRY_POINT):
        return False  # -p no:benchmark (blocking a module name would not stop the entry point)
    if pytest_benchmark_registered(pm):
        return True
    config = pm.get_plugin("pytestconfig")
    ns = getattr(config, "known_args_namespace", None)
    if _requested(list(getattr(ns, "plugins", None) or [])):
        return True
    if _requested(os.environ.get("PYTEST_PLUGINS", "").split(",")):
        return True
    autoload_off = bool(os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")) or bool(
        getattr(ns, "disable_plugin_autoload", False)
    )
    if autoload_off:
        return False
    return bool(importlib.metadata.entry_points(group="pytest11", name=ENTRY_POINT))
