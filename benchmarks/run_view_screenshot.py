"""Screenshot the Dagster UI's run view of a first full sync: images download while stock is fetched.

    .venv/bin/python benchmarks/run_view_screenshot.py --products 2000 [--latency 0.02]

Starts the sandbox (its own process) and ``dagster dev`` (``tests/support/dagster_dev.py``: its own
``DAGSTER_HOME``, a free port), launches ``haier_full_sync`` as a user would from the UI, waits for
it, then opens the run's page in Debian's headless Chromium (Playwright) and saves the timeline to
``benchmarks/results/<date>-run-view-<products>.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
RESULTS = ROOT / "benchmarks" / "results"
CHROMIUM = "/usr/bin/chromium"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the run")
    args = parser.parse_args(argv)

    from haier_pipeline.sandbox import SandboxOptions, start_sandbox_process
    from support.dagster_dev import dagster_dev

    scratch = Path(tempfile.mkdtemp(prefix="haier-run-view-"))
    data = scratch / "data"
    options = SandboxOptions(products=args.products, latency=args.latency)
    with start_sandbox_process(options) as sandbox:
        env = {**sandbox.env(), "HAIER_DATA_DIR": str(data), "HAIER_MEDIA_ROOT": str(data / "media"),
               "HAIER_CATALOG_DB_URL": f"sqlite:///{data / 'catalog.sqlite'}", "HAIER_COUNTY_CODES": "110101"}
        with dagster_dev(scratch / "dagster_home", env) as server:
            server.graphql("mutation { setNuxSeen }")
            run_id = server.launch_run("haier_full_sync")
            status = server.wait_for_run(run_id, args.timeout)
            if status != "SUCCESS":
                raise SystemExit(f"run {run_id} ended {status}: {server.run_failure_messages(run_id)}")
            out = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-run-view-{args.products}.png"
            screenshot_run(server.url, run_id, out)
    print(f"run {run_id}: {status}; screenshot written to {out}")
    return 0


def screenshot_run(url: str, run_id: str, out: Path) -> None:
    """Save the run page of ``run_id`` (its Gantt timeline: image_files beside haier_raw_stock) as a PNG."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1800, "height": 1400})
        page.set_default_timeout(120_000)
        page.goto(f"{url}/runs/{run_id}")
        page.locator('[data-tooltip="image_files"]').first.wait_for()
        page.wait_for_load_state("networkidle")
        # Give the timeline most of the page: drag the divider above the event log down.
        toolbar = page.get_by_role("button", name="Events").first.bounding_box()
        if toolbar is not None:
            page.mouse.move(900, toolbar["y"] - 6)
            page.mouse.down()
            page.mouse.move(900, 1250, steps=10)
            page.mouse.up()
        page.mouse.move(1790, 1390)  # away from the chart: its step filter only floats over it on hover
        page.wait_for_timeout(500)  # the chart re-lays out after the drag (an animation, not a network wait)
        page.screenshot(path=str(out), full_page=False)
        browser.close()


def screenshot_finished_run(home: Path, env: dict[str, str], run_id: str, out: Path) -> None:
    """Open a read-only webserver over a finished run's ``DAGSTER_HOME`` and screenshot the run's page."""
    from support.dagster_dev import read_only_webserver

    with read_only_webserver(home, env) as server:
        server.graphql("mutation { setNuxSeen }")
        screenshot_run(server.url, run_id, out)


if __name__ == "__main__":
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    sys.exit(main())
