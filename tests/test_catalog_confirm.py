"""Last confirmed beside last changed: one statement per step copies Haier's confirmations onto the catalogue,
and a product (or product × county) whose call failed keeps its older confirmation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.confirm import confirm_prices, confirm_stock
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.raw_store import store_raw_prices, store_raw_stock
from haier_pipeline.catalog.writes import (
    apply_prices,
    ensure_brands,
    ensure_categories,
    upsert_product_stock,
    upsert_products,
)
from support.catalog_db import migrated_catalog_url_for_tests
from support.catalog_records import T0, later, price, product, stock

CODES = ("GA1", "GA2")
COUNTIES = ("110101", "310101")


@pytest.fixture
def engine(tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path, request)
    yield prepare_database(url)
    release_database(url)


def sync(conn, codes, counties, now):
    """What the raw and catalogue steps do for the answers Haier gave (``codes``/``counties`` answered)."""
    store_raw_prices(conn, [(code, {"productCode": code, "supplyPrice": "2999.00"}) for code in codes], "run", now)
    store_raw_stock(conn, [(code, county, {"stock": "12"}) for code in codes for county in counties], "run", now)
    apply_prices(conn, [price(code) for code in CODES], now)  # the catalogue re-applies every stored answer
    upsert_product_stock(conn, [stock(code, county) for code in CODES for county in COUNTIES], COUNTIES[0], now)
    return confirm_prices(conn), confirm_stock(conn, COUNTIES)


def state(conn):
    p, s = tables.products, tables.product_stock
    products = {row.product_code: (row.last_sync_at, row.last_changed_at)
                for row in conn.execute(select(p.c.product_code, p.c.last_sync_at, p.c.last_changed_at))}
    stock_rows = {(row.product_code, row.county_code): (row.confirmed_at, row.synced_at)
                  for row in conn.execute(select(s.c.product_code, s.c.county_code, s.c.confirmed_at, s.c.synced_at))}
    return products, stock_rows


def test_unchanged_answers_move_last_confirmed_only_and_failed_calls_keep_theirs(engine):
    with engine.begin() as conn:
        records = [product(code) for code in CODES]
        upsert_products(conn, records, ensure_brands(conn, ["海尔"]), ensure_categories(conn, ["电热水器"]), T0)
        assert sync(conn, CODES, COUNTIES, T0) == (2, 4)
        assert state(conn) == ({code: (T0, T0) for code in CODES},
                               {(code, county): (T0, T0) for code in CODES for county in COUNTIES})
    # Re-sync, nothing changed: GA2's price call and GA1 × 310101's stock call failed.
    with engine.begin() as conn, count_statements(engine) as counted:
        store_raw_prices(conn, [("GA1", {"productCode": "GA1", "supplyPrice": "2999.00"})], "run", later(5))
        store_raw_stock(conn, [("GA1", "110101", {"stock": "12"}), ("GA2", "110101", {"stock": "12"}),
                               ("GA2", "310101", {"stock": "12"})], "run", later(5))
        apply_prices(conn, [price(code) for code in CODES], later(6))
        upsert_product_stock(conn, [stock(code, county) for code in CODES for county in COUNTIES], COUNTIES[0],
                             later(6))
        assert (confirm_prices(conn), confirm_stock(conn, COUNTIES)) == (1, 3)
        products, stock_rows = state(conn)
    assert products == {"GA1": (later(5), T0), "GA2": (T0, T0)}
    assert stock_rows == {("GA1", "110101"): (later(5), T0), ("GA1", "310101"): (T0, T0),
                          ("GA2", "110101"): (later(5), T0), ("GA2", "310101"): (later(5), T0)}
    # One stamp per raw table, one copy per catalogue table: nothing per row, no value rewritten.
    assert [sql.split(" WHERE")[0].split("=")[0] for sql in counted.write_sql] == [
        "UPDATE haier_raw_prices SET confirmed_at", "UPDATE haier_raw_stock SET confirmed_at",
        "UPDATE products SET last_sync_at", "UPDATE product_stock SET confirmed_at"], counted.write_sql
