"""The UI, for real: ``dagster dev`` (webserver + daemon) against a sandbox, a full sync launched through
GraphQL, then headless Chromium showing the asset graph and the finished run.

Also proves the run queue on a live daemon: two full syncs launched together run one after the
other (dagster.yaml allows one run per sync kind). Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from haier_pipeline.catalog import tables
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from support.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, show_asset_columns, show_asset_graph
from support.dagster_dev import DagsterDev, dagster_dev

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).parent / "artifacts"
RUN_TIMEOUT = 300.0
PAGE_TIMEOUT_MS = 60_000
ASSETS = ["haier_raw_products", "haier_raw_prices", "haier_raw_stock", "brands", "categories", "products",
          "product_stock", "product_images"]
SENSORS = ["haier_sync_failure_sensor", "haier_sync_failure_rate_sensor", "haier_freshness_sensor"]
SENSOR_TICKS = """
query Ticks($name: String!) {
  sensorOrError(sensorSelector: {
    repositoryLocationName: "haier_pipeline", repositoryName: "__repository__", sensorName: $name
  }) {
    ... on Sensor { sensorState { status ticks(limit: 5) { status error { message } } } }
  }
}
"""
CHECK_EXECUTIONS = """
query Checks($path: [String!]!, $name: String!) {
  assetCheckExecutions(assetKey: {path: $path}, checkName: $name, limit: 20) { runId status }
}
"""
LATEST_METADATA = """
query Metadata($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) {
    ... on Asset {
      assetMaterializations(limit: 1) { runId metadataEntries { label ... on IntMetadataEntry { intValue } } }
    }
  }
}
"""
RUN_TIMES = """
query Times($runId: ID!) { runOrError(runId: $runId) { ... on Run { status startTime endTime } } }
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> DagsterDev:
    require_chromium()
    data = tmp_path_factory.mktemp("data")
    # 100 products list about 230 image URLs: enough for the images pass to start its worker processes.
    with run_sandbox(SandboxOptions(products=100)) as sandbox:
        env = {
            **sandbox.env(),
            "HAIER_DATA_DIR": str(data),
            "HAIER_CATALOG_DB_URL": f"sqlite:///{data / 'catalog.sqlite'}",
            "HAIER_MEDIA_ROOT": str(data / "media"),
            "HAIER_COUNTY_CODES": "110101,310115",
            "HAIER_IMAGE_ALLOW_PRIVATE_HOSTS": "true",  # the sandbox serves its images on 127.0.0.1
        }
        with dagster_dev(tmp_path_factory.mktemp("dagster_home"), env) as running:
            assert running.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
            assert running.graphql("query { shouldShowNux }")["shouldShowNux"] is False
            yield running


@pytest.fixture(scope="module")
def full_sync_run(server: DagsterDev) -> str:
    run_id = server.launch_run("haier_full_sync")
    status = server.wait_for_run(run_id, RUN_TIMEOUT)
    assert status == "SUCCESS", f"{status}: {server.run_failure_messages(run_id)}\n{server.log_tail()}"
    return run_id


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_full_sync_launched_through_graphql_succeeds(full_sync_run, server):
    assert server.run_status(full_sync_run) == "SUCCESS"


@pytest.fixture
def final_screenshot(request, page):
    """Whatever the page shows when the test ends, pass or fail (the first thing to look at on a failure)."""
    yield
    screenshot(page, f"end-{request.node.name}")


def test_the_asset_graph_shows_every_asset(server, full_sync_run, page, final_screenshot):
    show_asset_graph(page, server.url, ASSETS)
    path = screenshot(page, "asset-graph")
    assert path.stat().st_size > 10_000


def test_the_products_columns_table_describes_every_column(server, page, final_screenshot):
    """Definition metadata: the descriptions show before (and whatever) any run; the UI renders their markdown."""
    page.set_viewport_size({"width": 1600, "height": 4000})  # the whole table in the screenshot
    text = show_asset_columns(page, server.url, "products", "supply_price")
    screenshot(page, "products-columns")
    shown = " ".join(text.split())
    missing = [column.name for column in tables.products.columns
               if column.name not in shown or " ".join((column.doc or "").replace("`", "").split())[:40] not in shown]
    assert not missing, f"columns shown without their description: {missing}"


def test_the_runs_page_shows_the_finished_run(server, full_sync_run, page, final_screenshot):
    page.goto(f"{server.url}/runs")
    link = page.locator(f"a[href*='/runs/{full_sync_run}']").first
    link.wait_for(state="visible")
    assert link.inner_text().strip() == full_sync_run[:8]
    # The innermost element holding the run's link, its job and its status is the run's row.
    row = (page.locator("div, tr").filter(has=link).filter(has_text="haier_full_sync")
           .filter(has=page.get_by_text("Success", exact=True))).last
    row.wait_for(state="visible")
    assert row.inner_text().count(full_sync_run[:8]) == 1  # one run's row, not the whole table
    screenshot(page, "runs")

    page.goto(f"{server.url}/runs/{full_sync_run}")
    # The timeline's box for the step. Its text is shortened in the middle when a slow run makes the box
    # narrow; its tooltip keeps the whole step key. The event rows naming it are scrolled out of the DOM.
    page.locator('[data-tooltip="haier_raw_products"]').first.wait_for(state="visible")
    screenshot(page, "full-sync-run")


def test_the_daemon_launched_run_downloads_images_in_worker_processes(server, full_sync_run):
    # The run worker the daemon starts spawns the image workers: the pass must not fall back to threads or hang.
    (latest,) = server.graphql(LATEST_METADATA, {"path": ["image_files"]})["assetOrError"]["assetMaterializations"]
    assert latest["runId"] == full_sync_run
    figures = {entry["label"]: entry.get("intValue") for entry in latest["metadataEntries"]}
    assert 1 <= figures["worker_processes"] <= 2
    assert figures["downloaded"] > 200
    landed = sum(figures[name] for name in ("reused", "downloaded", "deduplicated", "rejected"))
    assert landed == figures["image_urls"]


def test_two_syncs_of_one_kind_launched_together_run_one_after_the_other(server, full_sync_run):
    first, second = server.launch_run("haier_full_sync"), server.launch_run("haier_full_sync")
    for run_id in (first, second):
        assert server.wait_for_run(run_id, RUN_TIMEOUT) == "SUCCESS", server.run_failure_messages(run_id)
    times = {run_id: server.graphql(RUN_TIMES, {"runId": run_id})["runOrError"] for run_id in (first, second)}
    earlier, later = sorted(times.values(), key=lambda run: run["startTime"])
    assert later["startTime"] >= earlier["endTime"]  # queued until the other one finished


def test_the_daemon_ticks_every_sensor_and_the_freshness_sensor_reports_its_checks(server, full_sync_run):
    deadline = time.monotonic() + 120
    pending = set(SENSORS)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            state = server.graphql(SENSOR_TICKS, {"name": name})["sensorOrError"]["sensorState"]
            assert state["status"] == "RUNNING", name
            assert not [tick["error"] for tick in state["ticks"] if tick["error"]], name
            if state["ticks"]:
                pending.discard(name)
        if pending:
            time.sleep(1)  # the daemon is another process: poll its tick history
    assert not pending, f"no tick within 120 s: {pending}"
    executions = server.graphql(CHECK_EXECUTIONS, {"path": ["product_stock"], "name": "fresh_against_schedule"})
    runs = {execution["runId"] for execution in executions["assetCheckExecutions"]}
    assert full_sync_run in runs  # evaluated with the asset in the run...
    assert "" in runs  # ...and reported by the sensor between runs
