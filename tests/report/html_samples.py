"""Realistic results of every kind, built directly, for the HTML report tests."""

from __future__ import annotations

import json
import random
from html.parser import HTMLParser
from typing import Any

from perfgate.analysis.compare import CompareReport
from perfgate.analysis.stats import summarize
from perfgate.model import Environment, Metric, Result, ResultSet, Verdict

INJECTION = "</script><img src=x onerror=alert(1)>"

ENV = Environment(
    python_version="3.11.7", implementation="CPython", platform="Linux-6.1-x86_64",
    cpu_model="AMD EPYC <script>alert(2)</script>", cpu_count=2, hostname="ci-runner-7",
    started_at="2026-11-22T19:46:47+00:00", perfgate_version="0.1.0",
    git_commit="3f2a9c1d4e5b6a7980", git_branch="feature/<b>bold</b>", git_dirty=True,
)


def _lognormal(rng: random.Random, n: int, median: float, sigma: float) -> list[float]:
    return [median * rng.lognormvariate(0.0, sigma) for _ in range(n)]


def bench(name: str, median: float, *, seed: int = 1, status: str = "pass",
          limit: float = 0.05) -> Result:
    rng = random.Random(seed)
    samples = _lognormal(rng, 200, median, 0.08)
    t = summarize(samples, "s")
    verdict = Verdict(check=f"median < {limit * 1000:g}ms", status=status,  # type: ignore[arg-type]
                      value=t.median, limit=limit, unit="s",
                      evidence=f"median {t.median} (95% CI {t.ci_low} to {t.ci_high}, n=200)",
                      ci=(t.ci_low or 0.0, t.ci_high or 0.0))
    return Result(
        name=name, kind="bench", params={"rounds": 200, "iterations": 1},
        metrics={"time": t, "ops": Metric.gauge(1 / median, "1/s", ci=(0.98 / median, 1.02 / median)),
                 "alloc_bytes": Metric.gauge(48_000, "B"), "allocs": Metric.gauge(12)},
        verdicts=(verdict,),
    )


def burst() -> Result:
    return Result(
        name="swap_same_shift", kind="burst", params={"n": 10},
        metrics={"time": summarize([1e-5 * (1 + i / 10) for i in range(10)], "s"),
                 "count.ok": Metric.counter(1), "count.SwapConflict": Metric.counter(9)},
        verdicts=(Verdict("count(ok) == 1", "pass", 1, 1, "count(ok) 1 is equal to the 1 limit."),),
        extra={"examples": {"SwapConflict": "SwapConflict: already swapped <i>by bob</i>"}},
    )


def _engine_latency(samples: list[float]) -> Metric:
    """A latency metric shaped as the load engine writes it: summary from its histogram,
    percentiles and their CIs in ``extra``, no raw samples."""
    m = summarize(samples, "s", keep_samples=False)
    ordered = sorted(samples)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    pct = {f"{p:g}": q(p) for p in (25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)}
    cis = {f"p{p:g}": [q(p) * 0.97, q(p) * 1.03] for p in (50.0, 90.0, 95.0, 99.0, 99.9)}
    return Metric(**{**m.__dict__, "extra": {"percentiles": pct, "ci": cis}})


def load(points: int = 3_600) -> Result:
    """An open-model run shaped as the load engine writes it: a 1 s stall every 60 s,
    0.5 % errors in two classes, and a saturated generator."""
    rng = random.Random(7)
    latency = [rng.lognormvariate(-5.3, 0.4) + (1.0 if i % 60 == 30 else 0.0)
               for i in range(8_000)]
    service = [x * 0.8 for x in latency]
    per_s: dict[str, list[tuple[float, float]]] = {
        "series.rps": [], "series.errors": [], "series.p50": [], "series.p99": [],
        "series.inflight": [], "series.rss": []}
    for t in range(points):
        stall = t % 60 == 30
        per_s["series.rps"].append((float(t), 0.0 if stall else 200.0 + rng.uniform(-5, 5)))
        per_s["series.errors"].append((float(t), float(rng.random() < 0.2)))
        per_s["series.p50"].append((float(t), 0.005 + rng.uniform(0, 0.001)))
        per_s["series.p99"].append((float(t), 1.0 if stall else 0.012 + rng.uniform(0, 0.002)))
        per_s["series.inflight"].append((float(t), 200.0 if stall else 3.0))
        per_s["series.rss"].append((float(t), 50e6 + 1_000 * t))
    units = {"series.rps": "1/s", "series.errors": "1", "series.p50": "s", "series.p99": "s",
             "series.inflight": "1", "series.rss": "B"}
    series = {k: Metric(unit=units[k], kind="series", points=tuple(v)) for k, v in per_s.items()}
    lat = _engine_latency(latency)
    return Result(
        name="GET /checkout", kind="load",
        params={"target": "GET http://127.0.0.1:8000/checkout", "model": "open",
                "rate": 200.0, "duration": float(points), "max_vus": 200},
        metrics={
            "latency": lat, "service_time": summarize(service, "s"),
            "requests": Metric.counter(720_000), "errors": Metric.counter(3_600),
            "dropped": Metric.counter(12), "error_rate": Metric.gauge(0.005),
            "rps": Metric.gauge(199.8, "1/s"), "count.ok": Metric.counter(716_400),
            "count.http_503": Metric.counter(3_500), "count.timeout": Metric.counter(100),
            "rss_growth": Metric.gauge(1_000.0, "B/s", ci=(900.0, 1_100.0)),
            **series,
        },
        verdicts=(Verdict("p(99) < 300ms", "fail", lat.p99, 0.3,
                          f"p99 {lat.p99} s is above 300 ms", unit="s"),
                  Verdict("error_rate < 1%", "pass", 0.005, 0.01, "0.5 % is below 1 %")),
        warnings=("bounded by the generator: its CPU was 97% of a core, event-loop lag "
                  "max 40 ms; latencies may be the generator's, not the target's",),
        extra={"errors_examples": {
                   "http_503": [{"message": "HTTP 503: <html>upstream</html>", "t": 30.2}],
                   "timeout": [{"message": "TimeoutError: no response in 5 s", "t": 90.5}]},
               "generator": {"processes": 2, "cpu": {"0": 0.97, "1": 0.95},
                             "loop_lag_max": 0.04, "loop_lag_mean": 0.002,
                             "schedule_lag_max": 0.02, "schedule_lag_mean": 0.001,
                             "peak_vus": 200},
               "status_codes": {"200": 716_400, "503": 3_500},
               "co_synthetic_samples": 420, "duration": float(points)},
    )


