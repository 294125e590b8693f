"""Fixtures of the robustness tests: a real full filesystem and a read-only directory."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest


@pytest.fixture
def tmpfs(tmp_path: Path, require_system: Callable[[str], NoReturn]) -> Iterator[Path]:
    """A real, tiny (256 KiB) filesystem: writes past its size fail with ENOSPC. Needs
    root (mount): skipped with the reason on a developer's machine, a failure under CI
    (which runs as root), like every other missing system facility."""
    if os.geteuid() != 0:
        require_system("mounting a tmpfs needs root (CI runs these as root)")
    mnt = tmp_path / "full"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        require_system(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


@pytest.fixture
def readonly_dir(tmp_path: Path, require_system: Callable[[str], NoReturn]) -> Iterator[Path]:
    """A directory nobody may write into (a read-only bind mount when root, since root
    ignores permission bits; a chmod 555 directory otherwise)."""
    d = tmp_path / "ro"
    d.mkdir()
    if os.geteuid() == 0:
        r = subprocess.run(["mount", "--bind", "-o", "ro", str(d), str(d)],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            require_system(f"cannot bind-mount read-only here: {r.stderr.strip()}")
        try:
            yield d
        finally:
            subprocess.run(["umount", "-l", str(d)], capture_output=True, check=False)
    else:
        d.chmod(0o555)
        try:
            yield d
        finally:
            d.chmod(0o755)
