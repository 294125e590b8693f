"""Addresses of a fault proxy: ``HOST:PORT``, ``[::1]:PORT`` or a bare ``PORT`` (loopback),
and the loopback rule — a proxy listens on and connects to loopback addresses only, unless
the caller allows remote ones (as ``perfgate load`` does with ``--allow-remote``)."""

from __future__ import annotations

import socket

from perfgate._errors import UsageError
from perfgate.load._http import is_loopback

__all__ = ["parse_address", "require_loopback"]


def parse_address(text: str, where: str) -> tuple[str, int]:
    """``(host, port)``; a missing host means 127.0.0.1. Port 0 picks a free one."""
    s = str(text).strip()
    if s.startswith("["):
        host, sep, port = s[1:].partition("]:")
        if not sep:
            raise UsageError(f"{where} {text!r}: expected [IPv6]:PORT")
    elif ":" in s:
        host, _, port = s.rpartition(":")
    else:
        host, port = "", s
    host = host or "127.0.0.1"
    try:
        p = int(port)
    except ValueError:
        raise UsageError(f"{where} {text!r}: expected HOST:PORT (e.g. 127.0.0.1:5432)") \
            from None
    if not 0 <= p <= 65535:
        raise UsageError(f"{where} {text!r}: port {p} is out of range")
    return host, p


def require_loopback(host: str, port: int, where: str, allow_remote: bool) -> None:
    """Refuse a host that resolves to anything but loopback (every address it resolves to)."""
    if allow_remote or is_loopback(host):
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UsageError(f"{where} {host!r}: cannot resolve it ({exc})") from None
    remote = sorted({str(i[4][0]) for i in infos if not is_loopback(str(i[4][0]))})
    if remote or not infos:
        raise UsageError(
            f"{where} {host!r} resolves to {', '.join(remote) or 'nothing'}, not a loopback "
            "address; the fault proxy stays on this machine unless allow_remote=True "
            "(CLI: --allow-remote)"
        )
