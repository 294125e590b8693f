"""Outbound calls — HTTP requests, cache commands — counted per operation and per phase.

This is the common core of the HTTP probe (``_http.py``) and the cache probe (``_cache.py``).
A *door* is the place in a client library where every call passes (a transport, a
connector, a command funnel); a probe kind installs its doors, at class level, when its
first probe starts and removes them when its last probe ends, so with no probe active the
libraries run untouched. Each door reports one :class:`Call`: a name (the HTTP method or the
cache command), a normalised target (the URL or the key with ids replaced, like the query
probe's normalised statements), the host, and — found here — the ``file:line`` of the user
code that made the call (the innermost frame outside the client libraries, the standard
library, pytest and perfgate) and the ``pg.phase`` blocks open at that moment.

A call made from a coroutine that runs as its own task (``asyncio.gather(*(client.get(u)
for u in urls))``) has no user frame above it on the stack: its await chain ends at the
event loop. There the location is where the task's coroutine was created, which Python
records while coroutine origin tracking is on (``sys.set_coroutine_origin_tracking_depth``,
turned on in the thread that starts a probe, for as long as the probe is active).
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import sysconfig
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import ClassVar

from perfgate.bench._phases import current_phases
from perfgate.probes._bracket import OpBracket
from perfgate.probes._queries import _Dirs

__all__ = ["Call", "CallProbe", "OpCalls", "normalize_ids", "record_call"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"(?<![0-9A-Za-z])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{16,}(?![0-9A-Za-z])")
_NUM = re.compile(r"(?<![A-Za-z0-9_])\d+(?![A-Za-z0-9_])")


def normalize_ids(text: str) -> str:
    """Ids as ``{id}``: numbers, UUIDs and long hex tokens standing alone between
    separators (``/items/42`` → ``/items/{id}``, ``user:7:cart`` → ``user:{id}:cart``);
    words with digits in them (``v2``, ``utf8``) stay."""
    return _NUM.sub("{id}", _HEX.sub("{id}", _UUID.sub("{id}", text)))


@dataclass(frozen=True)
class Call:
    """One outbound call, as a door saw it."""

    name: str  # HTTP method, cache command
    target: str  # normalised: "GET http://api:8000/items/{id}", "GET item:{id}"
    host: str | None
    location: str | None
    phases: tuple[str, ...]


@dataclass
class OpCalls:
    """The calls one operation (or one ``count_*`` block) made."""

    total: int = 0
    phases: Counter[str] = field(default_factory=Counter)
    names: Counter[str] = field(default_factory=Counter)
    hosts: Counter[str] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)
    locations: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, call: Call) -> None:
        self.total += 1
        self.names[call.name] += 1
        self.targets[call.target] += 1
        if call.host is not None:
            self.hosts[call.host] += 1
        if call.location is not None:
            self.locations.setdefault(call.target, Counter())[call.location] += 1
        for p in set(call.phases):
            self.phases[p] += 1

    def location_of(self, target: str) -> str | None:
        """The user line that made calls to ``target`` most often."""
        locs = self.locations.get(target)
        return locs.most_common(1)[0][0] if locs else None

    @property
    def count(self) -> int:
        return self.total


class CallProbe(OpBracket[OpCalls]):
    """Count one kind of call while active; :meth:`operation` brackets one operation.

    Subclasses name their ``kind``, the ``packages`` whose frames are not the user's, and
    their doors (:meth:`_install`). Probes nest and may overlap; each sees every call.
    """

    kind: ClassVar[str] = ""
    packages: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, locate: bool = True) -> None:
        self.locate = locate
        super().__init__(OpCalls)

    @classmethod
    def _install(cls) -> list[Callable[[], None]]:
        """Install this kind's doors; return the callables that remove them."""
        raise NotImplementedError

    def __enter__(self) -> CallProbe:
        _active(type(self)).add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _active(type(self)).remove(self)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.all.add(call)
            if self._op is not None:
                self._op.add(call)


