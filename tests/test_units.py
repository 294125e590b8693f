from __future__ import annotations

import pytest

from perfgate.units import format_value, parse_duration, parse_unit


@pytest.mark.parametrize(
    ("suffix", "mult", "unit"),
    [
        ("ms", 1e-3, "s"), ("us", 1e-6, "s"), ("µs", 1e-6, "s"), ("ns", 1e-9, "s"),
        ("min", 60.0, "s"), ("MB", 1e6, "B"), ("KiB", 1024.0, "B"), ("%", 0.01, "1"),
        ("k", 1e3, "1"), ("/s", 1.0, "1/s"), ("MB/h", 1e6 / 3600, "B/s"), ("k/s", 1e3, "1/s"),
    ],
)
def test_parse_unit(suffix: str, mult: float, unit: str) -> None:
    got = parse_unit(suffix)
    assert got is not None
    assert got[0] == pytest.approx(mult)
    assert got[1] == unit


@pytest.mark.parametrize("bad", ["parsecs", "/fortnight", "ms/s/s", "MB/"])
def test_parse_unit_rejects(bad: str) -> None:
    assert parse_unit(bad) is None


def test_parse_duration() -> None:
    assert parse_duration("30s") == 30
    assert parse_duration("250ms") == pytest.approx(0.25)
    assert parse_duration("2min") == 120
    assert parse_duration("1.5") == 1.5
    for bad in ("", "fast", "10MB", "-1s"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_format_value() -> None:
    assert format_value(0.0003, "s") == "300 µs"
    assert format_value(1.5e-9, "s") == "1.5 ns"
    assert format_value(2_000_000, "B") == "2 MB"
    assert format_value(1000, "1") == "1,000"
    assert format_value(12_500, "1/s") == "12.5 k/s"
    assert format_value(None, "s") == "-"
    assert format_value(3.0, "O") == "O(n log n)"  # complexity verdicts hold class ranks
