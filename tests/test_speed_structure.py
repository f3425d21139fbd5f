"""The structure behind the sync's speed (not timed): no wasted calls, full batches, set-based writes,
and re-syncs that write only what changed.

Runs the benchmark's own harness (``benchmarks/pipeline_sync.py``: the ``haier_full_sync`` job minus
images, in-process) against an in-process sandbox with no latency, so it takes seconds.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.pipeline_sync import CATALOG_TABLES, SYNC_ASSETS, SyncRun, run_sync  # noqa: E402
from haier_pipeline.catalog.engine import release_database  # noqa: E402
from haier_pipeline.definitions import build_definitions  # noqa: E402
from haier_pipeline.defs.sync.raw import STOCK_CHUNK  # noqa: E402
from haier_pipeline.haier_api.client import HaierClient  # noqa: E402
from haier_pipeline.sandbox import SandboxOptions, SandboxStats, run_sandbox  # noqa: E402
from haier_pipeline.settings import load_settings  # noqa: E402
from support.pipeline import pipeline_env, project_env  # noqa: E402

pytestmark = pytest.mark.slow  # quick loop: every test reads a 2-size sync pair (module fixtures) (docs/testing.md)

SMALL, LARGE = 70, 290  # neither a multiple of 20: the last price batch is short
BATCH = 20


class Sync:
    """One sandbox and catalog: the first sync, an unchanged re-sync, and a re-sync after prices moved."""

    def __init__(self, sandbox, counties: list[str]) -> None:
        self.sandbox = sandbox
        self.counties = counties
        self.first: SyncRun
        self.first_served: SandboxStats
        self.price_batches: list[int] = []
        self.unchanged: SyncRun
        self.moved: SyncRun
        self.prices_moved = 0


def _record_price_batches(monkeypatch: pytest.MonkeyPatch, sizes: list[int]) -> None:
    original = HaierClient.fetch_prices

    def fetch_prices(self: HaierClient, codes):  # type: ignore[no-untyped-def]
        for result in original(self, codes):
            sizes.append(len(result.product_codes))
            yield result

    monkeypatch.setattr(HaierClient, "fetch_prices", fetch_prices)


def _run(size: int, tmp: Path, resyncs: bool) -> Iterator[Sync]:
    options = SandboxOptions(products=size, rate_limit=2000, changes="prices")
    catalog_url = f"sqlite:///{tmp / 'catalog.sqlite'}"
    with run_sandbox(options) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp, HAIER_RATE_LIMIT="1500")
        with project_env(env), pytest.MonkeyPatch.context() as patch:
            settings = load_settings()
            defs = build_definitions(settings)
            sync = Sync(sandbox, list(settings.county_codes))
            before_prices = sandbox.catalogue.expected_prices()
            sandbox.reset_stats()
            _record_price_batches(patch, sync.price_batches)
            sync.first = run_sync(defs, "haier_full_sync", SYNC_ASSETS, catalog_url)
            sync.first_served = sandbox.stats()
            patch.undo()
            if resyncs:
                sync.unchanged = run_sync(defs, "haier_full_sync", SYNC_ASSETS, catalog_url)
                moved = sandbox.advance().expected_prices()
                sync.prices_moved = sum(1 for code, price in moved.items() if before_prices.get(code) != price)
                sync.moved = run_sync(defs, "haier_full_sync", SYNC_ASSETS, catalog_url)
            try:
                yield sync
            finally:
                release_database(catalog_url)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Iterator[Sync]:
    yield from _run(SMALL, tmp_path_factory.mktemp("speed-small"), resyncs=False)


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Iterator[Sync]:
    yield from _run(LARGE, tmp_path_factory.mktemp("speed-large"), resyncs=True)


def test_calls_made_equal_the_floor_count(large: Sync) -> None:
    """listing + ceil(listed / 20) price batches + procurable products x counties stock calls, nothing more."""
    truth = large.sandbox.catalogue
    listed = truth.expected_products()
    procurable = [code for code, product in listed.items() if product.is_sales == "1"]
    assert 0 < len(procurable) < len(listed)  # the sandbox lists some products that cannot be bought
    served = large.first_served
    expected = {"products": 1, "prices": math.ceil(len(listed) / BATCH), "stock": len(procurable) * len(large.counties)}
    assert len(large.counties) == 2
    assert served.calls == expected
    assert served.total_calls == sum(expected.values())
    assert served.answered_429 == 0 and served.answered_400 == 0


def test_price_batches_are_full_but_the_last(large: Sync) -> None:
    sizes = large.price_batches
    listed = len(large.sandbox.catalogue.expected_products())
    assert sum(sizes) == listed and len(sizes) == math.ceil(listed / BATCH)
    assert max(sizes) == BATCH and large.first_served.max_product_codes == BATCH
    short = [size for size in sizes if size < BATCH]
    assert short == [listed % BATCH]  # exactly one short batch: the remainder


# Stock answers are stored STOCK_CHUNK at a time, so a killed pass resumes where it stopped (docs/stock-freshness.md):
# those tables take one statement set per chunk, never one per row.
STORED_FOR_RESUME = ("haier_raw_stock", "stock_refresh_state")


def _stock_pairs(sync: Sync) -> int:
    listed = sync.sandbox.catalogue.expected_products()
    return sum(1 for product in listed.values() if product.is_sales == "1") * len(sync.counties)


def test_writes_are_set_based_and_do_not_grow_with_rows(small: Sync, large: Sync) -> None:
    """Four times the rows, the same statements per table (both sizes fit one 1,000-row chunk), but for the stock
    answers, whose statements follow their chunks."""
    assert large.first.catalog_rows_written > 3 * small.first.catalog_rows_written

    def rest(sync: Sync) -> dict[str, int]:
        return {table: n for table, n in sync.first.write_statements.items() if table not in STORED_FOR_RESUME}

    assert rest(large) == rest(small)
    for sync in (small, large):
        chunks = math.ceil(_stock_pairs(sync) / STOCK_CHUNK)
        for table in STORED_FOR_RESUME:
            assert 1 <= sync.first.write_statements[table] <= chunks, (table, chunks)
    for table in ("products", "product_stock"):  # the rows, then Haier's confirmation copied in one statement
        assert 1 <= large.first.write_statements[table] <= 4
    assert large.first.catalog_write_statements < large.first.catalog_rows_written / 50


def test_an_unchanged_resync_writes_no_catalog_rows(large: Sync) -> None:
    assert large.first.catalog_rows_written > 0  # the first sync did write, so zero below means something
    assert large.unchanged.catalog_rows_written == 0
    written = {table: count for table, count in large.unchanged.write_statements.items() if table in CATALOG_TABLES}
    # Only Haier's confirmation, one set-based statement per table (docs/audit-log.md): no row changed.
    assert written == {"products": 1, "product_stock": 1}


def test_a_resync_after_prices_moved_writes_only_those_products(large: Sync) -> None:
    assert large.prices_moved >= 1
    assert large.moved.number("products", "price_rows_written") == large.prices_moved
    assert large.moved.number("product_stock", "rows_written") == 0
    assert large.moved.write_statements["products"] <= 2


def test_a_prices_only_sandbox_generation_moves_5_percent_of_prices_and_nothing_else() -> None:
    """The sandbox option behind the benchmark's "5 % of prices changed" re-sync."""
    from haier_pipeline.sandbox import Catalogue

    before = Catalogue(400, seed=3, changes="prices")
    after = before.next_generation()
    assert after.changes == "prices" and after.generation == 1
    assert after.listing_codes() == before.listing_codes()
    assert after.expected_stock("110101") == before.expected_stock("110101")
    old, new = before.expected_prices(), after.expected_prices()
    moved = [code for code in old if old[code] != new[code]]
    assert len(moved) == round(0.05 * len(before.state.listed()))
    everything = Catalogue(400, seed=3).next_generation()  # the default still delists and adds
    assert everything.listing_codes() != before.listing_codes()
