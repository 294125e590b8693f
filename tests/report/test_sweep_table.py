"""A sweep's per-size values (time/op, B/op, allocs/op) in the terminal and Markdown."""

from __future__ import annotations

from rich.console import Console

import perfgate as pg
from perfgate import Environment, ResultSet
from perfgate.bench import BenchOptions
from perfgate.report.markdown import results_markdown
from perfgate.report.terminal import render_results
from perfgate.units import format_value


def _make(n: int) -> list[int]:
    return list(range(n))


def _sweep() -> pg.Result:
    return pg.sweep(_make, [100, 1000, 10_000], factory=False, name="make|list",
                    options=BenchOptions(max_time=0.03, warmup=0.002, memory_calls=2))


def test_every_size_shows_time_bytes_and_allocations() -> None:
    r = _sweep()
    rs = ResultSet(environment=Environment(), results=(r,))
    console = Console(record=True, width=200)
    console.print(render_results(rs))
    text = console.export_text()
    md = results_markdown(rs)
    assert "per size" in text and "per size" in md
    for header in ("time/op", "B/op", "allocs/op"):
        assert header in text and header in md
    for point in r.extra["by_size"]:
        n, ms = point["n"], point["metrics"]
        t = format_value(ms["time"]["median"], "s")
        b = format_value(pg.Metric.from_dict(ms["alloc_bytes"]).central, "B")
        assert any(line.strip("│ ").split()[:1] == [str(n)] and t in line and b in line
                   for line in text.splitlines()), (n, t, b, text)
        assert any(line.startswith(f"| {n} |") and t in line and b in line
                   for line in md.splitlines()), (n, md)
    # Bytes per op grow with n: the table is the measurements, not the largest size thrice.
    bytes_ = [pg.Metric.from_dict(p["metrics"]["alloc_bytes"]).central
              for p in r.extra["by_size"]]
    assert bytes_[0] is not None and bytes_[2] is not None and bytes_[2] > 10 * bytes_[0]
    assert "make\\|list" in md  # a name is data in Markdown too


def test_results_without_sizes_have_no_size_table() -> None:
    r = pg.Result(name="plain", kind="bench", metrics={"time": pg.Metric.gauge(1e-6, "s")})
    rs = ResultSet(environment=Environment(), results=(r,))
    assert "per size" not in results_markdown(rs)
