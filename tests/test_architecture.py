"""The import structure of docs/architecture.md, checked by scripts/check_layers.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_layers.py"


def _check(root: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(SCRIPT), *([str(root)] if root else [])]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def test_perfgate_has_no_cycle_and_layers_point_one_way() -> None:
    out = _check()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK" in out.stdout


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "perfgate"
    for name, text in files.items():
        f = root / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return root


def test_an_upward_import_is_reported_with_its_place(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "__init__.py": "",
        "model.py": "X = 1\n\ndef f():\n    from perfgate.cli import main\n",
        "cli/__init__.py": "from perfgate.model import X\n",
    })
    out = _check(root)
    assert out.returncode == 1
    assert "perfgate/model.py:4: perfgate.model (layer 1) imports perfgate.cli (layer 7)" \
        in out.stdout


def test_a_cycle_through_a_lazy_import_is_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "__init__.py": "",
        "bench/__init__.py": "",
        "bench/a.py": "from perfgate.bench import b\n",
        "bench/b.py": "def f():\n    from perfgate.bench import a\n",
    })
    out = _check(root)
    assert out.returncode == 1
    assert "import cycle: perfgate.bench.a → perfgate.bench.b" in out.stdout


def test_a_typing_only_import_is_not_an_import(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "__init__.py": "",
        "model.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                    "    from perfgate.runner import run\n",
        "runner.py": "from perfgate.model import Result\n",
    })
    assert _check(root).returncode == 0
