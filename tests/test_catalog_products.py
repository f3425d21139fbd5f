"""Products from the listing: inserts, updates, no-op re-syncs, local products untouched, delisting."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.writes import (
    WriteCounts,
    ensure_brands,
    ensure_categories,
    mark_delisted,
    product_name,
    upsert_products,
)
from support.catalog_db import migrated_catalog_url_for_tests
from support.catalog_records import T0, codes, later, product

P = tables.products


@pytest.fixture
def engine(tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path, request)
    yield prepare_database(url)
    release_database(url)


def sync(conn, records, now, **overrides):
    brand_ids = ensure_brands(conn, [r.brand_name for r in records])
    category_ids = ensure_categories(conn, [r.product_group for r in records])
    return upsert_products(conn, records, brand_ids, category_ids, now, **overrides)


def row(conn, code):
    return conn.execute(select(P).where(P.c.product_code == code)).mappings().one()


def test_insert_then_unchanged_resync_writes_nothing(engine):
    records = [product(code) for code in codes(5)]
    with engine.begin() as conn:
        assert sync(conn, records, T0) == WriteCounts(inserted=5)
        first = row(conn, records[0].product_code)
    assert first["source"] == "haier" and first["is_active"] is True
    assert first["name"] == f"海尔 {records[0].product_model} 电热水器" == product_name(records[0])
    assert first["product_page_urls"] == list(records[0].page_urls) and first["main_images"] == []
    assert first["created_at"] == first["updated_at"] == first["last_changed_at"] == T0
    with count_statements(engine) as counted, engine.begin() as conn:
        assert sync(conn, records, later(60)) == WriteCounts(unchanged=5)
        assert row(conn, records[0].product_code)["last_changed_at"] == T0, "an unchanged row keeps its last_changed_at"
    assert counted.writes == 0, counted.write_sql


def test_changed_listing_fields_update_the_row_and_its_timestamps(engine):
    with engine.begin() as conn:
        sync(conn, [product("GA1"), product("GA2")], T0)
        counts = sync(conn, [product("GA1", product_model="EC9999", page_urls=("u1", "u2")), product("GA2")], later(5))
        assert counts == WriteCounts(updated=1, unchanged=1)
        changed, same = row(conn, "GA1"), row(conn, "GA2")
    assert changed["product_model"] == "EC9999" and changed["product_page_urls"] == ["u1", "u2"]
    assert changed["name"] == "海尔 EC9999 电热水器"
    assert (changed["created_at"], changed["updated_at"], changed["last_changed_at"]) == (T0, later(5), later(5))
    assert same["last_changed_at"] == T0


def test_brand_and_category_come_from_the_listing_or_the_overrides(engine):
    with engine.begin() as conn:
        sync(conn, [product("GA1", brand_name="卡萨帝", product_group="冰箱")], T0)
        brand_id = conn.execute(select(tables.brands.c.id).where(tables.brands.c.name == "卡萨帝")).scalar_one()
        category = conn.execute(select(tables.categories).where(tables.categories.c.name == "冰箱")).mappings().one()
        assert (row(conn, "GA1")["brand_id"], row(conn, "GA1")["category_id"]) == (brand_id, category["id"])
        assert (category["level"], category["parent_id"]) == ("major", None)
        special = ensure_categories(conn, ["活动专区"])["活动专区"]
        own = ensure_brands(conn, ["自营"])["自营"]
        counts = upsert_products(conn, [product("GA1", brand_name="卡萨帝", product_group="冰箱")], {}, {}, later(1),
                                 category_override=special, brand_override=own)
        assert counts == WriteCounts(updated=1)
        assert (row(conn, "GA1")["brand_id"], row(conn, "GA1")["category_id"]) == (own, special)


def test_a_brand_without_an_id_is_a_programming_error_named_clearly(engine):
    with engine.begin() as conn, pytest.raises(KeyError, match="ensure_brands"):
        upsert_products(conn, [product("GA1", brand_name="统帅")], {}, {"电热水器": 1}, T0)


def test_ensure_brands_and_categories_create_once(engine):
    with engine.begin() as conn:
        first = ensure_brands(conn, ["海尔", " 海尔 ", "", None, "统帅"])
        assert set(first) == {"海尔", "统帅"}
    with count_statements(engine) as counted, engine.begin() as conn:
        assert ensure_brands(conn, ["统帅", "海尔"]) == first
        majors = ensure_categories(conn, ["冰箱"])
    assert counted.writes == 1, "only the new category is inserted"
    with engine.begin() as conn:
        assert ensure_categories(conn, ["冰箱"]) == majors
        minors = ensure_categories(conn, ["冰箱"], level="minor", parent_id=majors["冰箱"])
        assert minors["冰箱"] != majors["冰箱"], "same name at another level/parent is another category"
        assert ensure_categories(conn, ["冰箱"], level="minor", parent_id=majors["冰箱"]) == minors
        assert conn.execute(select(func.count()).select_from(tables.categories)).scalar_one() == 2
        with pytest.raises(ValueError, match="level"):
            ensure_categories(conn, ["x"], level="aisle")


def test_local_products_are_never_touched(engine):
    with engine.begin() as conn:
        conn.execute(P.insert().values(product_code="GA1", name="店铺自定义", source="local", is_sales="1", price=None))
        before = row(conn, "GA1")
        counts = sync(conn, [product("GA1", product_model="EC0000"), product("GA2")], T0)
        assert counts == WriteCounts(inserted=1, skipped=1)
        assert row(conn, "GA1") == before
        assert mark_delisted(conn, {"GA2"}, later(1)) == 0, "local products are not delisted"
        assert row(conn, "GA1") == before


def test_duplicates_in_one_batch_collapse_to_one_row(engine):
    with engine.begin() as conn:
        counts = sync(
            conn, [product("GA1", product_model="old"), product("GA2"), product("GA1", product_model="new")], T0
        )
        assert counts == WriteCounts(inserted=2)
        assert conn.execute(select(func.count()).select_from(P)).scalar_one() == 2
        assert row(conn, "GA1")["product_model"] == "new"


def test_delisted_products_are_marked_not_deleted(engine):
    with engine.begin() as conn:
        sync(conn, [product(code) for code in codes(4)], T0)
        assert mark_delisted(conn, set(codes(4)[:2]), later(1)) == 2
        assert conn.execute(select(func.count()).select_from(P)).scalar_one() == 4
        flags = dict(conn.execute(select(P.c.product_code, P.c.is_sales)).all())
        assert flags == {codes(4)[0]: "1", codes(4)[1]: "1", codes(4)[2]: "0", codes(4)[3]: "0"}
        assert row(conn, codes(4)[3])["last_changed_at"] == later(1)
    with count_statements(engine) as counted, engine.begin() as conn:
        assert mark_delisted(conn, set(codes(4)[:2]), later(2)) == 0, "already delisted rows are not rewritten"
        assert mark_delisted(conn, set(), later(2)) == 0, "an empty listing delists nothing"
    assert counted.writes == 0
    with engine.begin() as conn:  # back in the listing: the listing's is_sales returns
        assert sync(conn, [product(codes(4)[3])], later(3)) == WriteCounts(updated=1)
        assert row(conn, codes(4)[3])["is_sales"] == "1"
