"""The check language: ``p(95) < 300ms``, ``error_rate < 1%, warn 0.5%``, ``count(ok) == 1``.

Grammar (whitespace is free between tokens)::

    check   := subject OP value [","] ["warn" value]
    subject := "p" "(" NUMBER ["," METRIC] ["," PHASE] ")"  a percentile of a distribution
             | "count" "(" LABEL ")"                 how many outcomes had LABEL, or a
                                                     probe's count: count(http_calls.POST)
             | "complexity" ["(" METRIC ")"]          the fitted big-O class of a sweep
             | STAT ["(" METRIC ")"]                  mean, median, min, max, stdev, iqr, pNN, n
             | METRIC ["(" PHASE ")"]                 its headline value (median / value)
             | "degradation" "(" STAT ")"             fault phase / baseline (fault scenarios)
    PHASE   := "phase" "=" NAME                       the metric within one fault-schedule phase
    OP      := "<" | "<=" | ">" | ">=" | "==" | "!="
    value   := NUMBER [UNIT] | "O(" CLASS ")"

STAT with no METRIC applies to the result's main distribution (``time`` for benchmarks,
``latency`` for load tests). A unit is ``ns us µs ms s min h``, ``B kB MB GB KiB MiB GiB``,
``%``, ``k M`` (thousands, millions) or a rate such as ``/s`` or ``MB/h``.

``PHASE`` reads the phase's own metric: ``p(95, phase=fault)`` is ``p(95, phase.fault.latency)``,
``error_rate(phase=fault)`` is ``phase.fault.error_rate``; ``degradation(p95)`` is the metric
``degradation.p95`` and ``recovery_time`` a metric of its own (see docs/faults.md).

``warn`` names a second, stricter limit on the same side: ``p(95) < 300ms warn 200ms`` fails
above 300 ms and warns above 200 ms.

A verdict is ``inconclusive`` when the 95 % confidence interval of the measured value
straddles the limit: the data cannot tell which side of it the truth is on.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from perfgate._errors import CheckSyntaxError, NoSamplesError, UnitError, UnknownMetricError
from perfgate.analysis.stats import mean_ci, quantile_ci
from perfgate.model import Metric, Result, Status, Verdict
from perfgate.units import COMPLEXITY_CLASSES, format_value, parse_unit

__all__ = [
    "COMPLEXITY_CLASSES",
    "Check",
    "apply_checks",
    "apply_checks_keeping",
    "evaluate",
    "judge",
    "parse_check",
    "parse_checks",
    "validate_units",
    "verdict_for",
]

_COMPLEXITY_ALIASES = {
    "1": "O(1)", "logn": "O(log n)", "log(n)": "O(log n)", "n": "O(n)",
    "nlogn": "O(n log n)", "nlog(n)": "O(n log n)", "n*logn": "O(n log n)",
    "n*log(n)": "O(n log n)", "n^2": "O(n^2)", "n²": "O(n^2)", "n**2": "O(n^2)",
    "n^3": "O(n^3)", "n³": "O(n^3)", "n**3": "O(n^3)", "2^n": "O(2^n)", "2**n": "O(2^n)",
}
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}
_OP_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least",
             "==": "equal to", "!=": "different from"}
_STATS = ("mean", "median", "min", "max", "stdev", "iqr", "p50", "p90", "p95", "p99", "n")
PRIMARY = {"bench": "time", "burst": "time", "sweep": "time", "load": "latency",
           "capacity": "capacity"}
KNOWN_UNITS = {
    "time": "s", "ops": "1/s", "alloc_bytes": "B", "allocs": "1", "rss": "B",
    "latency": "s", "service_time": "s", "requests": "1", "errors": "1", "dropped": "1",
    "error_rate": "1", "rps": "1/s", "rss_growth": "B/s", "queries": "1", "n_plus_one": "1",
    "speedup": "1", "efficiency": "1", "http_calls": "1", "cache_calls": "1",
    "success_rate": "1", "ratio": "1", "overhead": "s",
    "capacity": "1/s", "search_time": "s",
    "recovery_time": "s",
}
# Counted by a probe, with sub-counts named ``<probe>.<what>`` (``http_calls.POST``): a
# sub-count that is absent is zero when its probe ran, unknown when it did not.
_PROBE_COUNTS = ("queries", "http_calls", "cache_calls")
_BARE_OK = {"1", "1/s", "B", "B/s"}  # units where a bare number reads naturally


@dataclass(frozen=True)
class Check:
    """A parsed check. Build with :func:`parse_check`."""

    text: str
    subject: str  # "stat", "quantile", "count", "metric", "complexity"
    metric: str | None  # explicit metric name; None = the result's main distribution
    stat: str | None  # for "stat": mean, median, …
    q: float | None  # for "quantile": 0 < q < 100
    label: str | None  # for "count"
    op: str
    limit: float  # in base units; for complexity, the class's rank
    limit_unit: str  # "s", "B", "1", "1/s", …, "" when the value had no unit, "O" for big-O
    warn: float | None = None
    warn_unit: str = ""
    percent: bool = False  # the limit was written in %: show values that way too

    def describe_subject(self) -> str:
        if self.subject == "quantile":
            return f"p{self.q:g}" + (f" of {self.metric}" if self.metric else "")
        if self.subject == "count":
            return f"count({self.label})"
        if self.subject == "stat":
            return f"{self.stat}" + (f" of {self.metric}" if self.metric else "")
        if self.subject == "complexity":
            return f"complexity of {self.metric or 'time'}"
        return str(self.metric)


# --------------------------------------------------------------------------- scanning


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, msg: str, pos: int | None = None) -> CheckSyntaxError:
        return CheckSyntaxError(msg, self.text, self.pos if pos is None else pos)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.peek() == ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            found = repr(self.peek()) if self.peek() else "end of check"
            raise self.error(f"expected {ch!r}, found {found}")
        self.pos += 1

    def name(self, what: str = "a metric name") -> str:
        self.skip_ws()
        start = self.pos
        t = self.text
        c0 = t[self.pos] if self.pos < len(t) else ""
        if c0.isascii() and (c0.isalpha() or c0 == "_"):
            self.pos += 1
            while self.pos < len(t) and t[self.pos].isascii() and (
                t[self.pos].isalnum() or t[self.pos] in "_.-"
            ):
                self.pos += 1
        if start == self.pos:
            raise self.error(f"expected {what}")
        word = t[start:self.pos]
        if word.endswith((".", "-")):
            raise self.error(f"{what} cannot end with {word[-1]!r}", self.pos - 1)
        return word

    def number(self) -> float:
        self.skip_ws()
        t, start = self.text, self.pos
        i = start
        if i < len(t) and t[i] in "+-":
            i += 1
        digits = 0
        while i < len(t) and (t[i].isdigit() and t[i].isascii()):
            i += 1
            digits += 1
        if i < len(t) and t[i] == ".":
            i += 1
            while i < len(t) and t[i].isdigit() and t[i].isascii():
                i += 1
                digits += 1
        if digits == 0:
            raise self.error("expected a number", start)
        if i < len(t) and t[i] in "eE":
            j = i + 1
            if j < len(t) and t[j] in "+-":
                j += 1
            if j < len(t) and t[j].isdigit() and t[j].isascii():
                while j < len(t) and t[j].isdigit() and t[j].isascii():
                    j += 1
                i = j
        self.pos = i
        value = float(t[start:i])
        if not math.isfinite(value):
            raise self.error("number out of range", start)
        return value

    def op(self) -> str:
        self.skip_ws()
        t = self.text
        for candidate in ("<=", ">=", "==", "!=", "<", ">"):
            if t.startswith(candidate, self.pos):
                self.pos += len(candidate)
                return candidate
        found = repr(t[self.pos]) if self.pos < len(t) else "end of check"
        raise self.error(f"expected a comparison (< <= > >= == !=), found {found}")

    def unit(self) -> tuple[float, str, int]:
        """Optional unit right after a number: (multiplier, base unit or "", position)."""
        t = self.text
        start = self.pos
        j = start
        while j < len(t) and t[j] == " ":
            j += 1
        k = j
        while k < len(t) and (t[k].isalpha() or t[k] in "%/µμ"):
            k += 1
        word = t[j:k]
        if not word or word.lower() == "warn":
            return 1.0, "", start
        spec = parse_unit(word)
        if spec is None:
            raise self.error(f"unknown unit {word!r}", j)
        self.pos = k
        return spec[0], spec[1], j


def _complexity(sc: _Scanner) -> float:
    start = sc.pos
    sc.expect("(")
    depth, i = 1, sc.pos
    t = sc.text
    while i < len(t) and depth:
        depth += {"(": 1, ")": -1}.get(t[i], 0)
        i += 1
    if depth:
        raise sc.error("unclosed 'O('", start)
    inner = "".join(t[sc.pos:i - 1].split()).lower()
    sc.pos = i
    name = _COMPLEXITY_ALIASES.get(inner)
    if name is None:
        raise sc.error(
            f"unknown complexity class O({t[start + 1:i - 1]}); "
            f"known: {', '.join(COMPLEXITY_CLASSES)}",
            start,
        )
    return float(COMPLEXITY_CLASSES.index(name))


def parse_check(text: str) -> Check:
    """Parse one check; raise :class:`CheckSyntaxError` (with the position) if malformed."""
    if not isinstance(text, str):
        raise CheckSyntaxError("a check must be a string", repr(text), 0)
    sc = _Scanner(text)
    if sc.at_end():
        raise sc.error("empty check")
    metric: str | None = None
    stat: str | None = None
    q: float | None = None
    label: str | None = None
    word = sc.name("a metric, a statistic, p(…) or count(…)")
    if word == "p" and sc.peek() == "(":
        sc.expect("(")
        qpos = sc.pos
        q = sc.number()
        if not 0 < q < 100:
            raise sc.error("a percentile must be between 0 and 100 (exclusive)", qpos)
        phase: str | None = None
        while sc.peek() == ",":
            sc.expect(",")
            item = sc.name("a metric name or phase=NAME")
            if item == "phase" and sc.peek() == "=":
                phase = _phase_name(sc)
            elif metric is None and phase is None:
                metric = item
            else:
                raise sc.error("expected ')'", sc.pos - len(item))
        sc.expect(")")
        if phase is not None:
            metric = f"phase.{phase}.{metric or 'latency'}"
        subject = "quantile"
    elif word == "degradation" and sc.peek() == "(":
        sc.expect("(")
        spos = sc.pos
        what = sc.name("a percentile such as p95")
        if what not in ("p50", "p95", "p99", "rps", "median"):
            raise sc.error("degradation is of p50, p95, p99 or rps", spos)
        sc.expect(")")
        metric, subject = f"degradation.{'p50' if what == 'median' else what}", "metric"
    elif word == "count" and sc.peek() == "(":
        sc.expect("(")
        sc.skip_ws()
        if sc.peek() in ("'", '"'):
            quote = sc.peek()
            end = text.find(quote, sc.pos + 1)
            if end < 0:
                raise sc.error("unclosed quote")
            label = text[sc.pos + 1:end]
            sc.pos = end + 1
        else:
            label = sc.name("an outcome label")
        sc.expect(")")
        subject = "count"
    elif word == "complexity":
        if sc.peek() == "(":
            sc.expect("(")
            metric = sc.name()
            sc.expect(")")
        subject = "complexity"
    elif word in _STATS and sc.peek() == "(":
        sc.expect("(")
        metric = sc.name()
        if metric == "phase" and sc.peek() == "=":
            metric = f"phase.{_phase_name(sc)}.latency"
        elif sc.peek() == ",":
            sc.expect(",")
            if sc.name("phase=NAME") != "phase" or sc.peek() != "=":
                raise sc.error("expected phase=NAME")
            metric = f"phase.{_phase_name(sc)}.{metric}"
        sc.expect(")")
        stat, subject = word, "stat"
    elif word in _STATS:
        stat, subject = word, "stat"
    else:
        metric, subject = word, "metric"
        if sc.peek() == "(":  # error_rate(phase=fault)
            sc.expect("(")
            if sc.name("phase=NAME") != "phase" or sc.peek() != "=":
                raise sc.error("expected phase=NAME")
            metric = f"phase.{_phase_name(sc)}.{word}"
            sc.expect(")")

    op = sc.op()
    vpos = sc.pos
    sc.skip_ws()
    percent = False
    if subject == "complexity":
        if not text.startswith("O", sc.pos):
            raise sc.error("expected a complexity class such as O(n log n)")
        sc.pos += 1
        limit, unit = _complexity(sc), "O"
    else:
        if sc.peek() == "O":
            raise sc.error("a complexity class is compared with 'complexity', not here", vpos)
        n = sc.number()
        mult, unit, upos = sc.unit()
        percent = text[upos:sc.pos].strip() == "%"
        limit = n / 100 if percent else n * mult  # 95 / 100 == 0.95; 95 * 0.01 is above it
    warn: float | None = None
    warn_unit = ""
    if sc.peek() == ",":
        sc.expect(",")
        if sc.at_end():
            raise sc.error("expected 'warn' after ','")
    if not sc.at_end():
        wpos = sc.pos
        kw = sc.name("'warn'")
        if kw.lower() != "warn":
            raise sc.error(f"unexpected {kw!r}; only 'warn LIMIT' may follow the limit", wpos)
        if subject == "complexity":
            raise sc.error("a complexity check takes no warn level", wpos)
        if sc.peek() == ":":
            sc.expect(":")
        wvpos = sc.pos
        wn = sc.number()
        wmult, warn_unit, _ = sc.unit()
        warn = wn * wmult
        if unit and warn_unit and unit != warn_unit:
            raise sc.error(f"warn unit {warn_unit!r} does not match limit unit {unit!r}", wvpos)
        if op in ("==", "!="):
            raise sc.error("a warn level needs <, <=, > or >=", wpos)
        stricter = warn <= limit if op in ("<", "<=") else warn >= limit
        if not stricter:
            raise sc.error("the warn level must be stricter than the fail level", wvpos)
        if not sc.at_end():
            raise sc.error("unexpected text after the warn level")
    return Check(
        text=text.strip(), subject=subject, metric=metric, stat=stat, q=q, label=label,
        op=op, limit=limit, limit_unit=unit, warn=warn, warn_unit=warn_unit, percent=percent,
    )


def _phase_name(sc: _Scanner) -> str:
    sc.expect("=")
    return sc.name("a phase name")


def parse_checks(texts: Iterable[str]) -> list[Check]:
    return [parse_check(t) for t in texts]


# --------------------------------------------------------------------------- evaluation


def _metric_name(check: Check, kind: str) -> str:
    if check.subject == "count":
        return f"count.{check.label}"
    if check.metric:
        return check.metric
    return PRIMARY.get(kind, "time")


def _unit_fits(check_unit: str, metric_unit: str) -> bool:
    if not check_unit:
        return metric_unit in _BARE_OK
    return check_unit == metric_unit


def validate_units(check: Check, kind: str = "bench") -> None:
    """Before a run: reject a check whose unit cannot fit its (known) metric."""
    if check.subject in ("count", "complexity"):
        return
    name = _metric_name(check, kind)
    unit = KNOWN_UNITS.get(name) or ("s" if name.startswith("time.") else None)
    if unit is None and name.startswith("phase."):  # phase.fault.latency → latency's unit
        unit = KNOWN_UNITS.get(name.split(".", 2)[-1])
    if unit is None and name.startswith("degradation."):
        unit = "1"
    if unit is None:
        return
    if check.stat == "n":
        unit = "1"
    _require_unit(check, unit, name)


def _require_unit(check: Check, unit: str, name: str) -> None:
    for u in (check.limit_unit, check.warn_unit if check.warn is not None else None):
        if u is None:
            continue
        if not _unit_fits(u, unit):
            hint = f" (write e.g. {check.limit:g}ms)" if unit == "s" and not u else ""
            shown = u or "no unit"
            raise UnitError(
                f"check {check.text!r}: {name} is in {unit!r}, the limit has {shown}{hint}"
            )


def _value_and_ci(check: Check, m: Metric) -> tuple[float | None, tuple[float, float] | None, str]:
    """The measured value, its 95 % CI if the data give one, and what it is called."""
    samples = np.asarray(m.samples, dtype=np.float64) if m.samples else None
    if check.subject == "quantile":
        assert check.q is not None
        field = {50.0: "p50", 90.0: "p90", 95.0: "p95", 99.0: "p99"}.get(check.q)
        value: float | None = getattr(m, field) if field else None
        if samples is not None and samples.size:
            if value is None:
                value = float(np.quantile(samples, check.q / 100))
            ci = quantile_ci(samples, check.q / 100) if samples.size >= 20 else None
            return value, ci, f"p{check.q:g}"
        if value is None:
            value = _from_extra_quantile(m, check.q)
        return value, _stored_ci(m, f"p{check.q:g}"), f"p{check.q:g}"
    stat = check.stat
    if check.subject in ("metric", "count") or stat is None:
        if m.kind == "distribution":
            stat = "median"
        else:
            ci = (m.ci_low, m.ci_high) if m.ci_low is not None and m.ci_high is not None else None
            return m.value, ci, "value"
    if stat == "median":
        ci = (m.ci_low, m.ci_high) if m.ci_low is not None and m.ci_high is not None else None
        return m.median, ci, "median"
    if stat == "mean":
        ci = mean_ci(samples) if samples is not None and samples.size >= 2 else None
        return m.mean, ci, "mean"
    if stat in ("p50", "p90", "p95", "p99"):
        v = getattr(m, stat)
        if samples is None:
            return v, _stored_ci(m, stat), stat
        enough = samples is not None and samples.size >= 20
        ci = quantile_ci(samples, int(stat[1:]) / 100) if enough else None
        return v, ci, stat
    if stat == "n":
        return (float(m.n) if m.n is not None else None), None, "n"
    v = getattr(m, stat, None)
    return (float(v) if v is not None else None), None, stat


def _stored_ci(m: Metric, key: str) -> tuple[float, float] | None:
    """A percentile CI the engine stored (load tests keep histograms, not samples)."""
    table = m.extra.get("ci")
    ci = table.get(key) if isinstance(table, dict) else None
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and None not in ci:
        return float(ci[0]), float(ci[1])
    return None


def _from_extra_quantile(m: Metric, q: float) -> float | None:
    table = m.extra.get("percentiles")
    if isinstance(table, dict):
        v = table.get(f"{q:g}")
        return float(v) if v is not None else None
    return None


def evaluate(check: Check, result: Result) -> Verdict:
    """Apply one check to one result. Raises UnknownMetricError if the metric is absent."""
    if check.subject == "complexity":
        return _evaluate_complexity(check, result)
    name = _metric_name(check, result.kind)
    if check.subject == "count" and check.label and _probe_count(check.label):
        name = check.label
        base = _probe_count(check.label)
        if name not in result.metrics and base not in result.metrics:
            _missing(base, result)
        m = result.metrics.get(name) or Metric.counter(0)
    elif check.subject == "count" and name not in result.metrics:
        m = Metric.counter(0)
    else:
        m = result.metric(name) if name in result.metrics else _missing(name, result)
    unit = "1" if check.stat == "n" else m.unit
    _require_unit(check, unit, name)
    value, ci, what = _value_and_ci(check, m)
    tail = check.q if check.subject == "quantile" else (
        float(check.stat[1:]) if check.stat in ("p90", "p95", "p99") else None)
    if tail is not None and tail != 50 and m.extra.get("of") == "round means":
        return Verdict(
            check=check.text, status="inconclusive", value=value, limit=check.limit, unit=unit,
            evidence=f"p{tail:g} of {name} is of round means, not of single calls: each "
            "call is too short to time on its own (see docs/benchmarks.md), so the tail of "
            "single calls cannot be seen and this check cannot be decided; check the median "
            "or mean, or force per-call timing (per_call=True) accepting the clock's cost.")
    subject = check.describe_subject() if check.subject != "metric" else name
    if check.subject == "metric" and what != "value":
        subject = f"{name} ({what})"
    if value is None:
        if m.kind == "distribution" and not m.n:
            raise NoSamplesError(f"{subject}", list(result.metrics), f"result {result.name!r}")
        raise UnknownMetricError(f"{subject}", list(result.metrics), f"result {result.name!r}")
    return verdict_for(check, value, ci, unit, subject, n=m.n)


def _probe_count(label: str) -> str:
    """``http_calls.POST`` → ``http_calls`` (the probe's total); "" for other labels."""
    base = label.split(".", 1)[0]
    return base if base in _PROBE_COUNTS else ""


def _missing(name: str, result: Result) -> Metric:
    raise UnknownMetricError(name, list(result.metrics), f"result {result.name!r}")


def verdict_for(
    check: Check,
    value: float,
    ci: tuple[float, float] | None,
    unit: str,
    subject: str,
    n: int | None = None,
) -> Verdict:
    """Turn a value (and its CI) into a verdict against the check's limits."""
    cmp = _OPS[check.op]

    shown_unit = "%" if check.percent and unit == "1" else unit

    def fmt(x: float) -> str:
        return format_value(x, shown_unit)

    limit_s = fmt(check.limit)
    ci_s = ""
    if ci is not None and all(math.isfinite(c) for c in ci):
        ci_s = f" (95% CI {fmt(ci[0])} to {fmt(ci[1])}" + (f", n={n}" if n else "") + ")"
    elif n:
        ci_s = f" (n={n})"
    word = _OP_WORDS[check.op]
    ok_point = cmp(value, check.limit)
    status: Status
    if ci is not None and check.op not in ("==", "!=") and all(math.isfinite(c) for c in ci):
        lo_ok, hi_ok = cmp(ci[0], check.limit), cmp(ci[1], check.limit)
        if lo_ok and hi_ok:
            status = "pass"
        elif not lo_ok and not hi_ok:
            status = "fail"
        else:
            status = "inconclusive"
    else:
        status = "pass" if ok_point else "fail"

    if status == "inconclusive":
        evidence = (
            f"{subject} {fmt(value)}{ci_s}: the interval straddles the {limit_s} limit, "
            "so the data cannot decide; more rounds or a quieter machine would."
        )
    elif status == "fail":
        evidence = f"{subject} {fmt(value)}{ci_s} is not {word} the {limit_s} limit."
    else:
        evidence = f"{subject} {fmt(value)}{ci_s} is {word} the {limit_s} limit."
        if check.warn is not None and not cmp(value, check.warn):
            status = "warn"
            evidence = (
                f"{subject} {fmt(value)}{ci_s} is {word} the {limit_s} fail limit "
                f"but not {word} the {fmt(check.warn)} warn level."
            )
    return Verdict(
        check=check.text, status=status, value=value, limit=check.limit, evidence=evidence,
        unit=unit, warn_limit=check.warn, ci=ci if ci_s.startswith(" (95%") else None,
    )


def _evaluate_complexity(check: Check, result: Result) -> Verdict:
    name = check.metric or "time"
    table = result.extra.get("complexity")
    entry = table.get(name) if isinstance(table, dict) else None
    if not isinstance(entry, dict):
        available = list(table) if isinstance(table, dict) else []
        raise UnknownMetricError(f"complexity({name})", available, f"result {result.name!r}")
    cls = str(entry.get("class"))
    limit_name = COMPLEXITY_CLASSES[int(check.limit)]
    reason = str(entry.get("evidence", ""))
    if cls not in COMPLEXITY_CLASSES:
        # Undecided between a few classes: the check is still decided when they all agree.
        cands = [c for c in entry.get("candidates") or () if c in COMPLEXITY_CLASSES]
        oks = {_OPS[check.op](COMPLEXITY_CLASSES.index(c), check.limit) for c in cands}
        if len(oks) == 1:
            ok = oks.pop()
            word = _OP_WORDS[check.op]
            return Verdict(
                check=check.text, status="pass" if ok else "fail", value=None,
                limit=check.limit, unit="O",
                evidence=f"{name} grows as {' or '.join(cands)} (the data cannot tell which), "
                f"{'each' if ok else 'neither'} {word} {limit_name}.",
            )
        return Verdict(
            check=check.text, status="inconclusive", value=None, limit=check.limit,
            evidence=f"the sizes measured cannot tell the complexity of {name} "
            f"apart{': ' + reason if reason else ''}.", unit="O",
        )
    rank = COMPLEXITY_CLASSES.index(cls)
    ok = _OPS[check.op](rank, check.limit)
    word = _OP_WORDS[check.op]
    evidence = f"{name} grows as {cls}, {'' if ok else 'not '}{word} {limit_name}"
    return Verdict(
        check=check.text, status="pass" if ok else "fail", value=float(rank), limit=check.limit,
        evidence=evidence + (f" ({reason})." if reason else "."), unit="O",
    )


def judge(result: Result, checks: Sequence[Check]) -> Result:
    """The result with a verdict for each check — the one place checks are applied.

    A check that cannot be evaluated on what was measured (an unknown metric, a unit that
    does not fit) marks the result (``error``, ``error_kind="check"``: an input error)
    while the measurements and every other check's verdict stay. A result whose target
    failed gets no verdicts: its numbers are partial.
    """
    if result.error is not None or not checks:
        return result
    verdicts = list(result.verdicts)
    problems: list[str] = []
    for c in checks:
        try:
            verdicts.append(evaluate(c, result))
        except (UnknownMetricError, UnitError) as exc:
            problems.append(str(exc))
    result = result.with_verdicts(verdicts)
    if problems:
        result = replace(result, error="check failed to evaluate: " + "; ".join(problems),
                         error_kind="check")
    return result


def apply_checks(result: Result, checks: Sequence[Check]) -> Result:
    """As :func:`judge`, but a check that cannot be evaluated raises (UnknownMetricError,
    UnitError) — for code that builds its own results."""
    judged = judge(replace(result, error=None), checks)
    if judged.error_kind == "check":
        for c in checks:
            evaluate(c, result)  # raises the first problem, with its type
    return replace(judged, error=result.error, error_kind=result.error_kind)


apply_checks_keeping = judge  # perfgate 0.1's name
