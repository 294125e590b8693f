"""Units: parsing values such as ``300ms``, ``1MB``, ``1%``, ``10MB/h`` and formatting them.

Metrics are stored in SI base units: seconds (``s``), bytes (``B``), dimensionless (``1``),
and rates per second (``1/s``, ``B/s``). Byte prefixes are decimal (``1MB`` = 10**6 B);
binary prefixes are spelled ``KiB``, ``MiB``, ``GiB``.
"""

from __future__ import annotations

import math

__all__ = ["COMPLEXITY_CLASSES", "format_value", "parse_duration", "parse_unit"]

# Big-O classes in increasing order; a complexity verdict's value and limit (unit "O") are
# ranks in this tuple.
COMPLEXITY_CLASSES = ("O(1)", "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(n^3)", "O(2^n)")

_TIME = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
         "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_BYTES = {"B": 1.0, "KB": 1e3, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
          "KiB": 1024.0, "MiB": 1024.0**2, "GiB": 1024.0**3, "TiB": 1024.0**4}
_COUNT = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6}
_PER = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}



def parse_unit(suffix: str) -> tuple[float, str] | None:
    """Return (multiplier, base unit) for a unit suffix, or None when unknown.

    ``%`` yields (0.01, "1"): percentages are fractions. Rates are ``UNIT/PER``.
    """
    if suffix == "%":
        return 0.01, "1"
    if "/" in suffix:
        num, _, per = suffix.partition("/")
        if per not in _PER:
            return None
        inner = parse_unit(num) if num else (1.0, "1")
        if inner is None or inner[1] == "1/s" or "/" in inner[1]:
            return None
        mult, unit = inner
        return mult / _PER[per], f"{unit}/s" if unit != "1" else "1/s"
    if suffix in _TIME:
        return _TIME[suffix], "s"
    if suffix in _BYTES:
        return _BYTES[suffix], "B"
    if suffix in _COUNT:
        return _COUNT[suffix], "1"
    return None


def parse_duration(text: str) -> float:
    """Parse ``"30s"``, ``"1.5min"``, ``"200ms"`` (or a bare number of seconds)."""
    s = text.strip()
    i = len(s)
    while i > 0 and not (s[i - 1].isdigit() or s[i - 1] == "."):
        i -= 1
    number, suffix = s[:i], s[i:].strip() or "s"
    spec = parse_unit(suffix)
    if not number or spec is None or spec[1] != "s":
        raise ValueError(f"not a duration: {text!r} (examples: 500ms, 30s, 2min)")
    value = float(number) * spec[0]
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a duration: {text!r}")
    return value


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    # three significant figures, never scientific notation for ordinary magnitudes
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def format_value(value: float | None, unit: str) -> str:
    """Human form of a value in base units: ``0.0003`` s → ``300 µs``."""
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    a = abs(value)
    if unit == "O" and float(value).is_integer() and 0 <= value < len(COMPLEXITY_CLASSES):
        return COMPLEXITY_CLASSES[int(value)]
    if unit == "s":
        for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
            if a >= scale or scale == 1e-9:
                return f"{_fmt(value / scale)} {name}"
    if unit == "B":
        for scale, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B")):
            if a >= scale or scale == 1.0:
                return f"{_fmt(value / scale)} {name}"
    if unit == "%":
        return f"{_fmt(value * 100)} %"
    if unit in ("1/s", "B/s"):
        base = "/s" if unit == "1/s" else "B/s"
        for scale, name in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")):
            if a >= scale or scale == 1.0:
                return f"{_fmt(value / scale)} {name}{base}"
    if unit == "1":
        if float(value).is_integer():
            return f"{int(value):,}"
        return _fmt(value)
    return f"{_fmt(value)} {unit}"
