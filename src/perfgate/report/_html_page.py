"""Plumbing shared by the HTML renderers: templates, plot registry, safe JSON, decimation.

Nothing here computes statistics: helpers only format numbers and thin long data for
drawing (decimation keeps extremes, so a spike in a series still shows).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from perfgate.model import Metric
from perfgate.units import format_value

__all__ = [
    "MAX_PLOT_POINTS",
    "STATUS_ORDER",
    "Page",
    "axis",
    "ci_text",
    "decimate_series",
    "display_scale",
    "fmt",
    "hover",
    "json_for_script",
    "linear_axis",
    "log_axis",
    "metric_text",
    "num",
    "plotly_js",
    "thin_samples",
]

MAX_PLOT_POINTS = 2_000  # per trace: enough for the eye, small enough for the file
STATUS_ORDER = {"error": 0, "fail": 1, "regression": 1, "inconclusive": 2, "warn": 3,
                "improvement": 4, "pass": 5, "unchanged": 5}

# Unit → plotly axis settings. SI exponents turn 0.0003 s into "300µs" on the axis.
_AXIS_UNITS = {"s": "s", "B": "B", "1/s": "/s", "B/s": "B/s"}

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def num(x: Any) -> float | None:
    """A finite float, or None for anything else (JSON null, NaN, a string)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf; plotly reads null as a gap."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def json_for_script(obj: Any) -> Markup:
    """JSON that is safe inside ``<script>``: it can never close the tag or open a comment.

    ``<``, ``>`` and ``&`` become ``\\u003c``-style escapes (still the same JSON string),
    and U+2028/U+2029 are escaped for old JavaScript parsers.
    """
    text = json.dumps(_finite(obj), allow_nan=False, separators=(",", ":"), default=str)
    return Markup(_JSON_ESCAPE_RE.sub(lambda m: _JSON_ESCAPES[m.group()], text))


@functools.cache
def plotly_js() -> Markup:
    """The plotly.js bundle shipped inside the ``plotly`` package, made safe to inline."""
    text = resources.files("plotly").joinpath("package_data/plotly.min.js").read_text("utf-8")
    # Inside script data only "</script" and "<!--" are special; in valid JS they can occur
    # only in strings, regexes or comments, where "<\/" and "\x3C!--" mean the same thing.
    text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
    return Markup(text.replace("<!--", "\\x3C!--"))


def fmt(value: Any, unit: str = "1") -> str:
    """A value in base units for a person: ``0.0003, "s"`` → ``300 µs``; None → ``–``."""
    v = num(value)
    if v is None:
        return "–"
    if unit == "1/s":
        return format_value(v, unit).replace(" /s", "/s")
    return format_value(v, unit)


def ci_text(lo: Any, hi: Any, unit: str) -> str:
    """``[3.78 ms – 3.81 ms]`` or an empty string when the interval is unknown."""
    if num(lo) is None or num(hi) is None:
        return ""
    return f"[{fmt(lo, unit)} – {fmt(hi, unit)}]"


def metric_text(m: Metric | None) -> str:
    """The headline of a metric: its central value, with the CI when it has one."""
    if m is None:
        return "–"
    if m.kind == "series":
        return f"{len(m.points or ())} points"
    ci = ci_text(m.ci_low, m.ci_high, m.unit)
    return f"{fmt(m.central, m.unit)} {ci}".strip()


def thin_samples(samples: Sequence[float], limit: int = MAX_PLOT_POINTS) -> list[float]:
    """At most ``limit`` samples, evenly spaced in sorted order (min and max kept).

    The thinned set has the same quantiles as the original up to 1/limit, so a box or
    strip plot drawn from it looks the same.
    """
    values = sorted(x for x in samples if num(x) is not None)
    if len(values) <= limit:
        return values
    step = (len(values) - 1) / (limit - 1)
    return [values[round(i * step)] for i in range(limit)]


