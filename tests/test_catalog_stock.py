"""Stock per county in product_stock; the first county mirrored onto Haier products only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.writes import (
    WriteCounts,
    ensure_brands,
    ensure_categories,
    mirror_first_county,
    upsert_product_stock,
    upsert_products,
)
from support.catalog_db import migrated_catalog_url_for_tests
from support.catalog_records import T0, later, product, stock

P, S = tables.products, tables.product_stock
BEIJING, SHANGHAI = "110101", "310101"


@pytest.fixture
def engine(tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path, request)
    engine = prepare_database(url)
    with engine.begin() as conn:
        upsert_products(conn, [product("GA1"), product("GA2")], ensure_brands(conn, ["海尔"]),
                        ensure_categories(conn, ["电热水器"]), T0)
        conn.execute(
            P.insert().values(product_code="LOCAL1", name="自营", source="local", stock=7, warehouse_code="MINE")
        )
    yield engine
    release_database(url)


def product_row(conn, code):
    return conn.execute(select(P).where(P.c.product_code == code)).mappings().one()


def stock_rows(conn):
    query = select(S.c.product_code, S.c.county_code, S.c.stock, S.c.synced_at).order_by(
        S.c.product_code, S.c.county_code
    )
    return [tuple(r) for r in conn.execute(query)]


def test_every_county_is_stored_and_the_first_is_mirrored(engine):
    records = [stock("GA1", BEIJING, 12), stock("GA1", SHANGHAI, 3, warehouse_code="SH9", warehouse_grade="1"),
               stock("GA2", SHANGHAI, 5)]
    with engine.begin() as conn:
        assert upsert_product_stock(conn, records, BEIJING, T0) == WriteCounts(inserted=3)
        assert stock_rows(conn) == [("GA1", BEIJING, 12, T0), ("GA1", SHANGHAI, 3, T0), ("GA2", SHANGHAI, 5, T0)]
        ga1, ga2 = product_row(conn, "GA1"), product_row(conn, "GA2")
    assert (ga1["stock"], ga1["warehouse_code"], ga1["warehouse_grade"]) == (12, "WH01", "0")
    assert ga1["last_changed_at"] == T0
    assert (ga2["stock"], ga2["warehouse_code"]) == (0, None), "GA2 has no first-county record: untouched"


def test_synced_at_moves_only_when_a_row_changes_and_unchanged_stock_writes_nothing(engine):
    records = [stock("GA1", BEIJING, 12), stock("GA1", SHANGHAI, 3)]
    with engine.begin() as conn:
        upsert_product_stock(conn, records, BEIJING, T0)
    with count_statements(engine) as counted, engine.begin() as conn:
        assert upsert_product_stock(conn, records, BEIJING, later(30)) == WriteCounts(unchanged=2)
    assert counted.writes == 0, counted.write_sql
    with engine.begin() as conn:
        counts = upsert_product_stock(conn, [stock("GA1", BEIJING, 11), stock("GA1", SHANGHAI, 3)], BEIJING, later(60))
        assert counts == WriteCounts(updated=1, unchanged=1)
        assert stock_rows(conn) == [("GA1", BEIJING, 11, later(60)), ("GA1", SHANGHAI, 3, T0)]
        assert product_row(conn, "GA1")["stock"] == 11


def test_local_products_keep_their_stock(engine):
    with engine.begin() as conn:
        before = product_row(conn, "LOCAL1")
        assert upsert_product_stock(conn, [stock("LOCAL1", BEIJING, 99)], BEIJING, T0) == WriteCounts(inserted=1)
        assert product_row(conn, "LOCAL1") == before
        assert mirror_first_county(
            conn, [stock("LOCAL1", BEIJING, 98), stock("NOPE", BEIJING, 1), stock("GA1", BEIJING, 4)], BEIJING, later(1)
        ) == WriteCounts(updated=1, skipped=2)


def test_duplicates_collapse_and_blank_keys_fail(engine):
    with engine.begin() as conn:
        counts = upsert_product_stock(
            conn, [stock("GA1", BEIJING, 1), stock("GA1", BEIJING, 2), stock("", BEIJING, 3)], None, T0
        )
        assert counts == WriteCounts(inserted=1, failed=1)
        assert stock_rows(conn) == [("GA1", BEIJING, 2, T0)]
        assert product_row(conn, "GA1")["stock"] == 0, "first_county=None skips the mirror"
