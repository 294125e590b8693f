from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfgate import CheckSyntaxError, UnitError, UnknownMetricError
from perfgate.analysis.checks import (
    COMPLEXITY_CLASSES,
    apply_checks,
    evaluate,
    parse_check,
    validate_units,
)
from perfgate.analysis.stats import summarize
from perfgate.model import Metric, Result


def bench_result(samples: list[float], **metrics: Metric) -> Result:
    return Result("b", "bench", metrics={"time": summarize(samples), **metrics})


@pytest.mark.parametrize(
    ("text", "subject", "metric", "op", "limit"),
    [
        ("mean < 5ms", "stat", None, "<", 5e-3),
        ("p(95) < 300ms", "quantile", None, "<", 0.3),
        ("p(99.9, latency) <= 1s", "quantile", "latency", "<=", 1.0),
        ("median < 2us", "stat", None, "<", 2e-6),
        ("alloc_bytes <= 1MB", "metric", "alloc_bytes", "<=", 1e6),
        ("ops > 10000", "metric", "ops", ">", 1e4),
        ("ops > 10k/s", "metric", "ops", ">", 1e4),
        ("count(ok) == 1", "count", None, "==", 1),
        ("error_rate < 1%", "metric", "error_rate", "<", 0.01),
        ("rss_growth < 10MB/h", "metric", "rss_growth", "<", 1e7 / 3600),
        ("mean(time.parse) < 1 ms", "stat", "time.parse", "<", 1e-3),
        ("  p95<300ms  ", "stat", None, "<", 0.3),
    ],
)
def test_parse(text: str, subject: str, metric: str | None, op: str, limit: float) -> None:
    c = parse_check(text)
    assert (c.subject, c.metric, c.op) == (subject, metric, op)
    assert c.limit == pytest.approx(limit)


def test_parse_warn_level() -> None:
    c = parse_check("p(95) < 300ms, warn 200ms")
    assert c.warn == pytest.approx(0.2)
    assert parse_check("p(95) < 300ms warn 200ms").warn == pytest.approx(0.2)


def test_parse_complexity() -> None:
    c = parse_check("complexity <= O(n log n)")
    assert c.subject == "complexity" and COMPLEXITY_CLASSES[int(c.limit)] == "O(n log n)"
    c = parse_check("complexity(queries) == O(1)")
    assert c.metric == "queries"
    assert COMPLEXITY_CLASSES[int(parse_check("complexity < O(n²)").limit)] == "O(n^2)"


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "empty"),
        ("mean 5ms", 5, "expected a comparison"),
        ("mean < ", 7, "expected a number"),
        ("mean < 5parsecs", 8, "unknown unit"),
        ("p(150) < 1s", 2, "between 0 and 100"),
        ("p(95 < 1s", 5, "expected ')'"),
        ("mean < 5ms warn 6ms", 16, "stricter"),
        ("mean < 5ms fail 6ms", 11, "only 'warn LIMIT'"),
        ("complexity <= O(n^4)", 15, "unknown complexity class"),
        ("count(ok) == 1 warn 2", 15, "needs <"),
        ("mean < 5ms warn 4MB", 16, "does not match"),
    ],
)
def test_malformed_checks_say_where(text: str, position: int, reason: str) -> None:
    with pytest.raises(CheckSyntaxError) as info:
        parse_check(text)
    assert info.value.position == position, str(info.value)
    assert reason in str(info.value)
    assert "^" in str(info.value)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_any_string_is_a_check_or_a_parse_error(text: str) -> None:
    try:
        parse_check(text)
    except CheckSyntaxError as exc:
        assert 0 <= exc.position <= len(text)


_pieces = st.sampled_from(
    ["p(", "95", ")", "<", "<=", "==", " ", "ms", "MB", "%", "warn", ",", "count(", "ok",
     "mean", "O(", "n", "log", "complexity", "1e5", ".", "-", "/s", "time.parse", "(", "µs"]
)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(st.lists(_pieces, max_size=10).map("".join))
def test_near_miss_strings_never_escape_as_other_errors(text: str) -> None:
    try:
        parse_check(text)
    except CheckSyntaxError:
        pass


def test_pass_fail_on_tight_data() -> None:
    r = bench_result([1e-3 + i * 1e-7 for i in range(50)])
    assert evaluate(parse_check("median < 2ms"), r).status == "pass"
    assert evaluate(parse_check("median < 0.5ms"), r).status == "fail"
    assert evaluate(parse_check("median > 0.5ms"), r).status == "pass"


def test_inconclusive_when_the_ci_straddles_the_limit() -> None:
    r = bench_result([0.9e-3, 1.1e-3] * 20)  # median 1 ms, wide CI
    v = evaluate(parse_check("median < 1.05ms"), r)
    assert v.status == "inconclusive"
    assert "straddles" in v.evidence
    assert v.ci is not None and v.ci[0] < 1.05e-3 < v.ci[1]


