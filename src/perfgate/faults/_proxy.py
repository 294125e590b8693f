"""The TCP fault proxy: sits between the system under test and a dependency (PostgreSQL,
Redis, an HTTP API) and applies toxics (see :mod:`._toxics`) to the bytes that cross it.

Each accepted connection opens one to the upstream and runs two pumps, one per direction.
A pump reads a chunk, passes it through the direction's current toxics (read afresh for
every chunk, so toxics added, changed or removed take effect while traffic flows) and
queues the resulting items; a writer emits them at their instants. The queue is bounded:
a slow writer (bandwidth, latency) holds the reader back, as a real slow link would.

``down(mode="refuse")`` stops listening (new connections are refused) and resets every
open one; ``down(mode="blackhole")`` keeps accepting but forwards nothing, on new and open
connections alike, for their whole life — a partition the client's own timeouts must
detect. ``up()`` undoes either for new connections.

Every public method is thread-safe and bounded in time: the proxy runs in its own loop
thread, and a proxy that died makes its calls raise :class:`FaultError`, never hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import socket
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from perfgate._errors import FaultError, UsageError
from perfgate.faults._addr import parse_address, require_loopback
from perfgate.faults._loop import LoopThread, connect, shut_down, wait_until
from perfgate.faults._toxics import (
    KINDS,
    Item,
    LinkState,
    ToxicSpec,
    apply_toxics,
    bump,
    make_toxic,
    parse_toxic,
)

__all__ = ["Proxy", "ProxyStats", "Switch"]

_READ = 65536
_QUEUE = 256
_CONNECT_TIMEOUT_S = 5.0
DownMode = Literal["refuse", "blackhole"]


@dataclass
class ProxyStats:
    """What crossed the proxy (read them any time; they only grow)."""

    accepted: int = 0
    active: int = 0
    upstream_failures: int = 0  # connections closed because the upstream refused
    bytes_up: int = 0
    bytes_down: int = 0
    resets: int = 0
    # how late delayed items were written (s): the proxy's own timer error, last 100k
    late: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    def lateness(self) -> dict[str, float]:
        """n, p50, p99 and max of how late delayed items left (seconds)."""
        xs = sorted(self.late)
        if not xs:
            return {"n": 0}
        return {"n": len(xs), "p50": xs[len(xs) // 2],
                "p99": xs[min(len(xs) - 1, int(0.99 * len(xs)))], "max": xs[-1]}


class Switch:
    """A fault as a reusable context manager: ``on()`` when entered, ``off()`` when left.

    Fault schedules (:func:`perfgate.faults.fault`) enter and leave these at phase
    boundaries; ``label`` is how results and reports name the fault."""

    def __init__(self, label: str, on: Any, off: Any) -> None:
        self.label = label
        self._on, self._off = on, off

    def __enter__(self) -> Switch:
        self._on()
        return self

    def __exit__(self, *exc: object) -> None:
        self._off()

    def __repr__(self) -> str:
        return f"<fault {self.label}>"


class _Link:
    def __init__(self, proxy: Proxy, cr: asyncio.StreamReader, cw: asyncio.StreamWriter,
                 seed: int) -> None:
        self.proxy = proxy
        self.cr, self.cw = cr, cw
        self.uw: asyncio.StreamWriter | None = None
        self.blackholed = proxy.mode == "blackhole"
        self.rng = random.Random(seed)
        self.done = asyncio.Event()
        self._writing = {"upstream": False, "downstream": False}  # an item is being emitted

    async def run(self) -> None:
        p = self.proxy
        try:
            if self.blackholed:
                await self._swallow(self.cr)
                return
            try:
                ur, uw = await connect(p.upstream_host, p.upstream_port, _CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError):
                p.stats.upstream_failures += 1
                return
            if self.done.is_set():  # closed (proxy stopping, down) while connecting
                uw.close()
                return
            self.uw = uw
            tasks = [asyncio.create_task(self._pump(self.cr, uw, "upstream")),
                     asyncio.create_task(self._pump(ur, self.cw, "downstream"))]
            await self.done.wait()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self.close(reset=False)

    async def _swallow(self, r: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while await r.read(_READ):
                pass

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                    direction: Literal["upstream", "downstream"]) -> None:
        loop = asyncio.get_running_loop()
        st = LinkState(random.Random(self.rng.random()))
        q: asyncio.Queue[Item] = asyncio.Queue(_QUEUE)
        writer = asyncio.create_task(self._emit(q, w, direction))
        p = self.proxy
        try:
            while True:
                try:
                    data = await r.read(_READ)
                except OSError:
                    data = b""
                now = loop.time()
                if not data:
                    break
                if self.blackholed:
                    continue
                if direction == "upstream":
                    p.stats.bytes_up += len(data)
                else:
                    p.stats.bytes_down += len(data)
                toxics = p.toxics(direction)
                if not toxics and q.empty() and not self._writing[direction]:
                    try:  # fast path: nothing to apply, nothing queued before it
                        w.write(data)
                        await w.drain()
                    except OSError:
                        break
                    continue
                for it in apply_toxics([Item(now, "data", data)], toxics, st, now):
                    await q.put(it)
            delay = max((float(t.params["delay"]) for t in p.toxics(direction)
                         if t.kind == "slow_close" and st.active(t)), default=0.0)
            await q.put(Item(max(loop.time() + delay, st.last_t), "close"))
            await writer
        finally:
            writer.cancel()

    async def _emit(self, q: asyncio.Queue[Item], w: asyncio.StreamWriter,
                    direction: str) -> None:
        while True:
            it = await q.get()
            self._writing[direction] = True
            loop = asyncio.get_running_loop()
            if it.t > loop.time():
                await wait_until(it.t)
                self.proxy.stats.late.append(loop.time() - it.t)
            if it.action != "data":
                self.close(reset=it.action == "reset")
                return
            if self.blackholed:
                self._writing[direction] = False
                continue
            try:
                w.write(it.data)
                await w.drain()
            except OSError:
                self.close(reset=False)
                return
            self._writing[direction] = False

    def close(self, reset: bool, abort: bool = False) -> None:
        """End both sides: a FIN after what is buffered, an RST (``reset``), or at once with
        the buffers dropped (``abort``: the proxy is stopping and will not wait for them)."""
        if self.done.is_set():
            if abort:
                for w in (self.cw, self.uw):
                    if w is not None:
                        w.transport.abort()
            return
        self.done.set()
        if reset:
            self.proxy.stats.resets += 1
        for w in (self.cw, self.uw):
            if w is None:
                continue
            if reset:
                sock = w.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):  # linger 0: close sends an RST
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
            if abort:
                w.transport.abort()
            else:
                w.close()


class Proxy:
    """A TCP fault proxy from ``listen`` to ``upstream`` (both loopback by default).

    ::

        with Proxy("127.0.0.1:5432") as db:          # listens on a free port
            dsn = f"postgresql://app@{db.address}/app"
            with db.toxic(latency="300ms"):           # every response 300 ms later
                ...
            with db.toxic("reset_peer", after=0, toxicity=0.1):   # 10 % of connections
                ...
            with db.down():                           # refused, open ones reset
                ...
    """

    def __init__(self, upstream: str, listen: str = "127.0.0.1:0", *,
                 allow_remote: bool = False, seed: int | None = None,
                 check_upstream: bool = True, name: str = "proxy") -> None:
        self.upstream_host, self.upstream_port = parse_address(upstream, "upstream")
        self.listen_host, self.listen_port = parse_address(listen, "listen")
        require_loopback(self.upstream_host, self.upstream_port, "upstream", allow_remote)
        require_loopback(self.listen_host, self.listen_port, "listen", allow_remote)
        if self.upstream_port == 0:
            raise UsageError(f"upstream {upstream!r}: needs a port")
        self.name = name
        self.check_upstream = check_upstream
        self.stats = ProxyStats()
        self.mode: DownMode | None = None
        self._seeds = random.Random(seed)
        self._toxics: dict[str, tuple[ToxicSpec, ...]] = {"upstream": (), "downstream": ()}
        self._names = itertools.count(1)
        self._links: set[_Link] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        self._server: asyncio.Server | None = None
        self._lt: LoopThread | None = None

    # ------------------------------------------------------------------ life cycle

    @property
    def port(self) -> int:
        return self.listen_port

    @property
    def address(self) -> str:
        h = self.listen_host
        return f"[{h}]:{self.port}" if ":" in h else f"{h}:{self.port}"

    def start(self) -> Proxy:
        if self._lt is not None:
            return self
        if self.check_upstream:
            self._probe_upstream()
        self._lt = LoopThread(f"perfgate-proxy-{self.name}")
        try:
            self._lt.call(self._listen())
        except BaseException:
            self._lt.close()
            self._lt = None
            raise
        return self

    def _probe_upstream(self) -> None:
        try:
            with socket.create_connection((self.upstream_host, self.upstream_port),
                                          timeout=_CONNECT_TIMEOUT_S):
                pass
        except OSError as exc:
            raise FaultError(
                f"upstream {self.upstream_host}:{self.upstream_port}: cannot connect "
                f"({exc.strerror or exc}); start the dependency first, or pass "
                "check_upstream=False (CLI: --no-check-upstream)"
            ) from None

    async def _listen(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._accept, self.listen_host, self.listen_port, reuse_address=True)
        except OSError as exc:
            raise FaultError(f"listen {self.listen_host}:{self.listen_port}: "
                             f"{exc.strerror or exc}") from None
        if self.listen_port == 0:
            self.listen_port = int(self._server.sockets[0].getsockname()[1])

    def _accept(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        # synchronous, so that every accepted socket is known (and closed by stop()) even
        # if the proxy stops before the connection's task has run
        self._writers.add(w)
        task = asyncio.ensure_future(self._handle(r, w))
        self._tasks.add(task)  # a reference, so the task is not collected mid-run
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.stats.accepted += 1
        self.stats.active += 1
        link = _Link(self, r, w, self._seeds.getrandbits(32))
        self._links.add(link)
        try:
            await link.run()
        except asyncio.CancelledError:
            pass  # the proxy is stopping; the top of this connection's task ends quietly
        finally:
            self._links.discard(link)
            self._writers.discard(w)
            self.stats.active -= 1

    def stop(self) -> None:
        """Close the listener and every connection; bounded in time, never raises."""
        lt, self._lt = self._lt, None
        if lt is None:
            return

        def close_all() -> None:
            for link in list(self._links):
                link.close(reset=False, abort=True)
            for w in list(self._writers):
                w.transport.abort()

        shut_down(lt, self._server, close_all)

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Any) -> Any:
        if self._lt is None or not self._lt.alive:
            coro.close()
            raise FaultError(f"proxy {self.name}: not running (call start() first)")
        return self._lt.call(coro)

    # ------------------------------------------------------------------ toxics

    def toxics(self, direction: str | None = None) -> tuple[ToxicSpec, ...]:
        """The current toxics (of one direction, or both)."""
        if direction is not None:
            return self._toxics[direction]
        return self._toxics["upstream"] + self._toxics["downstream"]

    def add(self, spec: str | ToxicSpec | None = None, /, *, direction: str = "downstream",
            toxicity: Any = 1.0, name: str | None = None, **params: Any) -> ToxicSpec:
        """Add a toxic now: ``add("latency=200ms,jitter=5ms")``, ``add(latency="200ms")``,
        ``add("reset_peer", after=0)``. Returns its spec (its ``name`` removes it)."""
        t = self._spec(spec, direction, toxicity, name, params)
        if any(x.name == t.name for x in self.toxics()):
            raise UsageError(f"proxy {self.name}: a toxic named {t.name!r} exists already "
                             "(give name=… or update it)")
        self._toxics[t.direction] = (*self._toxics[t.direction], t)
        return t

    def _spec(self, spec: str | ToxicSpec | None, direction: str, toxicity: Any,
              name: str | None, params: dict[str, Any]) -> ToxicSpec:
        if isinstance(spec, ToxicSpec):
            return spec
        if isinstance(spec, str) and ("=" in spec or "," in spec):
            t = parse_toxic(spec, where=f"proxy {self.name} toxic")
            return t if name is None else ToxicSpec(name, t.kind, t.params, t.direction,
                                                     t.toxicity)
        kind = spec
        if kind is None:
            kinds = [k for k in params if k in KINDS]
            if len(kinds) != 1:
                raise UsageError(f"proxy {self.name}: name one toxic kind, e.g. "
                                 f"toxic(latency='200ms'); known: {', '.join(KINDS)}")
            kind = kinds[0]
            params = dict(params)
            params[KINDS[kind][0]] = params.pop(kind)
        auto = name or (kind if not any(x.name == kind for x in self.toxics())
                        else f"{kind}-{next(self._names)}")
        return make_toxic(kind, params, name=auto, direction=direction, toxicity=toxicity,
                          where=f"proxy {self.name} toxic {kind!r}")

    def update(self, name: str, **params: Any) -> ToxicSpec:
        """Change a toxic's parameters (or toxicity) while traffic flows."""
        for d, specs in self._toxics.items():
            for i, t in enumerate(specs):
                if t.name == name:
                    new = bump(t, params, f"proxy {self.name} toxic {name!r}")
                    self._toxics[d] = (*specs[:i], new, *specs[i + 1:])
                    return new
        raise UsageError(f"proxy {self.name}: no toxic named {name!r} "
                         f"(present: {', '.join(t.name for t in self.toxics()) or 'none'})")

    def remove(self, name: str) -> None:
        """Remove a toxic (no error if it is already gone)."""
        for d, specs in self._toxics.items():
            self._toxics[d] = tuple(t for t in specs if t.name != name)

    def clear(self) -> None:
        self._toxics = {"upstream": (), "downstream": ()}

    def toxic(self, spec: str | ToxicSpec | None = None, /, *, direction: str = "downstream",
              toxicity: Any = 1.0, name: str | None = None, **params: Any) -> Switch:
        """A toxic as a context manager (and a fault for schedules): added on entry,
        removed on exit. Validated now, so a typo fails before any traffic."""
        t = self._spec(spec, direction, toxicity, name, params)
        if t.name == t.kind or t.name.startswith(f"{t.kind}-"):  # named by default: make it
            t = replace(t, name=f"{t.kind}-{next(self._names)}")  # unique, so that several
        label = f"{self.name}: {t.describe()}"  # switches of one kind can be on at once
        return Switch(label, lambda: self.add(t), lambda: self.remove(t.name))

    # ------------------------------------------------------------------ down / up

    def down(self, mode: DownMode = "refuse") -> Switch:
        """The dependency unreachable, as a context manager (``disable``/``enable`` do it
        at once): ``refuse`` — connections refused, open ones reset; ``blackhole`` —
        accepted but nothing forwarded, open ones go silent."""
        if mode not in ("refuse", "blackhole"):
            raise UsageError(f"proxy {self.name}: down mode must be refuse or blackhole, "
                             f"got {mode!r}")
        return Switch(f"{self.name}: down ({mode})", lambda: self.disable(mode), self.enable)

    def disable(self, mode: DownMode = "refuse") -> None:
        self._call(self._disable(mode))

    async def _disable(self, mode: DownMode) -> None:
        self.mode = mode
        if mode == "refuse":
            if self._server is not None:
                self._server.close()
                self._server = None
            for link in list(self._links):
                link.close(reset=True)
        else:
            for link in list(self._links):
                link.blackholed = True

    def enable(self) -> None:
        self._call(self._enable())

    async def _enable(self) -> None:
        was, self.mode = self.mode, None
        if was == "refuse" and self._server is None:
            await self._listen()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Shorthand for ``with proxy.down("blackhole")``."""
        with self.down("blackhole"):
            yield
