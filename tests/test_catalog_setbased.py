"""Writes are set-based: the statement count depends on chunks, not rows, and a no-op re-sync writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from haier_pipeline.catalog.bulk import CHUNK_SIZE
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.raw_store import store_raw_prices, store_raw_products, store_raw_stock
from haier_pipeline.catalog.writes import (
    WriteCounts,
    apply_prices,
    ensure_brands,
    ensure_categories,
    upsert_product_stock,
    upsert_products,
)
from support.catalog_db import migrated_catalog_url_for_tests
from support.catalog_records import T0, codes, later, price, product, stock


@pytest.fixture
def engine(tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path, request)
    yield prepare_database(url)
    release_database(url)


def full_sync(
    engine, count: int, now, *, model: str = "EC6001", supply: str = "2999.00", qty: int = 12
) -> list[WriteCounts]:
    """Everything a full sync writes for ``count`` products, in one transaction."""
    all_codes = codes(count)
    products = [product(code, product_model=model) for code in all_codes]
    with engine.begin() as conn:
        brand_ids = ensure_brands(conn, {p.brand_name for p in products})
        category_ids = ensure_categories(conn, {p.product_group for p in products})
        return [
            store_raw_products(conn, [(c, {"productCode": c, "productModel": model}) for c in all_codes], "run", now),
            store_raw_prices(
                conn, [(c, {"productCode": c, "supplyPrice": Decimal(supply)}) for c in all_codes], "run", now
            ),
            store_raw_stock(conn, [(c, "110101", {"stock": str(qty)}) for c in all_codes], "run", now),
            upsert_products(conn, products, brand_ids, category_ids, now),
            apply_prices(conn, [price(code, supply) for code in all_codes], now),
            upsert_product_stock(conn, [stock(code, qty=qty) for code in all_codes], "110101", now),
        ]


def test_statement_count_does_not_grow_with_rows(engine, tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path / "small", request)
    small_engine = prepare_database(url)
    try:
        with count_statements(small_engine) as small:
            full_sync(small_engine, 10, T0)
        with count_statements(engine) as large:
            counts = full_sync(engine, CHUNK_SIZE, T0)
    finally:
        release_database(url)
    assert counts[0] == counts[1] == counts[2] == counts[3] == counts[5] == WriteCounts(inserted=CHUNK_SIZE)
    assert counts[4] == WriteCounts(updated=CHUNK_SIZE)  # prices land on the products just inserted
    assert (large.writes, large.reads) == (small.writes, small.reads)
    assert 9 <= large.writes <= 12, large.write_sql  # ~one INSERT per table written (+ the products UPDATEs)


def test_a_changed_resync_updates_in_bulk_and_an_unchanged_one_writes_nothing(engine):
    full_sync(engine, CHUNK_SIZE, T0)
    with count_statements(engine) as changed:
        counts = full_sync(engine, CHUNK_SIZE, later(60), model="EC7001", supply="2899.00", qty=11)
    assert [c.updated for c in counts] == [CHUNK_SIZE] * 6
    assert 6 <= changed.writes <= 8, changed.write_sql
    with count_statements(engine) as unchanged:
        counts = full_sync(engine, CHUNK_SIZE, later(120), model="EC7001", supply="2899.00", qty=11)
    assert [c.unchanged for c in counts] == [CHUNK_SIZE] * 6
    # Only Haier's confirmation of the unchanged answers: one set-based stamp per raw table and chunk.
    assert [sql.split(" WHERE")[0] for sql in unchanged.write_sql] == [
        "UPDATE haier_raw_prices SET confirmed_at=:confirmed_at",
        "UPDATE haier_raw_stock SET confirmed_at=:confirmed_at",
    ], unchanged.write_sql


def test_more_rows_cost_one_statement_set_per_chunk(engine):
    with count_statements(engine) as counted:
        full_sync(engine, 2 * CHUNK_SIZE + 1, T0)
    # three chunks; per chunk at most one read and one write per writer (stock mirrors with one more of each)
    assert counted.writes <= 3 * 8
    assert counted.reads <= 3 * 9 + 4


def _tables_snapshot(engine) -> dict[str, list[dict]]:
    from sqlalchemy import select

    from haier_pipeline.catalog import tables

    volatile = {"id", "brand_id", "category_id"}
    with engine.connect() as conn:
        return {
            table.name: sorted(({k: v for k, v in row.items() if k not in volatile}
                                for row in conn.execute(select(table)).mappings()), key=repr)
            for table in (tables.products, tables.product_stock, tables.haier_raw_products, tables.haier_raw_prices,
                          tables.haier_raw_stock)
        }


def test_large_chunks_land_exactly_as_small_ones(engine, tmp_path, request, monkeypatch):
    """On PostgreSQL big chunks go through COPY + one INSERT … SELECT / UPDATE … FROM; the rows must be identical."""
    from haier_pipeline.catalog import bulk

    url = migrated_catalog_url_for_tests(tmp_path / "plain", request)
    plain_engine = prepare_database(url)
    try:
        with count_statements(engine) as copied:
            full_sync(engine, 120, T0)
            full_sync(engine, 120, later(60), model="EC7001", supply="2899.00", qty=11)
        monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 10**9)  # every chunk as a plain executemany
        full_sync(plain_engine, 120, T0)
        full_sync(plain_engine, 120, later(60), model="EC7001", supply="2899.00", qty=11)
        assert _tables_snapshot(engine) == _tables_snapshot(plain_engine)
    finally:
        release_database(url)
    staged = [sql for sql in copied.write_sql if "_copy_" in sql]
    if engine.dialect.name == "postgresql":
        assert staged, copied.write_sql  # the COPY path was taken: INSERT … SELECT / UPDATE … FROM the staged rows
    else:
        assert staged == []
