"""Toxics as pure functions of (chunk, arrival time): exact, no sockets, no clock."""

from __future__ import annotations

import random

import pytest

from perfgate import UsageError
from perfgate.faults._toxics import Item, LinkState, apply_toxics, make_toxic, parse_toxic


def _st(seed: int = 1) -> LinkState:
    return LinkState(random.Random(seed))


def _run(toxics: list, chunks: list[tuple[float, bytes]], seed: int = 1) -> list[Item]:
    st = _st(seed)
    out: list[Item] = []
    for t, data in chunks:
        out += apply_toxics([Item(t, "data", data)], tuple(toxics), st, t)
    return out


def test_latency_delays_each_chunk_from_its_own_arrival() -> None:
    lat = make_toxic("latency", {"latency": "200ms"})
    out = _run([lat], [(0.0, b"a"), (0.001, b"b"), (0.5, b"c")])
    assert [(round(i.t, 6), i.data) for i in out] == [(0.2, b"a"), (0.201, b"b"), (0.7, b"c")]


def test_jitter_stays_in_its_range_and_never_reorders() -> None:
    lat = make_toxic("latency", {"latency": "100ms", "jitter": "50ms"})
    chunks = [(i * 0.001, bytes([i])) for i in range(200)]
    out = _run([lat], chunks)
    ts = [i.t for i in out]
    assert ts == sorted(ts)
    delays = [o.t - c[0] for o, c in zip(out, chunks, strict=True)]
    assert min(delays) >= 0.05 - 1e-9 and max(delays) <= 0.15 + 0.2  # order may push later
    assert len({round(d, 6) for d in delays}) > 50  # it does vary


@pytest.mark.parametrize("dist", ["normal", "exponential"])
def test_latency_distributions(dist: str) -> None:
    lat = make_toxic("latency", {"latency": "100ms", "jitter": "10ms", "distribution": dist})
    st = _st()
    delays = [apply_toxics([Item(float(i), "data", b"x")], (lat,), st, float(i))[0].t - i
              for i in range(2000)]
    mean = sum(delays) / len(delays)
    assert mean == pytest.approx(0.1 if dist == "normal" else 0.11, abs=0.002)
    assert min(delays) >= 0


def test_bandwidth_spaces_bytes_by_the_rate() -> None:
    bw = make_toxic("bandwidth", {"rate": "10kB/s"})
    out = _run([bw], [(0.0, b"x" * 1000), (0.0, b"y" * 1000)])
    assert b"".join(i.data for i in out) == b"x" * 1000 + b"y" * 1000
    assert out[-1].t == pytest.approx(0.2)  # 2000 B at 10 kB/s
    assert all(len(i.data) <= 100 for i in out)  # 10 ms pieces


def test_slicer_cuts_into_delayed_pieces() -> None:
    sl = make_toxic("slicer", {"size": 10, "delay": "1ms"})
    out = _run([sl], [(0.0, b"z" * 35)])
    assert [len(i.data) for i in out] == [10, 10, 10, 5]
    assert [round(i.t, 6) for i in out] == [0.0, 0.001, 0.002, 0.003]


def test_limit_data_truncates_then_closes() -> None:
    lim = make_toxic("limit_data", {"bytes": 25})
    out = _run([lim], [(0.0, b"a" * 10), (0.1, b"b" * 10), (0.2, b"c" * 10), (0.3, b"d")])
    assert b"".join(i.data for i in out) == b"a" * 10 + b"b" * 10 + b"c" * 5
    assert out[-1].action == "close"


def test_reset_peer_at_once_and_after_n_bytes() -> None:
    now = make_toxic("reset_peer", {})
    assert [i.action for i in _run([now], [(0.0, b"hello")])] == ["reset"]
    later = make_toxic("reset_peer", {"after": "3"})
    out = _run([later], [(0.0, b"hello"), (0.1, b"more")])
    assert [(i.action, i.data) for i in out] == [("data", b"hel"), ("reset", b"")]


def test_timeout_swallows_and_closes_after_its_time() -> None:
    forever = make_toxic("timeout", {"timeout": 0})
    assert _run([forever], [(0.0, b"a"), (1.0, b"b")]) == []
    closing = make_toxic("timeout", {"timeout": "2s"})
    out = _run([closing], [(0.5, b"a"), (1.0, b"b")])
    assert [(i.t, i.action) for i in out] == [(2.5, "close")]


def test_toxicity_applies_to_a_seeded_fraction_of_connections() -> None:
    lim = make_toxic("limit_data", {"bytes": 1}, toxicity="30%")
    hit = sum(len(_run([lim], [(0.0, b"abc")], seed=s)) == 2 for s in range(1000))
    assert 250 < hit < 350
    again = sum(len(_run([lim], [(0.0, b"abc")], seed=s)) == 2 for s in range(1000))
    assert again == hit  # seeded: the same connections


def test_toxics_chain_in_order() -> None:
    lat = make_toxic("latency", {"latency": "1s"})
    sl = make_toxic("slicer", {"size": 2, "delay": "10ms"})
    out = _run([lat, sl], [(0.0, b"abcd")])
    assert [(round(i.t, 6), i.data) for i in out] == [(1.0, b"ab"), (1.01, b"cd")]


def test_parse_toxic_spec() -> None:
    t = parse_toxic("latency=200ms,jitter=10ms,direction=upstream,toxicity=0.5,name=db")
    assert (t.name, t.kind, t.direction, t.toxicity) == ("db", "latency", "upstream", 0.5)
    assert t.params["latency"] == pytest.approx(0.2) and t.params["jitter"] == pytest.approx(0.01)
    assert parse_toxic("bandwidth=1MB/s").params["rate"] == 1e6
    assert parse_toxic("limit_data=1kB").params["bytes"] == 1000
    assert parse_toxic("reset_peer").params["after"] == 0
    assert t.describe() == "latency=200ms upstream p=0.5"


@pytest.mark.parametrize(("spec", "message"), [
    ("latncy=200ms", "unknown toxic 'latncy'"),
    ("latency=fast", "latency='fast' is not a duration"),
    ("latency=-5ms", "not a duration"),
    ("latency=200ms,toxicity=1.5", "must be between 0 and 1"),
    ("latency=200ms,toxicity=lots", "is not a probability"),
    ("latency=200ms,direction=sideways", "direction must be upstream or downstream"),
    ("latency=200ms,colour=red", "latency has no parameter 'colour'"),
    ("bandwidth=fast", "is not in B/s"),
    ("bandwidth=0", "must be positive"),
    ("latency", "latency needs latency="),
    ("latency=200ms,jitter", "expected key=value"),
])
def test_bad_toxics_name_the_place(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match="--toxic") as exc:
        parse_toxic(spec)
    assert message in str(exc.value)
