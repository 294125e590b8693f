"""pytest-benchmark's ``--benchmark-*`` options, and how perfgate maps them.

Every option pytest-benchmark 4 and 5 add to pytest is accepted with the same argument shape,
so a project's ``addopts`` or CI command line keeps working. Those that change what is
measured or which tests run are honoured; the rest (storage, comparison, display, profiling)
are accepted and named in the terminal summary as ignored when set.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from perfgate._pytest.bm_stats import timer_name

if TYPE_CHECKING:
    from perfgate.bench import BenchOptions

__all__ = ["MARKER_KWARGS", "Settings", "add_options", "ignored_options", "settings_from"]

MARKER_KWARGS = frozenset({
    "max_time", "min_rounds", "min_time", "precision", "confidence", "timer", "group",
    "disable_gc", "warmup", "warmup_iterations", "calibration_precision", "cprofile",
})


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Invalid decimal value {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"Invalid decimal value {text!r}: must be ≥ 0")
    return value


def _rounds(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value < 1:
        raise argparse.ArgumentTypeError("Value for --benchmark-rounds must be at least 1.")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("Value must be a fraction strictly between 0 and 1.")
    return value


def _warmup(text: str) -> str:
    t = text.lower().strip()
    if t == "auto":
        return "auto"
    if t in ("off", "false", "no"):
        return "off"
    if t in ("on", "true", "yes", ""):
        return "on"
    raise argparse.ArgumentTypeError(f"Could not parse value: {text!r}.")


def load_timer(dotted: str) -> Callable[[], float]:
    """``time.perf_counter`` → the function (``pep418.x`` means ``time.x``, as before)."""
    if "." not in dotted:
        raise argparse.ArgumentTypeError(
            "Value for --benchmark-timer must be in dotted form. Eg: 'module.attr'."
        )
    mod, attr = dotted.rsplit(".", 1)
    try:
        timer: Callable[[], float] = getattr(
            importlib.import_module("time" if mod == "pep418" else mod), attr
        )
    except (ImportError, AttributeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot load timer {dotted!r}: {exc}") from None
    return timer


def _timer(text: str) -> str:
    load_timer(text)
    return text


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        t = text.lower().strip()
        if t not in allowed:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(allowed)}")
        return t

    return parse


def _columns(text: str) -> list[str]:
    return [c.strip() for c in text.lower().split(",")]


def _loops(text: str) -> int | None:
    return None if text == "auto" else _rounds(text)


def _save(text: str) -> str:
    if not text or any(c in text for c in "\\/:*?<>|"):
        raise argparse.ArgumentTypeError("Must not be empty nor contain any of /:*?<>|\\")
    return text


# (flag, argparse keywords, honoured?). The defaults are pytest-benchmark's.
_OPTIONS: list[tuple[str, dict[str, Any], bool]] = [
    ("--benchmark-min-time", {"metavar": "SECONDS", "type": _seconds, "default": 0.000005,
     "help": "Minimum time per round (perfgate: a floor under its 1 ms round target)."}, True),
    ("--benchmark-max-time", {"metavar": "SECONDS", "type": _seconds, "default": 1.0,
     "help": "Time budget of each benchmark's timed rounds."}, True),
    ("--benchmark-min-rounds", {"metavar": "NUM", "type": _rounds, "default": 5,
     "help": "Minimum rounds, even past the time budget."}, True),
    ("--benchmark-precision", {"metavar": "FRACTION", "type": _fraction, "default": None,
     "help": "Stop once the median's 95%% CI half-width is within this fraction."}, True),
    ("--benchmark-confidence", {"metavar": "FRACTION", "type": _fraction, "default": 0.99,
     "help": "Accepted; perfgate's intervals are 95%%."}, False),
    ("--benchmark-timer", {"metavar": "FUNC", "type": _timer, "default": "time.perf_counter",
     "help": "Timer as module.attr. Default: time.perf_counter"}, True),
    ("--benchmark-calibration-precision", {"metavar": "NUM", "type": int, "default": 10,
     "help": "Accepted; perfgate calibrates rounds to ≥ 1000× the timer's resolution."}, False),
    ("--benchmark-warmup", {"metavar": "KIND", "nargs": "?", "type": _warmup, "default": "auto",
     "const": "on", "help": "auto/on: perfgate's warm-up; off: none."}, True),
    ("--benchmark-warmup-iterations", {"metavar": "NUM", "type": int, "default": 100000,
     "help": "Accepted; perfgate warms up for a time, not a count."}, False),
    ("--benchmark-disable-gc", {"action": "store_true", "default": False,
     "help": "Pause the garbage collector inside timed rounds."}, True),
    ("--benchmark-skip", {"action": "store_true", "default": False,
     "help": "Skip tests that use the benchmark fixture."}, True),
    ("--benchmark-disable", {"action": "store_true", "default": False,
     "help": "Call benchmarked functions once, measure nothing."}, True),
    ("--benchmark-enable", {"action": "store_true", "default": False,
     "help": "Override --benchmark-disable."}, True),
    ("--benchmark-only", {"action": "store_true", "default": False,
     "help": "Run only tests that use the benchmark or perf fixture."}, True),
    ("--benchmark-save", {"metavar": "NAME", "type": _save, "default": None,
     "help": "Save this run as STORAGE/MACHINE/NNNN_NAME.json (pytest-benchmark's format)."},
     True),
    ("--benchmark-autosave", {"action": "store_const", "const": "autosave", "default": None,
     "help": "Save this run, named after its commit and time."}, True),
    ("--benchmark-save-data", {"action": "store_true", "default": False,
     "help": "Keep every round's time in the saved file."}, True),
    ("--benchmark-json", {"metavar": "PATH", "type": Path, "default": None,
     "help": "Write pytest-benchmark-shaped JSON (with all timings) to PATH."}, True),
    ("--benchmark-compare", {"metavar": "NUM|_ID", "nargs": "?", "default": [], "const": True,
     "help": "Compare with a saved run (the newest, or NUM, or one whose name holds _ID), "
             "judged against the saved runs' run-to-run noise."}, True),
    ("--benchmark-compare-fail", {"metavar": "EXPR", "nargs": "+", "default": None,
     "help": "Fail the session on a regression beyond EXPR (mean:5%%, min:0.001), called "
             "only beyond the run-to-run noise."}, True),
    ("--benchmark-cprofile", {"metavar": "COLUMN", "default": None, "type": _choice(
        "ncalls_recursion", "ncalls", "tottime", "tottime_per", "cumtime", "cumtime_per",
        "function_name"), "help": "Accepted, ignored."}, False),
    ("--benchmark-cprofile-loops", {"metavar": "LOOPS", "default": 1, "type": _loops,
     "help": "Accepted, ignored."}, False),
    ("--benchmark-cprofile-top", {"metavar": "COUNT", "default": 25, "type": int,
     "help": "Accepted, ignored."}, False),
    ("--benchmark-cprofile-dump", {"action": "append", "metavar": "FILENAME-PREFIX", "nargs": "?",
     "default": [], "const": "benchmark", "help": "Accepted, ignored."}, False),
    ("--benchmark-storage", {"metavar": "URI", "default": "file://./.benchmarks",
     "help": "Where saved runs live (file storage only)."}, True),
    ("--benchmark-netrc", {"nargs": "?", "default": "", "const": "~/.netrc",
     "help": "Accepted, ignored."}, False),
    ("--benchmark-verbose", {"action": "store_true", "default": False,
     "help": "Accepted, ignored."}, False),
    ("--benchmark-quiet", {"action": "store_true", "default": False,
     "help": "Leave the benchmark table out of the terminal summary."}, True),
    ("--benchmark-sort", {"metavar": "COL", "default": "min", "type": _choice(
        "min", "max", "mean", "stddev", "name", "fullname"), "help": "Accepted, ignored."}, False),
    ("--benchmark-group-by", {"metavar": "LABEL", "default": "group",
     "help": "Accepted, ignored: the table groups by group."}, False),
    ("--benchmark-columns", {"metavar": "LABELS", "type": _columns, "default": None,
     "help": "Accepted, ignored."}, False),
    ("--benchmark-name", {"metavar": "FORMAT", "default": "normal", "type": _choice(
        "short", "normal", "long", "trial"), "help": "Accepted, ignored."}, False),
    ("--benchmark-time-unit", {"metavar": "COLUMN", "default": None,
     "choices": ["ns", "us", "ms", "s", "auto"], "help": "Accepted, ignored."}, False),
    ("--benchmark-histogram", {"action": "append", "metavar": "FILENAME-PREFIX", "nargs": "?",
     "default": [], "const": "benchmark", "help": "Accepted, ignored."}, False),
]


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("benchmark", "benchmark (pytest-benchmark options, run by perfgate)")
    for flag, kw, _ in _OPTIONS:
        group.addoption(flag, dest=_dest(flag), **kw)


def ignored_options(config: pytest.Config) -> list[str]:
    """The accepted-but-ignored options this run set to something other than the default."""
    out = []
    for flag, kw, honoured in _OPTIONS:
        if not honoured and config.getoption(_dest(flag)) != kw.get("default"):
            out.append(flag)
    return out


@dataclass(frozen=True)
class Settings:
    """The options that shape one benchmark: session options, then the test's marker."""

    max_time: float = 1.0
    min_time: float = 0.000005
    min_rounds: int = 5
    precision: float | None = None
    confidence: float = 0.99
    timer: Callable[[], float] | None = None
    warmup: str = "auto"  # auto / on / off
    warmup_iterations: int = 100000
    calibration_precision: int = 10
    disable_gc: bool = False
    group: str | None = None

    def with_marker(self, kwargs: Mapping[str, Any]) -> Settings:
        kw = {k: v for k, v in kwargs.items() if k in MARKER_KWARGS and k != "cprofile"}
        if "warmup" in kw and not isinstance(kw["warmup"], str):
            kw["warmup"] = "on" if kw["warmup"] else "off"
        for k in ("max_time", "min_time"):
            if k in kw:
                kw[k] = float(kw[k])
        return replace(self, **kw)

    def bench_options(self) -> BenchOptions:
        """pytest-benchmark's knobs in perfgate's terms (see docs/pytest.md)."""
        from perfgate.bench import BenchOptions

        d = BenchOptions()
        warmup = 0.0 if self.warmup == "off" else min(d.warmup, self.max_time)
        return BenchOptions(
            max_time=self.max_time,
            min_rounds=self.min_rounds,
            max_rounds=max(d.max_rounds, self.min_rounds),
            warmup=warmup,
            round_time=max(d.round_time, self.min_time),
            precision=self.precision if self.precision is not None else d.precision,
            gc=not self.disable_gc,
            # pytest-benchmark's semantics: each sample is a round's mean (its min_rounds,
            # rounds and stats count rounds); the perf fixture times long calls one by one.
            per_call=False,
        )

    def json_options(self) -> dict[str, Any]:
        """The ``options`` object pytest-benchmark writes beside each benchmark."""
        import time

        return {
            "disable_gc": self.disable_gc,
            "timer": timer_name(self.timer or time.perf_counter),
            "min_rounds": self.min_rounds,
            "max_time": self.max_time,
            "min_time": self.min_time,
            "precision": self.precision,
            "confidence": self.confidence if self.precision is not None else None,
            "warmup": self.warmup == "on",
        }


def settings_from(config: pytest.Config) -> Settings:
    opt = config.getoption
    return Settings(
        max_time=float(opt("benchmark_max_time")),
        min_time=float(opt("benchmark_min_time")),
        min_rounds=int(opt("benchmark_min_rounds")),
        precision=opt("benchmark_precision"),
        confidence=float(opt("benchmark_confidence")),
        timer=load_timer(str(opt("benchmark_timer"))),
        warmup=str(opt("benchmark_warmup")),
        warmup_iterations=int(opt("benchmark_warmup_iterations")),
        calibration_precision=int(opt("benchmark_calibration_precision")),
        disable_gc=bool(opt("benchmark_disable_gc")),
    )
