"""The fault proxy against a real echo server: each toxic's effect on real sockets."""

from __future__ import annotations

import socket
import time

import pytest
from fault_servers import EchoServer, connect, recv_all, recv_exactly, round_trip

from perfgate import FaultError, UsageError
from perfgate.faults import Proxy

# Lower bounds only: a busy machine makes things slower, never faster.


def test_no_toxic_forwards_both_ways(proxy: Proxy, echo: EchoServer) -> None:
    with connect(proxy.port) as c:
        payload = bytes(range(256)) * 400
        c.sendall(payload)
        assert recv_exactly(c, len(payload)) == payload
    assert proxy.stats.bytes_up == len(payload) and proxy.stats.accepted == 1


def test_latency_is_added_per_response_and_removed_with_the_toxic(proxy: Proxy) -> None:
    with connect(proxy.port) as c:
        with proxy.toxic(latency="40ms"):
            assert round_trip(c) >= 0.040
            big = b"x" * 300_000  # many chunks: delayed once, not once per chunk
            t = time.perf_counter()
            c.sendall(big)
            assert recv_exactly(c, len(big)) == big
            assert time.perf_counter() - t >= 0.040
        assert proxy.toxics() == ()
        fast = min(round_trip(c) for _ in range(5))
    assert fast < 0.040


def test_upstream_latency_and_both_directions_add_up(proxy: Proxy) -> None:
    with connect(proxy.port) as c, proxy.toxic(latency="20ms", direction="upstream"), \
            proxy.toxic(latency="20ms"):
        assert round_trip(c) >= 0.040


def test_toxics_change_while_traffic_flows(proxy: Proxy) -> None:
    with connect(proxy.port) as c:
        t = proxy.add(latency="30ms", name="slow")
        assert round_trip(c) >= 0.030
        proxy.update("slow", latency="60ms")
        assert round_trip(c) >= 0.060
        proxy.remove(t.name)
        assert min(round_trip(c) for _ in range(5)) < 0.030
    with pytest.raises(UsageError, match="no toxic named 'gone'"):
        proxy.update("gone", latency="1ms")
    proxy.add(latency="1ms", name="dup")
    with pytest.raises(UsageError, match="exists already"):
        proxy.add(latency="1ms", name="dup")


def test_bandwidth_limits_throughput(proxy: Proxy) -> None:
    with connect(proxy.port) as c, proxy.toxic(bandwidth="200kB/s"):
        data = b"b" * 20_000
        t = time.perf_counter()
        c.sendall(data)
        assert recv_exactly(c, len(data)) == data
        assert time.perf_counter() - t >= 0.09  # 20 kB at 200 kB/s = 100 ms


def test_slicer_keeps_the_bytes_intact(proxy: Proxy) -> None:
    with connect(proxy.port) as c, proxy.toxic("slicer", size=7, variation=3, delay="1ms"):
        data = bytes(range(200))
        c.sendall(data)
        assert recv_exactly(c, len(data)) == data


def test_limit_data_closes_after_the_limit(proxy: Proxy) -> None:
    with proxy.toxic(limit_data=40), connect(proxy.port) as c:
        c.sendall(b"q" * 100)
        assert recv_all(c) == b"q" * 40


def test_reset_peer_at_once(proxy: Proxy) -> None:
    with proxy.toxic("reset_peer", after=0), connect(proxy.port) as c:
        c.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            recv_all(c)
    assert proxy.stats.resets == 1


def test_reset_peer_after_n_bytes(proxy: Proxy) -> None:
    with proxy.toxic("reset_peer", after=5), connect(proxy.port) as c:
        c.sendall(b"abc")
        assert recv_exactly(c, 3) == b"abc"  # under the limit: passes
        c.sendall(b"defgh")
        got = b""
        with pytest.raises(ConnectionResetError):
            got += recv_all(c)
        assert len(got) <= 2


def test_timeout_holds_data_then_closes(proxy: Proxy) -> None:
    with proxy.toxic(timeout="50ms"), connect(proxy.port) as c:
        t = time.perf_counter()
        c.sendall(b"anyone?")
        assert recv_all(c) == b""  # nothing came back; closed by the toxic
        assert time.perf_counter() - t >= 0.05


