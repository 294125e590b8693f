"""perfgate vs pytest-benchmark vs pyperf: wall time spent and spread of the reported median.

Each tool times each workload in a fresh process, ``--runs`` times over. What matters for
a team is how far the reported median moves from one run to the next (process-to-process
spread) for the time it costs. Printed per tool and workload:

    wall s/run      seconds one measurement took, process start included
    median          the median of the reported medians
    spread          (max - min) / median of the reported medians across runs
    cv              their coefficient of variation (stdev / mean)

``perfgate-p4`` is perfgate with ``processes=4``: the same 1 s budget spread over four fresh
processes, so the median averages over process-to-process variation.

Usage: python benchmarks/compare_tools.py [--runs 8] [--quick] [--tools perfgate,pyperf]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": str(HERE), "PYTHONHASHSEED": "0"}


def _run(cmd: list[str], cwd: Path | None = None) -> tuple[str, float]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=cwd, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return out.stdout, wall


def _perfgate(name: str, quick: bool, processes: int) -> tuple[float, float]:
    code = (
        "import perfgate as pg, _workloads as w\n"
        "if __name__ == '__main__':\n"
        f"    o = pg.BenchOptions(memory=False, processes={processes}"
        f"{', max_time=0.3' if quick else ''})\n"
        f"    r = pg.bench_callable(w.WORKLOADS[{name!r}], options=o)\n"
        "    print(r.metrics['time'].median)\n"
    )
    with tempfile.TemporaryDirectory() as d:  # spawn needs a real __main__ file
        script = Path(d) / "run_perfgate.py"
        script.write_text(code)
        out, wall = _run([sys.executable, str(script)])
    return float(out.strip().splitlines()[-1]), wall


def perfgate_once(name: str, quick: bool) -> tuple[float, float]:
    return _perfgate(name, quick, 0)


def perfgate_p4_once(name: str, quick: bool) -> tuple[float, float]:
    return _perfgate(name, quick, 4)


def pytest_benchmark_once(name: str, quick: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as d:
        test = Path(d) / "test_w.py"
        test.write_text(
            "import _workloads as w\n"
            f"def test_it(benchmark):\n    benchmark(w.WORKLOADS[{name!r}])\n"
        )
        out_json = Path(d) / "out.json"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:perfgate", "-p", "no:cacheprovider",
               str(test), f"--benchmark-json={out_json}"]
        if quick:
            cmd.append("--benchmark-max-time=0.3")
        _, wall = _run(cmd, cwd=Path(d))
        doc = json.loads(out_json.read_text())
        return float(doc["benchmarks"][0]["stats"]["median"]), wall


def pyperf_once(name: str, quick: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "bench.py"
        script.write_text(
            "import pyperf, _workloads as w\n"
            f"pyperf.Runner().bench_func({name!r}, w.WORKLOADS[{name!r}])\n"
        )
        out_json = Path(d) / "out.json"
        cmd = [sys.executable, str(script), "-o", str(out_json), "--quiet"]
        if quick:
            cmd.append("--fast")
        _, wall = _run(cmd)
        import pyperf

        return float(pyperf.Benchmark.load(str(out_json)).median()), wall


TOOLS = {"perfgate": perfgate_once, "perfgate-p4": perfgate_p4_once,
         "pytest-benchmark": pytest_benchmark_once, "pyperf": pyperf_once}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="short budgets for every tool")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--workloads", default="small_sum,sort_1000,json_dump")
    args = ap.parse_args()
    tools = args.tools.split(",")
    print(f"{args.runs} runs per tool and workload, interleaved; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"{'workload':<11} {'tool':<17} {'wall s/run':>10} {'median':>11} {'spread':>8} {'cv':>7}")
    for name in args.workloads.split(","):
        got: dict[str, list[tuple[float, float]]] = {t: [] for t in tools}
        for _ in range(args.runs):  # interleave tools so machine drift hits all alike
            for t in tools:
                got[t].append(TOOLS[t](name, args.quick))
        for t in tools:
            meds = [m for m, _ in got[t]]
            walls = [w for _, w in got[t]]
            center = statistics.median(meds)
            spread = (max(meds) - min(meds)) / center
            cv = statistics.stdev(meds) / statistics.mean(meds) if len(meds) > 1 else 0.0
            print(f"{name:<11} {t:<17} {statistics.mean(walls):>10.2f} "
                  f"{center * 1e6:>9.3f}µs {spread:>7.1%} {cv:>6.1%}")


if __name__ == "__main__":
    main()
