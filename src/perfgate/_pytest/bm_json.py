"""``--benchmark-json``: the document pytest-benchmark writes, so its tooling keeps working.

Shape (pytest-benchmark 5): ``{"machine_info", "commit_info", "benchmarks": [{"group",
"name", "fullname", "params", "param", "extra_info", "options", "stats": {min, max, mean,
stddev, rounds, median, iqr, q1, q3, iqr_outliers, stddev_outliers, outliers, ld15iqr,
hd15iqr, ops, total, data, iterations}}], "datetime", "version"}``. ``producer`` says that
perfgate wrote it; perfgate's own, richer JSON is ``--perfgate-json``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from perfgate._pytest.bm_stats import Metadata

__all__ = ["build", "commit_info", "document", "machine_info", "write"]


def machine_info() -> dict[str, Any]:
    from perfgate.env import cpu_model

    return {
        "node": platform.node(),
        "processor": platform.processor(),
        "machine": platform.machine(),
        "python_compiler": platform.python_compiler(),
        "python_implementation": platform.python_implementation(),
        "python_implementation_version": platform.python_version(),
        "python_version": platform.python_version(),
        "python_build": list(platform.python_build()),
        "release": platform.release(),
        "system": platform.system(),
        "cpu": {"brand_raw": cpu_model(), "count": os.cpu_count() or 0,
                "arch_string_raw": platform.machine()},
    }


def commit_info(root: Path) -> dict[str, Any]:
    from perfgate.env import _git, git_info

    commit, branch, dirty = git_info(root)
    when = _git(["show", "-s", "--pretty=%cI", "HEAD"], root) if commit else None
    author = _git(["show", "-s", "--pretty=%aI", "HEAD"], root) if commit else None
    return {
        "id": commit or "unversioned",
        "time": when,
        "author_time": author,
        "dirty": bool(dirty),
        "project": root.name,
        "branch": branch or "(unknown)",
    }


def document(
    benchmarks: Sequence[Metadata], include_data: bool, machine: Any, commit: Any
) -> dict[str, Any]:
    from perfgate import __version__

    return {
        "machine_info": machine,
        "commit_info": commit,
        "benchmarks": [b.as_dict(include_data=include_data) for b in benchmarks
                       if not b.has_error],
        "datetime": _dt.datetime.now(_dt.UTC).isoformat(),
        "version": __version__,
        "producer": f"perfgate {__version__} (pytest-benchmark compatible)",
    }


def build(config: pytest.Config, benchmarks: Sequence[Metadata], include_data: bool = True
          ) -> dict[str, Any]:
    """The document, built through pytest-benchmark's hooks (conftest may edit it)."""
    hook = config.hook
    machine = hook.pytest_benchmark_generate_machine_info(config=config)
    hook.pytest_benchmark_update_machine_info(config=config, machine_info=machine)
    commit = hook.pytest_benchmark_generate_commit_info(config=config)
    hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit)
    doc: dict[str, Any] = hook.pytest_benchmark_generate_json(
        config=config, benchmarks=list(benchmarks), include_data=include_data,
        machine_info=machine, commit_info=commit,
    )
    hook.pytest_benchmark_update_json(config=config, benchmarks=list(benchmarks), output_json=doc)
    return doc


def write(config: pytest.Config, path: Path, benchmarks: Sequence[Metadata],
          doc: dict[str, Any] | None = None) -> None:
    """Write the document (built from ``benchmarks`` unless given), atomically."""
    if doc is None:
        doc = build(config, benchmarks)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=4, ensure_ascii=True, default=repr) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
