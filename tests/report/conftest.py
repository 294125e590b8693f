"""Fixtures of the HTML report tests: a shared headless Chromium, screenshot collection."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from cdp_browser import CHROMIUM, Browser


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory,
            require_system: Callable[[str], NoReturn]) -> Iterator[Browser]:
    if CHROMIUM is None:
        require_system("chromium is not installed (scripts/system-deps installs it on Debian)")
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[list[Path]]:
    """Screenshots a test writes; copied to $PERFGATE_SCREENSHOT_DIR when set."""
    written: list[Path] = []
    yield written
    target = os.environ.get("PERFGATE_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for p in written:
            shutil.copy2(p, Path(target) / p.name)
