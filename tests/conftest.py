"""Shared test setup: telemetry off, the developer's HAIER_* settings kept out, two counties.

This runs before any test module imports ``haier_pipeline``, so the county partitions are
built from the counties set here. ``HAIER_TEST_DB=postgresql`` moves every catalog database
to a PostgreSQL server the tests start themselves (see ``support/catalog_db.py``).
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

from support.catalog_db import catalog_url_for_tests  # noqa: E402


@pytest.fixture
def catalog_url(tmp_path, request) -> str:
    """An empty catalog database private to this test: SQLite, or PostgreSQL under HAIER_TEST_DB."""
    return catalog_url_for_tests(tmp_path, request)
