"""The interleaved regression gate (``perfgate compare --against REF``). See docs/history.md."""

from __future__ import annotations

from perfgate.gate._gate import LOOKS, GateOptions, git_root, ref_worktree, run_gate

__all__ = ["LOOKS", "GateOptions", "git_root", "ref_worktree", "run_gate"]
