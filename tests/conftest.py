"""Shared test setup: telemetry off, the developer's HAIER_* settings kept out, two counties.

Tests that build the definitions from the environment (``build_definitions(load_settings())``)
get these two counties as their stock partitions; nothing in the package reads them at import.
``HAIER_TEST_DB=postgresql`` moves every catalog database to a PostgreSQL server the tests start
themselves (see ``support/catalog_db.py``).
"""

from __future__ import annotations

import os
import tempfile

KEPT = {"HAIER_TEST_DB", "HAIER_TEST_PG_URL", "HAIER_TEST_PG_BIN"}
for _name in [name for name in os.environ if name.startswith("HAIER_") and name not in KEPT]:
    del os.environ[_name]
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
os.environ["HAIER_COUNTY_CODES"] = "110101,310104"
os.environ["HAIER_DATA_DIR"] = tempfile.mkdtemp(prefix="haier-test-data-")

import pytest  # noqa: E402

from support.catalog_db import catalog_url_for_tests, migrated_catalog_url_for_tests  # noqa: E402


@pytest.fixture
def catalog_url(tmp_path, request) -> str:
    """An empty catalog database private to this test: SQLite, or PostgreSQL under HAIER_TEST_DB.

    A test that takes the migrated ``catalog`` too gets it at the schema's head already (on PostgreSQL a
    copy of a template migrated once per session, instead of two seconds of migrations per test).
    """
    if "catalog" in request.fixturenames:
        return migrated_catalog_url_for_tests(tmp_path, request)
    return catalog_url_for_tests(tmp_path, request)


@pytest.fixture
def catalog(catalog_url):
    """A migrated, empty catalogue as the resource assets and sensors take."""
    from haier_pipeline.catalog.engine import prepare_database, release_database
    from haier_pipeline.resources import CatalogResource

    prepare_database(catalog_url)
    yield CatalogResource(db_url=catalog_url)
    release_database(catalog_url)


@pytest.fixture
def instance():
    """An ephemeral Dagster instance, closed after the test."""
    import dagster as dg

    with dg.DagsterInstance.ephemeral() as dagster_instance:
        yield dagster_instance


# Modules that never open a catalog database (or always open their own SQLite one): the PostgreSQL pass
# would run them unchanged, so they run once, in the SQLite pass. So do tests marked
# ``catalog_independent``: they touch the catalogue, but what they check cannot differ between the two.
# Every other test that touches the catalogue runs in both passes.
DATABASE_INDEPENDENT = (
    "test_sandbox_", "test_client_", "test_settings_", "test_media_policy", "test_media_validate",
    "test_media_store", "test_media_options", "test_automation_alerts", "test_automation_schedules",
    "test_automation_concurrency", "test_automation_cli", "test_deploy_proxy",
    "test_metadata_markdown", "test_ui_browser",
)


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get("HAIER_TEST_DB", "sqlite") != "postgresql":
        return
    skip = pytest.mark.skip(reason="runs in the SQLite pass only: nothing it checks depends on the catalog database")
    for item in items:
        if item.path.name.startswith(DATABASE_INDEPENDENT) or item.get_closest_marker("catalog_independent"):
            item.add_marker(skip)
