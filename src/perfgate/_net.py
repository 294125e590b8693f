"""The one loopback rule: where perfgate may send traffic.

Load, soak, fault and capacity tests send traffic only to this machine unless the user
allows otherwise. The decision is made on *resolved addresses*, not on names: a name that is
loopback by convention can resolve anywhere through DNS or /etc/hosts. Every address a host
resolves to must be loopback (127.0.0.0/8, ::1), and connections are made to the address that
was checked (never resolved a second time), in every process that connects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl as _ssl
from collections.abc import Callable
from typing import Any, TypeVar

from perfgate._errors import UsageError

__all__ = ["connect", "is_loopback", "is_loopback_literal", "resolve"]

P = TypeVar("P", bound=asyncio.BaseProtocol)


def is_loopback_literal(host: str) -> bool:
    """True for a literal loopback address (127.0.0.0/8, ::1); names are not trusted here."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve(host: str, port: int, *, allow_remote: bool = False) -> list[str]:
    """The addresses ``host`` resolves to. Without ``allow_remote`` every one must be
    loopback, or a UsageError names the host and the address that is not."""
    h = host.strip("[]")
    try:
        infos = socket.getaddrinfo(h, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        why = "" if allow_remote else ", so it cannot be shown to be a loopback address"
        raise UsageError(f"{host}: cannot be resolved{why} ({exc})") from None
    addrs: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        a = str(sockaddr[0])
        if a not in addrs:
            addrs.append(a)
    if not addrs:
        raise UsageError(f"{host}: resolves to no address")
    if not allow_remote:
        bad = [a for a in addrs if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
        if bad:
            raise UsageError(
                f"{host} resolves to {', '.join(bad)}, which is not a loopback address; "
                "perfgate sends traffic only to 127.0.0.1/::1 unless remote targets are "
                "explicitly allowed (allow_remote=True, --allow-remote)")
    return addrs


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is loopback."""
    try:
        resolve(host, 0)
    except UsageError:
        return False
    return True


async def connect(
    loop: asyncio.AbstractEventLoop,
    factory: Callable[[], P],
    host: str,
    port: int,
    *,
    ssl: _ssl.SSLContext | None = None,
    allow_remote: bool = False,
) -> tuple[Any, P]:
    """``loop.create_connection`` to ``host`` after the loopback rule, to the checked address
    (TLS still verifies the name)."""
    if is_loopback_literal(host):  # nothing to resolve (and no thread hop per reconnect)
        addrs = [host.strip("[]")]
    else:
        addrs = await loop.run_in_executor(
            None, lambda: resolve(host, port, allow_remote=allow_remote))
    last: OSError | None = None
    for addr in addrs:
        try:
            return await loop.create_connection(
                factory, addr, port, ssl=ssl,
                server_hostname=host.strip("[]") if ssl is not None else None)
        except OSError as exc:
            last = exc
    assert last is not None
    raise last
