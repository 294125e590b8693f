"""The one loopback rule (issue 12.8): decided on resolved addresses, at connect time."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

import perfgate as pg
from perfgate import _net


def _resolver(table: dict[str, list[str]]) -> Any:
    real = socket.getaddrinfo

    def fake(host: str, port: Any, *args: Any, **kw: Any) -> Any:
        if host in table:  # a name whose DNS answer the test chooses
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port or 0)) for a in table[host]]
        return real(host, port, *args, **kw)

    return fake


def test_loopback_literals_and_localhost_pass() -> None:
    assert _net.resolve("127.0.0.1", 80) == ["127.0.0.1"]
    assert all(a in ("127.0.0.1", "::1") for a in _net.resolve("localhost", 80))
    assert _net.is_loopback("[::1]")


def test_a_name_that_resolves_elsewhere_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({
        "localhost.evil": ["127.0.0.1", "203.0.113.7"],  # one address off the machine
        "intranet": ["10.1.2.3"],
    }))
    with pytest.raises(pg.UsageError, match=r"203\.0\.113\.7.*not a loopback"):
        _net.resolve("localhost.evil", 80)
    assert not _net.is_loopback("intranet")
    assert _net.resolve("intranet", 80, allow_remote=True) == ["10.1.2.3"]
    with pytest.raises(pg.UsageError, match="loopback"):  # before any worker starts
        pg.load("http://intranet:8000/", vus=1, iterations=1)


def test_a_private_address_literal_is_refused() -> None:
    with pytest.raises(pg.UsageError, match="not a loopback"):
        _net.resolve("192.168.1.10", 80)


def test_connections_go_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name is resolved once, checked, and the connection made to that address: a second,
    different DNS answer cannot redirect it (no time-of-check/time-of-use gap)."""
    answers = iter([["127.0.0.1"], ["198.51.100.9"]])
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (addr, port)) for addr in next(answers)])
    seen: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        real = loop.create_connection

        async def spy(factory: Any, host: str, p: int, **kw: Any) -> Any:
            seen.append(host)
            return await real(factory, host, p, **kw)

        loop.create_connection = spy  # type: ignore[method-assign]
        transport, _ = await _net.connect(loop, asyncio.Protocol, "svc.internal", port)
        transport.close()
        server.close()

    asyncio.run(main())
    assert seen == ["127.0.0.1"]
