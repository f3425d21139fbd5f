"""Debian's chromium for the UI tests, driven by Playwright (no browser download, no network)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


def show_asset_graph(page: Any, base_url: str, assets: Iterable[str]) -> None:
    """Open the global asset graph with every group expanded and wait until each of ``assets`` shows."""
    page.goto(f"{base_url}/asset-groups")
    # The global lineage may start with its groups collapsed: expand them from the graph's settings menu,
    # which sits with the zoom controls (wait for those, or the navigation's own Settings is the last one).
    page.locator("button:has([aria-label='zoom_in'])").first.wait_for(state="visible")
    page.locator("button:has([aria-label='settings'])").last.click()
    toggle = page.get_by_role("menuitem", name=re.compile(r"(Expand|Collapse) all groups"))
    toggle.wait_for(state="visible")
    if toggle.inner_text().startswith("Expand"):
        toggle.click()
    page.keyboard.press("Escape")
    for name in assets:
        page.get_by_text(name, exact=True).first.wait_for(state="visible")


def show_asset_columns(page: Any, base_url: str, asset: str, first_column: str) -> str:
    """Open ``asset``'s overview and return the text of its Columns table once ``first_column`` shows in it."""
    page.goto(f"{base_url}/assets/{asset}?view=overview")
    page.get_by_text("Columns", exact=True).first.wait_for(state="visible")
    page.get_by_text(first_column, exact=True).first.wait_for(state="visible")
    return page.locator("body").inner_text()
