"""The one way perfgate imports user code: suite files, ``MODULE:CALLABLE`` references, and
the same again in a fresh worker process.

A suite file is imported under a synthetic module name derived from its resolved path
(``perfgate_suite_<path>``), so two files named alike never collide; a worker process that
receives a suite file's function re-imports the file by path under the same name, which is
what :func:`ref_of` / :func:`resolve` carry between processes.

Import-time failures become :class:`~perfgate.TargetError` naming the file — including a
suite file that calls ``sys.exit()`` while it is imported, which must not end perfgate.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import pickle
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from perfgate._errors import PerfgateError, TargetError, UsageError

__all__ = ["SUITE_PREFIX", "import_file", "load_object", "main_not_rerun", "pickles_main",
           "ref_of", "resolve", "suite_name"]

SUITE_PREFIX = "perfgate_suite_"


def suite_name(path: Path) -> str:
    return SUITE_PREFIX + re.sub(r"\W", "_", str(path.resolve()))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r}) while being imported"
    return f"{type(exc).__name__}: {exc}"


def import_file(path: Path, module_name: str | None = None) -> ModuleType:
    """Import a Python file by path (its directory becomes importable, as for a script)."""
    name = module_name or suite_name(path)
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise TargetError(f"{path}: cannot be imported (no such Python file)")
    module = importlib.util.module_from_spec(spec)
    parent = str(path.resolve().parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # a malformed check keeps its message, too
        sys.modules.pop(name, None)
        raise TargetError(f"{path}: {_describe(exc)}") from exc
    return module


def load_object(ref: str, what: str = "target") -> Callable[..., Any]:
    """Import ``MODULE:ATTR`` (or ``path/file.py:ATTR``); the working directory is importable."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"{what} {ref!r}: expected MODULE:CALLABLE, e.g. mypkg.parse:parse_all")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    if module_name.endswith(".py") or "/" in module_name:
        module = import_file(Path(module_name))
    else:
        try:
            module = importlib.import_module(module_name)
        except PerfgateError:
            raise
        except (Exception, SystemExit) as exc:
            raise TargetError(f"{what} {ref!r}: cannot import {module_name}: "
                              f"{_describe(exc)}") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"{what} {ref!r}: {module_name} has no attribute {attr!r}"
                              ) from None
    if not callable(obj):
        raise TargetError(f"{what} {ref!r} is not callable")
    return obj  # type: ignore[no-any-return]


def ref_of(fn: Callable[..., Any]) -> tuple[str, str] | None:
    """(file, qualname) for a function of a suite file — a fresh process cannot import its
    synthetic module by name, so it imports the file again — else None (pickle by name)."""
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    path = getattr(module, "__file__", None)
    if module is None or path is None or not module.__name__.startswith(SUITE_PREFIX):
        return None
    return str(path), fn.__qualname__


def resolve(target: Any) -> Any:
    """The inverse of :func:`ref_of` in a worker: a (file, qualname) pair becomes the
    function again; anything else is returned as it is."""
    if isinstance(target, tuple) and len(target) == 2 and all(isinstance(t, str)
                                                                for t in target):
        obj: Any = import_file(Path(target[0]))
        for part in target[1].split("."):
            obj = getattr(obj, part)
        return obj
    return target


def pickles_main(*objects: Any) -> bool:
    """Whether a worker needs the parent's ``__main__`` to unpickle ``objects`` (a function
    defined in a script run as ``python x.py`` is pickled by a reference to it); True when
    they cannot be pickled at all (the start then fails with its own message)."""
    try:
        return b"__main__" in pickle.dumps(objects)
    except Exception:  # noqa: BLE001 - any pickling failure
        return True


@contextlib.contextmanager
def main_not_rerun(needed: bool) -> Iterator[None]:
    """Start ``spawn`` processes without re-running the parent's ``__main__`` in them,
    unless it is ``needed`` (:func:`pickles_main` of the workers' arguments).

    ``spawn`` imports the parent's main module in every worker; for the ``perfgate`` command
    that is the whole CLI — 1.1 s of imports per worker, which made ``--processes 5`` of a
    1 s benchmark take 8 s."""
    main = sys.modules.get("__main__")
    if main is None or needed:
        yield
        return
    sys.modules["__main__"] = ModuleType("__main__")  # no __file__, no __spec__
    try:
        yield
    finally:
        sys.modules["__main__"] = main
