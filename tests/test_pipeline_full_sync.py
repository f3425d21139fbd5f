"""The full sync as users run it: `dagster job execute` against a standalone sandbox, then the
catalogue compared field by field with the sandbox's own data, and the sync log's counts."""

import os

import pytest
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.sandbox import SandboxOptions, start_sandbox_process
from support.pipeline import assert_catalogue_matches, catalogue_rows, dagster_cli, pipeline_env

pytestmark = pytest.mark.slow


def test_dagster_job_execute_syncs_2000_products_exactly(tmp_path, catalog_url):
    options = SandboxOptions(products=2000, rate_limit=1000)
    with start_sandbox_process(options) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_RATE_LIMIT="900")
        done = dagster_cli(["job", "execute", "-m", "haier_pipeline.definitions", "-j", "haier_full_sync"],
                           env, tmp_path / "home")
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        truth = sandbox.catalogue
        served = sandbox.stats()
    counties = os.environ["HAIER_COUNTY_CODES"].split(",")
    assert_catalogue_matches(catalog_url, truth, counties)

    products = catalogue_rows(catalog_url, "products")
    assert len(products) == len(truth.expected_products())  # duplicates in the listing produce one row
    assert truth.duplicate_count > 0 and truth.malformed_count > 0

    logs = {row["sync_type"]: row for row in catalogue_rows(catalog_url, "haier_sync_log")}
    product_log = logs["products"]
    assert product_log["status"] == "partial"
    assert product_log["failed_count"] == truth.malformed_count
    assert product_log["success_count"] == len(truth.expected_products())
    assert product_log["message"].count("products: ") == truth.malformed_count  # each malformed record named
    assert {row["status"] for row in logs.values()} <= {"success", "partial"}
    assert all(row["run_id"] and row["completed_at"] for row in logs.values())
    assert logs["prices"]["status"] == "success" and logs["stock"]["status"] == "success"
    assert served.answered_429 == 0 and served.answered_400 == 0
    assert served.max_product_codes <= 20
    release_database(catalog_url)