def decimate_series(
    points: Sequence[tuple[float, float]], limit: int = MAX_PLOT_POINTS
) -> list[tuple[float, float]]:
    """Min/max decimation: per bucket keep its lowest and highest point, in time order."""
    if len(points) <= limit:
        return list(points)
    buckets = max(1, limit // 2)
    size = len(points) / buckets
    out: list[tuple[float, float]] = []
    for b in range(buckets):
        chunk = points[int(b * size): int((b + 1) * size)]
        if not chunk:
            continue
        lo = min(chunk, key=lambda p: p[1])
        hi = max(chunk, key=lambda p: p[1])
        out.extend(sorted({lo, hi}, key=lambda p: p[0]))
    return out


def axis(unit: str, *, log: bool = False, title: str = "") -> dict[str, Any]:
    """Plotly axis settings for values in a perfgate base unit."""
    a: dict[str, Any] = {"title": {"text": title}, "zeroline": False}
    if unit in _AXIS_UNITS:
        a.update(ticksuffix=_AXIS_UNITS[unit], exponentformat="SI")
    if unit == "%":
        a.update(tickformat=".1%")
    if log:
        a["type"] = "log"
    return a


_SCALES: dict[str, tuple[tuple[float, str], ...]] = {
    "s": ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")),
    "B": ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B")),
    "1/s": ((1e6, "M/s"), (1e3, "k/s"), (1.0, "/s")),
    "B/s": ((1e9, "GB/s"), (1e6, "MB/s"), (1e3, "kB/s"), (1.0, "B/s")),
}


def display_scale(unit: str, values: Iterable[float | None]) -> tuple[float, str]:
    """(divisor, unit name) that shows the largest value in a readable unit: ms, kB …

    Plotted values are divided by it, so axes read ``12 ms`` rather than ``0.012s``.
    """
    scales = _SCALES.get(unit)
    if not scales:
        return 1.0, "" if unit == "1" else unit
    top = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    return next(((f, name) for f, name in scales if top >= f), scales[-1])


def linear_axis(unit: str, values: Iterable[float | None], *, title: str = ""
                ) -> tuple[dict[str, Any], float, str]:
    """A linear axis in a readable unit: (axis settings, divisor for the data, unit name)."""
    factor, name = display_scale(unit, values)
    a: dict[str, Any] = {"title": {"text": title}, "zeroline": False}
    if name:
        a["ticksuffix"] = name if name.startswith("/") else f" {name}"
    return a, factor, name


def log_axis(unit: str, values: Iterable[float | None], *, title: str = "") -> dict[str, Any]:
    """A log axis with 1-2-5 ticks labelled like the tables (``300 µs``, ``1 ms``).

    plotly's own labels on log axes mix forms (``100µ``, ``0.001``); explicit ticks over
    the data's range keep one style.
    """
    a = axis(unit, log=True, title=title)
    vals = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not vals:
        return a
    lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    mantissas = (1, 2, 5) if hi - lo <= 2 else (1,)
    ticks = [m * 10.0**e for e in range(lo, hi + 1) for m in mantissas]
    a.pop("ticksuffix", None)
    a.pop("exponentformat", None)
    a.update(tickvals=ticks, ticktext=[fmt(t, unit) for t in ticks])
    return a


def hover(axis_letter: str, unit: str) -> str:
    """A hover template showing a value with its unit, SI-scaled (``3.80ms``)."""
    suffix = _AXIS_UNITS.get(unit, "")
    spec = ".3s" if suffix else ".4g"
    return f"%{{{axis_letter}:{spec}}}{suffix}"


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("perfgate.report", "templates"),
        autoescape=True,  # every string from a result is text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["metric_text"] = metric_text
    env.globals["ci_text"] = ci_text
    return env


class Page:
    """One report being built: renders section templates and collects their plots.

    Plots are registered here and embedded once, as one JSON document, at the end of the
    page; each renderer only places an empty ``<div>`` where its plot goes.
    """

    def __init__(self) -> None:
        self.plots: list[dict[str, Any]] = []

    def render(self, template: str, **context: Any) -> Markup:
        return Markup(_env().get_template(template).render(page=self, **context))

    def plot(
        self,
        data: Iterable[Mapping[str, Any]],
        layout: Mapping[str, Any],
        *,
        height: int = 300,
        label: str = "",
    ) -> Markup:
        """Register a plotly figure; return the ``<div>`` that the page script fills."""
        pid = f"pg-plot-{len(self.plots)}"
        self.plots.append({"id": pid, "data": list(data), "layout": dict(layout)})
        return Markup(
            '<div class="plot" id="{}" style="height:{}px" role="img" aria-label="{}"></div>'
        ).format(pid, int(height), label)
