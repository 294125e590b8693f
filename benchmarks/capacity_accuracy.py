"""Capacity search accuracy: found vs true capacity of a token-bucket server.

The server (tests/_token_bucket.py, its own process) takes R requests/s: in ``reject`` mode
the excess gets 503 at once (check ``error_rate < 1%``: the truth is R/0.99), in ``queue``
mode it waits in a FIFO queue so latency climbs past R (check ``p(95) < 50ms``: the truth
is R within 1 %). For each R and mode, ``pg.capacity`` runs with its defaults (5 s probes,
1 s warm-up and cool-down) and one generator process; the script prints found vs true,
the bracket, the number of probes and the seconds spent, and the machine's load.

    python benchmarks/capacity_accuracy.py                     # R = 500, 1500, 3000
    python benchmarks/capacity_accuracy.py --rates 1000 --modes queue
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import perfgate as pg
from perfgate.analysis.capacity import Probe
from perfgate.analysis.capacity_result import CapacityEvidence

SERVER = Path(__file__).resolve().parents[1] / "tests" / "_token_bucket.py"
CHECKS = {"reject": ["error_rate < 1%"], "queue": ["p(95) < 50ms", "error_rate < 1%"]}


def truth(rate: float, mode: str) -> float:
    """The highest rate that meets the checks: 1 % refused at R/0.99; the queue's p95
    stays under 50 ms up to about R (+0.9 % over a 6 s warm-up and probe)."""
    return rate / 0.99 if mode == "reject" else rate


@dataclass
class Row:
    mode: str
    rate: float
    true: float
    found: float | None
    bracket: tuple[float | None, float | None]
    probes: int
    retries: int
    ramp_s: float
    seconds: float
    stop: str
    note: str

    @property
    def error(self) -> float | None:
        return None if self.found is None else self.found / self.true - 1

    def line(self) -> str:
        lo, hi = self.bracket
        found = "-" if self.found is None else f"{self.found:7.1f}/s"
        err = "-" if self.error is None else f"{self.error:+.1%}"
        br = f"{'-' if lo is None else f'{lo:.0f}'}–{'-' if hi is None else f'{hi:.0f}'}"
        return (f"{self.mode:6} R={self.rate:6.0f}/s  true {self.true:7.1f}/s  found {found} "
                f"({err})  bracket {br}  probes {self.probes} (retries {self.retries})  "
                f"ramp {self.ramp_s:.1f} s  total {self.seconds:.1f} s  stop {self.stop}  "
                f"load {os.getloadavg()[0]:.2f}  {self.note}")


def _show(p: Probe) -> None:
    checks = ", ".join(f"{v.check}: {v.status}" for v in p.verdicts)
    print(f"    probe {p.rate:8.1f}/s {p.status:12} sent {p.achieved or 0:8.1f}/s  {checks}  "
          f"{p.saturated or p.note}", flush=True)


def one(rate: float, mode: str, args: argparse.Namespace) -> Row:
    proc = subprocess.Popen([sys.executable, str(SERVER), "--rate", str(rate), "--mode", mode],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        t0 = time.monotonic()
        r = pg.capacity(f"http://127.0.0.1:{port}/", checks=CHECKS[mode],
                        max_rate=args.max_rate, duration=args.duration, processes=1,
                        progress=_show if args.verbose else None)
        seconds = time.monotonic() - t0
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    ev = CapacityEvidence.of(r)
    assert ev is not None
    m = r.metrics.get("capacity")
    return Row(mode=mode, rate=rate, true=truth(rate, mode),
               found=m.value if m is not None else None,
               bracket=(m.ci_low, m.ci_high) if m is not None else (None, None),
               probes=len(ev.probes), retries=sum(p.phase == "retry" for p in ev.probes),
               ramp_s=ev.ramp.seconds if ev.ramp else 0.0, seconds=seconds, stop=ev.stop,
               note=r.error or "")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    ap.add_argument("--rates", default="500,1500,3000")
    ap.add_argument("--modes", default="reject,queue")
    ap.add_argument("--duration", default="5s")
    ap.add_argument("--max-rate", default="10000/s")
    ap.add_argument("--verbose", action="store_true", help="print each probe")
    args = ap.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} (2 cores shared)", flush=True)
    rows = []
    for mode in args.modes.split(","):
        for rate in (float(x) for x in args.rates.split(",")):
            rows.append(one(rate, mode, args))
            print(rows[-1].line(), flush=True)
    ok = [r for r in rows if r.error is not None and abs(r.error) <= 0.05]
    print(f"within ±5 %: {len(ok)}/{len(rows)}; probes max {max(r.probes for r in rows)}; "
          f"seconds max {max(r.seconds for r in rows):.0f}")


if __name__ == "__main__":
    main()
