"""The same full sync twice gives the same catalogue, byte for byte, timestamps aside, and writes nothing the
second time.

Every catalog table (raw payloads, catalog, images, history; not the sync log or the rejected image URLs,
which are diaries)
is dumped with its rows sorted and its timestamp columns left out, values ``repr``-ed so a
``Decimal('2999.00')`` and a ``Decimal('2999.0')`` differ. So a re-run after a crash that had in
fact finished, or a scheduled sync with nothing new upstream, changes nothing.
"""

from __future__ import annotations

import dagster as dg
import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from support.catalog_state import canonical_dump, media_files
from support.pipeline import pipeline_env, run_job

pytestmark = pytest.mark.slow

CATALOG_ASSETS = ("brands", "categories", "products", "product_stock")


def written(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """Rows each catalog asset says it inserted or updated."""
    counts: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        key = event.asset_key.to_user_string()
        if key in CATALOG_ASSETS and "rows_written" in metadata:
            counts[key] = counts.get(key, 0) + metadata["rows_written"].value
    return counts


def test_the_same_sync_twice_leaves_the_catalogue_byte_identical(tmp_path, catalog_url):
    with run_sandbox(SandboxOptions(products=120, seed=9, rate_limit=None)) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_RATE_LIMIT="500", HAIER_IMAGE_RATE_LIMIT="500")
        first = run_job(env)
        after_first = canonical_dump(catalog_url)
        files_first = sorted(media_files(tmp_path / "media"))
        second = run_job(env)
        after_second = canonical_dump(catalog_url)
        files_second = sorted(media_files(tmp_path / "media"))

    assert sum(written(first).values()) > 0 and files_first
    assert all(after_first[table] for table in ("haier_raw_products", "haier_raw_prices", "haier_raw_stock", "brands",
                                                "categories", "products", "product_stock", "media_images"))
    assert after_second.keys() == after_first.keys()
    for table in after_first:
        assert after_second[table] == after_first[table], f"{table} changed on an identical re-sync"
    assert files_second == files_first  # no image downloaded or stored again
    assert written(second) == dict.fromkeys(written(second), 0)  # and nothing was even rewritten
    release_database(catalog_url)