def sweep() -> Result:
    """Shaped as the sweep engine writes it: ``by_size`` entries and a ``complexity``
    object per metric (one conclusive, one inconclusive with the sizes that would decide)."""
    sizes = [10, 100, 1_000, 10_000]
    by_size = [{"n": n, "metrics": {
        "time": {"unit": "s", "kind": "distribution", "median": 2e-7 * n * 1.05,
                 "ci_low": 2e-7 * n, "ci_high": 2e-7 * n * 1.1},
        "alloc_bytes": {"unit": "B", "kind": "gauge", "value": 40.0 * n},
        "queries": {"unit": "1", "kind": "counter", "value": n + 1}}} for n in sizes]
    return Result(
        name="import_orders", kind="sweep", params={"sizes": sizes, "mode": "argument"},
        metrics={"time": Metric(unit="s", kind="distribution", median=2.1e-3)},
        extra={"sizes": sizes, "by_size": by_size,
               "complexity": {
                   "time": {"class": "O(n)", "runner_up": "O(n log n)", "method": "wls",
                            "coefficients": {"a": 0.0, "b": 2.1e-7}, "r2": 0.998,
                            "power_law": {"k": 1.0, "ci": [0.97, 1.03], "c": 2.1e-7},
                            "evidence": "O(n) beats O(n log n) by ΔAIC 14"},
                   "alloc_bytes": {"class": "inconclusive", "runner_up": "O(n log n)",
                                   "candidates": ["O(n)", "O(n log n)"],
                                   "fitted": [40.0 * n for n in sizes],
                                   "power_law": {"k": 1.07, "ci": [1.03, 1.11], "c": 30.0},
                                   "suggested_sizes": [10, 457, 2091, 100_000],
                                   "evidence": "O(n) and O(n log n) fit about equally well"},
                   "queries": {"class": "O(n)", "runner_up": "O(1)", "method": "exact",
                               "coefficients": {"a": 1, "b": 1},
                               "evidence": "exact counts: n + 1"}},
               "n_plus_one": [{"statement": "SELECT * FROM lines WHERE order_id = ?",
                               "count": 10_000, "location": "orders.py:42"}]},
        verdicts=(Verdict("complexity(queries) == O(1)", "fail", None, None,
                          "queries grow as O(n): N+1 at orders.py:42"),),
    )


def generic() -> Result:
    return Result(name="leak_check", kind="memory",
                  metrics={"rss_growth": Metric.gauge(1.2e6, "B/s", ci=(0.9e6, 1.5e6))},
                  verdicts=(Verdict("rss_growth < 10MB/h", "inconclusive", 1.2e6, 2777.0,
                                    "CI spans the limit", unit="B/s"),))


def comparisons() -> CompareReport:
    return CompareReport.from_dict([
        {"name": "sort_orders", "metric": "time", "ratio": 0.97, "ci": [0.95, 0.99],
         "status": "unchanged", "level": "ok", "unit": "s", "base": 3.3e-4, "current": 3.2e-4},
        {"name": INJECTION, "metric": "time", "ratio": 1.12, "ci": [1.08, 1.16],
         "status": "regression", "level": "fail", "unit": "s", "base": 3.4e-3, "current": 3.8e-3,
         "evidence": "Wilcoxon p=0.001 (Holm)"},
        {"name": "async_lookup", "metric": "ops", "ratio": 1.3, "ci_low": 1.2, "ci_high": 1.4,
         "status": "improvement"},
    ])


def history() -> dict[str, Any]:
    runs = []
    for i in range(12):
        value = 3.4e-3 if i < 9 else 3.9e-3
        runs.append({"id": 12 - i, "commit": f"{i:02d}abcdef{i:02d}",
                     "time": f"2026-11-{10 + i:02d}T10:00:00+00:00",
                     "metrics": {"parse_orders": {"time": {"value": value, "unit": "s",
                                                           "ci_low": value * 0.98,
                                                           "ci_high": value * 1.02}}},
                     "regressions": ["parse_orders"] if i == 9 else []})
    return {"runs": runs[::-1]}  # newest first, as `perfgate history --json` lists them


def everything(name: str = INJECTION) -> ResultSet:
    return ResultSet(ENV, (bench("parse_orders", 3.8e-3), bench(name, 3.2e-4, seed=2),
                           burst(), load(), sweep(), generic()))


class Parsed(HTMLParser):
    """The tags, visible text and script bodies of a page, as a browser's parser sees them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._in: str | None = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag
            if tag == "script":
                self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        elif self._in is None:
            self.text.append(data)

    def by_id(self, ident: str) -> dict[str, str | None]:
        return next(a for t, a in self.tags if a.get("id") == ident)

    @property
    def plots(self) -> list[dict[str, Any]]:
        """The embedded plot specs (JSON in the page)."""
        body = next(b for a, b in self.scripts if a.get("id") == "pg-plots")
        return list(json.loads(body))

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())