def test_warn_level() -> None:
    r = bench_result([3e-3] * 30)
    v = evaluate(parse_check("median < 5ms warn 2ms"), r)
    assert v.status == "warn"
    assert v.warn_limit == pytest.approx(2e-3)
    assert evaluate(parse_check("median < 5ms warn 4ms"), r).status == "pass"


def test_percentile_and_mean_use_samples() -> None:
    samples = [float(i) * 1e-3 for i in range(1, 101)]
    r = bench_result(samples)
    v = evaluate(parse_check("p(95) < 200ms"), r)
    assert v.status == "pass" and v.value == pytest.approx(0.09505)
    v = evaluate(parse_check("p(99.9) < 200ms"), r)
    assert v.value == pytest.approx(0.0999, rel=1e-2)
    v = evaluate(parse_check("mean < 49ms"), r)
    assert v.status == "inconclusive"  # mean 50.5 ms ± ~5.8 ms


def test_counts_and_gauges() -> None:
    r = Result("x", "burst", metrics={"count.ok": Metric.counter(1),
                                      "count.ValueError": Metric.counter(9)})
    assert evaluate(parse_check("count(ok) == 1"), r).status == "pass"
    assert evaluate(parse_check("count(ValueError) == 9"), r).status == "pass"
    assert evaluate(parse_check("count(TimeoutError) == 0"), r).status == "pass"
    g = Result("g", "load", metrics={"error_rate": Metric.gauge(0.02)})
    v = evaluate(parse_check("error_rate < 1%"), g)
    assert v.status == "fail"
    assert v.value == pytest.approx(0.02)  # fractions are stored as fractions …
    assert "error_rate 2 % is not below the 1 % limit" in v.evidence  # … and shown as written


def test_gauge_ci_makes_inconclusive() -> None:
    r = Result("g", "bench", metrics={"ops": Metric.gauge(1000.0, "1/s", (900.0, 1100.0))})
    assert evaluate(parse_check("ops > 950"), r).status == "inconclusive"
    assert evaluate(parse_check("ops > 800"), r).status == "pass"


def test_unknown_metric_names_the_place() -> None:
    r = bench_result([1e-3] * 5)
    with pytest.raises(UnknownMetricError, match="'latency' in result 'b'"):
        evaluate(parse_check("latency < 1s"), r)


def test_units_must_fit() -> None:
    r = bench_result([1e-3] * 5, alloc_bytes=Metric.gauge(10.0, "B"))
    with pytest.raises(UnitError, match="write e.g. 5ms"):
        evaluate(parse_check("median < 5"), r)
    with pytest.raises(UnitError):
        evaluate(parse_check("alloc_bytes < 5ms"), r)
    with pytest.raises(UnitError):
        validate_units(parse_check("time < 3MB"), "bench")
    validate_units(parse_check("custom_metric < 3MB"), "bench")  # unknown until run


def test_complexity_verdicts() -> None:
    r = Result("s", "sweep", extra={"complexity": {
        "time": {"class": "O(n)", "evidence": "R²=0.99"},
        "queries": {"class": "inconclusive"},
        "allocs": {"class": "inconclusive", "candidates": ["O(n)", "O(n log n)"]},
    }})
    assert evaluate(parse_check("complexity(allocs) <= O(n^2)"), r).status == "pass"
    assert evaluate(parse_check("complexity(allocs) <= O(1)"), r).status == "fail"
    assert evaluate(parse_check("complexity(allocs) <= O(n)"), r).status == "inconclusive"
    assert evaluate(parse_check("complexity <= O(n log n)"), r).status == "pass"
    assert evaluate(parse_check("complexity <= O(1)"), r).status == "fail"
    assert evaluate(parse_check("complexity(queries) == O(1)"), r).status == "inconclusive"
    with pytest.raises(UnknownMetricError):
        evaluate(parse_check("complexity(alloc_bytes) == O(1)"), r)


def test_apply_checks_keeps_earlier_verdicts() -> None:
    r = bench_result([1e-3] * 30)
    r = apply_checks(r, [parse_check("median < 2ms")])
    r = apply_checks(r, [parse_check("n >= 30")])
    assert [v.check for v in r.verdicts] == ["median < 2ms", "n >= 30"]


def test_percentile_ci_from_a_histogram_summary() -> None:
    lat = Metric(unit="s", kind="distribution", n=10_000, p99=0.050, median=0.01,
                 extra={"ci": {"p99": [0.045, 0.056]}, "percentiles": {"99.9": 0.09}})
    r = Result("l", "load", metrics={"latency": lat})
    v = evaluate(parse_check("p(99) < 53ms"), r)
    assert v.status == "inconclusive"
    assert v.ci == (0.045, 0.056)
    assert evaluate(parse_check("p99 < 60ms"), r).status == "pass"
    assert evaluate(parse_check("p(99.9) < 100ms"), r).value == pytest.approx(0.09)
