"""The public API is what ``perfgate.__all__`` lists, and nothing else leaks or goes missing."""

from __future__ import annotations

import subprocess
import sys
import types

import perfgate


def test_all_names_exist() -> None:
    for name in perfgate.__all__:
        assert hasattr(perfgate, name), name


def test_every_public_attribute_is_in_all() -> None:
    public = {
        n for n, v in vars(perfgate).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"
    }
    assert public <= set(perfgate.__all__), public - set(perfgate.__all__)


def test_errors_form_one_tree() -> None:
    for name in perfgate.__all__:
        obj = getattr(perfgate, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, perfgate.PerfgateError), name


def test_import_has_no_side_effects() -> None:
    # No output, no event-loop policy change, no heavy optional imports at import time.
    code = (
        "import sys, asyncio\n"
        "before = type(asyncio.get_event_loop_policy())\n"
        "import perfgate\n"
        "assert type(asyncio.get_event_loop_policy()) is before\n"
        "heavy = [m for m in ('numpy', 'scipy.stats', 'sqlalchemy', 'plotly', 'uvloop', 'rich')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""


def test_subpackages_do_not_hide_the_functions_of_the_same_name() -> None:
    # perfgate.load and perfgate.bench are subpackages and public functions at once.
    import perfgate.bench._engine
    import perfgate.load._engine

    assert callable(perfgate.load)
    assert callable(perfgate.bench)
    assert perfgate.load.__module__ == "perfgate._api"
