"""02:00 Asia/Shanghai: the full, price and stock syncs start at the same instant against one rate-limited account.

Three ``dagster job execute`` processes (one Dagster home, as a CLI run beside the daemon's would be),
one sandbox process enforcing Haier's 100 calls/s with 20 ms per call, 600 products. They share the
account's budget kept beside the catalogue (a file beside SQLite; a row in PostgreSQL under
``HAIER_TEST_DB=postgresql``) and wait for each other's catalogue locks: all three exit 0, the gateway
answers no 429 and never sees more than 100 calls in any one-second window, and the catalogue ends equal
to the sandbox's truth.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.sandbox import SandboxOptions, start_sandbox_process
from haier_pipeline.sandbox.wire import AnswerTime, WireProfile
from support.catalog_state import reading
from support.pipeline import assert_catalogue_matches, pipeline_env
from support.sync_process import prepare_home, spawn_sync

pytestmark = pytest.mark.slow

# Enough for every sync to spend seconds at the limit together (three unshared budgets would reach 300 calls in a
# second): ~1,300 gateway calls in all, about 13 s at the limit. One county keeps the stock calls to one per product.
PRODUCTS = 600
LIMIT = 100
COUNTY = "110101"
LISTING_SECONDS = 3.0
JOBS = ("haier_full_sync", "haier_price_sync", "haier_stock_sync")


def test_full_price_and_stock_syncs_started_together_all_succeed_within_one_budget(tmp_path: Path, catalog_url):
    # The listing answers in 3 s, as a whole listing can: every sync lists first, under the products lock, so the
    # three meet there even when a loaded machine spreads their starts by seconds.
    options = SandboxOptions(products=PRODUCTS, latency=0.02, rate_limit=LIMIT,
                             wire=WireProfile({"products": AnswerTime(LISTING_SECONDS)}))
    with start_sandbox_process(options) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_RATE_LIMIT=str(LIMIT), HAIER_COUNTY_CODES=COUNTY,
                           HAIER_IMAGE_RATE_LIMIT="200")
        home = prepare_home(tmp_path / "home")
        with dg.DagsterInstance.from_config(str(home)):
            pass  # create the instance's storage once: three processes creating it together would race
        children = {job: spawn_sync(env, home, tmp_path / f"{job}.log", job=job, cli=True) for job in JOBS}
        codes = {job: child.finish(timeout=240) for job, child in children.items()}
        outputs = {job: child.output() for job, child in children.items()}
        assert codes == dict.fromkeys(JOBS, 0), {job: outputs[job][-3000:] for job in JOBS if codes[job]}
        seen = sandbox.stats()
        assert seen.answered_429 == 0
        assert seen.max_calls_in_one_second <= LIMIT, seen.max_calls_in_one_second
        assert seen.calls["products"] == 3  # each sync listed once; the price and stock syncs list first
        assert_catalogue_matches(catalog_url, sandbox.catalogue, [COUNTY])
        with reading(catalog_url) as conn:
            rows = [dict(row) for row in conn.execute(select(tables.haier_sync_log)).mappings()]
        assert {row["status"] for row in rows} <= {"success", "partial"}, [r for r in rows if r["status"] == "failed"]
        kinds = sorted(row["sync_type"] for row in rows if row["sync_type"] != "manual")
        # The full sync also logs its images (issue 16's ``images`` sync type).
        assert kinds == sorted(["products"] * 3 + ["prices"] * 2 + ["stock"] * 2 + ["images"])
        # Two of them met a lock already held, and said whom they waited for instead of failing.
        assert sum("waiting for run" in output for output in outputs.values()) >= 1
    release_database(catalog_url)