class _Active:
    """The active probes of one kind, and its doors while any is active."""

    def __init__(self, cls: type[CallProbe]) -> None:
        self.cls = cls
        self.probes: tuple[CallProbe, ...] = ()
        self.dirs: _Dirs = ((), (), ())
        self.user_files: dict[str, bool] = {}
        self._undo: list[Callable[[], None]] = []
        self._lock = threading.RLock()

    def add(self, probe: CallProbe) -> None:
        with self._lock:
            if not self.probes:
                self.dirs = _skip_dirs(self.cls.packages)
                self.user_files = {}
                self._undo = self.cls._install()
                depth = sys.get_coroutine_origin_tracking_depth()
                if depth < _ORIGIN_DEPTH:
                    sys.set_coroutine_origin_tracking_depth(_ORIGIN_DEPTH)
                    self._undo.append(lambda: sys.set_coroutine_origin_tracking_depth(depth))
            self.probes = (*self.probes, probe)

    def remove(self, probe: CallProbe) -> None:
        with self._lock:
            self.probes = tuple(p for p in self.probes if p is not probe)
            if not self.probes:
                for undo in reversed(self._undo):
                    undo()
                self._undo = []


_KINDS: dict[str, _Active] = {}
_KINDS_LOCK = threading.Lock()


def _active(cls: type[CallProbe]) -> _Active:
    with _KINDS_LOCK:
        found = _KINDS.get(cls.kind)
        if found is None:
            found = _KINDS[cls.kind] = _Active(cls)
        return found


_ALWAYS_SKIPPED = ("_pytest", "pluggy", "pytest")
_ORIGIN_DEPTH = 8  # a task's coroutine made by the user, or by asyncio for an awaitable it gathers
_CORO_FLAGS = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR


def _skip_dirs(packages: tuple[str, ...]) -> _Dirs:
    """Where frames are not the user's: perfgate, the client libraries (those imported by
    now), pytest, and the standard library (but not site-packages inside it)."""
    paths = sysconfig.get_paths()
    pkgs = {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}  # perfgate/
    for name in (*packages, *_ALWAYS_SKIPPED):
        f = getattr(sys.modules.get(name), "__file__", None)
        if f:
            pkgs.add(os.path.dirname(os.path.abspath(f)))
    std = {os.path.abspath(paths[k]) for k in ("stdlib", "platstdlib") if paths.get(k)}
    site = {os.path.abspath(paths[k]) for k in ("purelib", "platlib") if paths.get(k)}

    def sep(ds: set[str]) -> tuple[str, ...]:
        return tuple(d + os.sep for d in ds)

    return sep(pkgs), sep(std), sep(site)


def _is_user(filename: str, dirs: _Dirs, cache: dict[str, bool]) -> bool:
    """Whether a frame of ``filename`` is the user's (``cache``: per probe session)."""
    known = cache.get(filename)
    if known is None:
        pkgs, std, site = dirs
        path = os.path.abspath(filename)
        known = not filename.startswith("<") and not path.startswith(pkgs) and (
            not path.startswith(std) or path.startswith(site))
        cache[filename] = known
    return known


def _location(frame: FrameType | None, dirs: _Dirs, cache: dict[str, bool]) -> str | None:
    """The innermost user frame of this call's await chain, else its task's origin."""
    in_coroutine = False
    while frame is not None:
        code = frame.f_code
        is_coro = bool(code.co_flags & _CORO_FLAGS)
        if in_coroutine and not is_coro:
            break  # left the task's await chain: what follows is the event loop's caller
        in_coroutine = in_coroutine or is_coro
        if _is_user(code.co_filename, dirs, cache):
            return f"{code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    asyncio = sys.modules.get("asyncio")  # not imported: no task to ask (and no import here)
    if frame is None or asyncio is None:
        return None
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        return None
    for filename, lineno, _name in _origin(task.get_coro() if task is not None else None):
        if _is_user(filename, dirs, cache):
            return f"{filename}:{lineno}"
    return None


def _origin(coro: object) -> tuple[tuple[str, int, str], ...]:
    """Where a task's coroutine was created (most recent frame first), looking through an
    awaitable that wraps one (aiohttp's request context manager keeps it as ``_coro``)."""
    for _ in range(3):
        origin = getattr(coro, "cr_origin", None)
        if origin:
            return tuple(origin)
        coro = getattr(coro, "_coro", None)
        if coro is None:
            break
    return ()


def record_call(kind: str, name: str, target: str, host: str | None = None) -> None:
    """Count one call of ``kind`` in every active probe of that kind (the doors call this)."""
    active = _KINDS.get(kind)
    probes = active.probes if active is not None else ()
    if not probes or active is None:
        return
    location = (_location(sys._getframe(1), active.dirs, active.user_files)
                if any(p.locate for p in probes) else None)
    call = Call(name, target, host, location, current_phases())
    for p in probes:
        p._record(call)
