"""The interleaved regression gate (``perfgate compare --against REF``). See docs/history.md.

:func:`run_gate` measures wall time in fresh process pairs (:mod:`._gate`), or with
``GateOptions(measure="instructions")`` counts instructions under valgrind and reports time
beside the counts (:mod:`._instr`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from perfgate.analysis.compare import CompareReport
from perfgate.gate import _gate
from perfgate.gate._gate import LOOKS, GateOptions, GateProgress, git_root, ref_worktree

__all__ = ["LOOKS", "GateOptions", "git_root", "ref_worktree", "run_gate"]


def run_gate(ref: str, targets: Sequence[str], *, cwd: Path | None = None,
             options: GateOptions | None = None, progress: GateProgress | None = None,
             clock: Callable[[], float] = time.monotonic
             ) -> tuple[CompareReport, dict[str, Any]]:
    """The gate against git ``ref``: the report and the raw per-process data."""
    opts = options or GateOptions()
    if opts.measure == "instructions":
        from perfgate.gate._instr import run_instruction_gate

        return run_instruction_gate(ref, targets, cwd=cwd, options=opts, progress=progress,
                                    clock=clock)
    return _gate.run_gate(ref, targets, cwd=cwd, options=opts, progress=progress, clock=clock)
