"""Debian's chromium for the UI tests, driven by Playwright (no browser download, no network)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require_tool(path: Path | str, package: str) -> None:
    """Skip without a Debian tool on a workstation; under CI (CI=true) its absence is a failure."""
    if Path(path).exists() or shutil.which(str(path)):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{path} is missing: .ci/run installs Debian's {package} before the tests")
    pytest.skip(f"{path} not installed (Debian's {package}); set CI=true to make this a failure")


def require_chromium() -> None:
    """Skip without Debian's chromium on a workstation; under CI (CI=true) its absence is a failure."""
    require_tool(CHROMIUM, "chromium")