def test_timeout_zero_never_answers(proxy: Proxy) -> None:
    with proxy.toxic(timeout=0), connect(proxy.port, timeout=0.2) as c:
        c.sendall(b"anyone?")
        with pytest.raises(TimeoutError):
            c.recv(10)


def test_slow_close_delays_the_close(proxy: Proxy) -> None:
    with proxy.toxic(slow_close="60ms"), connect(proxy.port) as c:
        t = time.perf_counter()
        c.sendall(b"quit")  # the echo server closes its side
        assert recv_all(c) == b""
        assert time.perf_counter() - t >= 0.06


def test_toxicity_hits_a_seeded_share_of_connections(echo: EchoServer) -> None:
    def truncated(seed: int) -> list[bool]:
        with Proxy(f"127.0.0.1:{echo.port}", seed=seed) as p, \
                p.toxic(limit_data=1, toxicity=0.5):
            out = []
            for _ in range(40):
                with connect(p.port) as c:
                    c.sendall(b"abc")
                    got = recv_exactly(c, 3)
                    out.append(got == b"a")
            return out

    first = truncated(3)
    assert 8 < sum(first) < 32
    assert truncated(3) == first


def _send_and_read(c: socket.socket) -> bytes:
    c.sendall(b"x")
    return recv_all(c)


def test_down_refuses_and_resets_then_up_restores(proxy: Proxy) -> None:
    c = connect(proxy.port)
    round_trip(c)
    with proxy.down():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            _send_and_read(c)
    c.close()
    with connect(proxy.port) as c2:
        round_trip(c2)


def test_blackhole_accepts_but_forwards_nothing(proxy: Proxy, echo: EchoServer) -> None:
    old = connect(proxy.port, timeout=0.2)
    round_trip(old)
    with proxy.down("blackhole"):
        with connect(proxy.port, timeout=0.2) as c:
            c.sendall(b"lost")
            with pytest.raises(TimeoutError):
                c.recv(10)
        old.sendall(b"lost too")
        with pytest.raises(TimeoutError):
            old.recv(10)
    old.close()
    with connect(proxy.port) as c:
        round_trip(c)


def test_errors_name_the_place(echo: EchoServer) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(FaultError, match=rf"upstream 127.0.0.1:{port}: cannot connect"):
        Proxy(f"127.0.0.1:{port}").start()
    with Proxy(f"127.0.0.1:{echo.port}") as p, \
            pytest.raises(FaultError, match=rf"listen 127.0.0.1:{p.port}: .*in use"):
        Proxy(f"127.0.0.1:{echo.port}", listen=f"127.0.0.1:{p.port}").start()
    with pytest.raises(UsageError, match="not a loopback address"):
        Proxy("192.0.2.1:5432")
    with pytest.raises(UsageError, match="expected HOST:PORT"):
        Proxy("localhost:pg")
    with pytest.raises(UsageError, match="unknown toxic 'latncy'"):
        Proxy(f"127.0.0.1:{echo.port}").toxic("latncy", latency="1s")
    p2 = Proxy(f"127.0.0.1:{echo.port}")
    with pytest.raises(FaultError, match="not running"):
        p2.disable()


def test_an_upstream_that_dies_closes_the_client(echo: EchoServer) -> None:
    with Proxy(f"127.0.0.1:{echo.port}") as p:
        echo.close()
        with connect(p.port) as c:
            c.sendall(b"x")
            assert recv_all(c) == b""
        assert p.stats.upstream_failures == 1


def test_switches_of_one_kind_stack_and_the_proxy_times_itself(proxy: Proxy) -> None:
    up = proxy.toxic(latency="20ms", direction="upstream")
    down = proxy.toxic(latency="20ms")
    with connect(proxy.port) as c, up, down:
        assert len(proxy.toxics()) == 2
        assert round_trip(c) >= 0.040
    late = proxy.stats.lateness()
    assert late["n"] >= 2 and 0 <= late["p50"] <= late["max"]
