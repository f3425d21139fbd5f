"""Values the shop's columns cannot hold, and categories the shop accepts, checked through Django's own ORM.

A three-place rate in numeric(10, 2) is stored exactly as Django itself stores and reads it (the
reference is a product saved through the ORM on the same database), a code longer than 50 is
refused by name, a name longer than 200 is cut to fit, each counted — and the project's own
catalogue keeps its exact values. Categories: an existing minor category of the product group's
name is reused, an unknown group becomes an item under the configured parent.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import (
    create_catalog_engine,
    prepare_database,
    release_database,
)
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.writes import (
    apply_prices,
    ensure_brands,
    ensure_categories,
    upsert_products,
)
from haier_pipeline.shop import ShopTarget, publish_catalogue, shop_tables
from support.catalog_records import T0, later, price, product
from support.shop import django_shop

pytestmark = pytest.mark.slow  # quick loop: every test migrates a Django shop (docs/testing.md)

RATES = ["0.125", "0.135", "0.005", "0.015"]  # half-even and half-up disagree on 0.125 and 0.005
LONG_CODE = "GA" + "9" * 58
LONG_MODEL = "M" * 240


@pytest.fixture
def setup(tmp_path, catalog_url, request):
    shop = django_shop(tmp_path, request)
    shop.probe("add_local", {"code": "LOCAL-1", "name": "本店自营", "price": "10.00", "category": "电热水器",
                             "brand": "本店"})
    engine = prepare_database(catalog_url)
    records = [product(f"GA{index:07d}") for index in range(len(RATES))]
    records += [product(LONG_CODE), product("GA0000100", product_model=LONG_MODEL, product_group="洗衣机")]
    with engine.begin() as conn:
        categories = ensure_categories(conn, ["电热水器", "洗衣机"])
        upsert_products(conn, records, ensure_brands(conn, ["海尔"]), categories, T0)
        answers = [price(record.product_code, "2999.005", stock_rebate=Decimal(rate))
                   for record, rate in zip(records, RATES, strict=False)]
        answers += [price(record.product_code) for record in records[len(RATES):]]
        apply_prices(conn, answers, later(1))
    shop_engine = create_catalog_engine(shop.url)
    yield shop, engine, shop_engine, ShopTarget(shop_tables(), shop.media_root)
    shop_engine.dispose()
    release_database(catalog_url)


def test_unfit_values_are_stored_as_django_stores_them_and_counted(setup):
    shop, engine, shop_engine, target = setup
    with engine.begin() as conn:
        result = publish_catalogue(conn, shop_engine, target, "manual", later(2))
    seen = shop.probe("dump")["products"]

    for index, rate in enumerate(RATES):
        reference = shop.probe("round_trip", {"stock_rebate": rate, "supply_price": "2999.005"})
        row = seen[f"GA{index:07d}"]
        got = (row["stock_rebate"], row["supply_price"])
        assert got == (reference["stock_rebate"], reference["supply_price"]), rate
    assert LONG_CODE not in seen and any(LONG_CODE in line for line in result.refused)
    long_named = seen["GA0000100"]
    assert len(long_named["name"]) == 200 and long_named["name"].startswith("海尔 M")
    assert not long_named["errors"] and all(not row["errors"] for row in seen.values())
    counts = result.adjustments.counts
    assert counts["stock_rebate rounded"] == len(RATES) and counts["supply_price rounded"] == len(RATES)
    assert counts["name truncated"] == 1 and counts["product_model truncated"] == 1
    assert result.products.failed == 1 and result.log_status == "partial"

    with engine.connect() as conn:  # the project's own catalogue keeps Haier's exact values
        rates = dict(conn.execute(select(tables.products.c.product_code, tables.products.c.stock_rebate)).all())
    assert [rates[f"GA{index:07d}"] for index in range(len(RATES))] == [Decimal(rate) for rate in RATES]

    with engine.begin() as conn, count_statements(shop_engine) as counter:
        again = publish_catalogue(conn, shop_engine, target, "manual", later(3))
    assert again.products.written == 0 and again.products.unchanged == len(RATES) + 1
    assert all("integrations_haiersynclog" in sql for sql in counter.write_sql), counter.write_sql


def test_categories_the_shop_accepts(setup):
    shop, engine, shop_engine, target = setup
    with engine.begin() as conn:
        conn.execute(update(tables.products).values(last_sync_at=later(1)))  # as the price sync confirms it
        publish_catalogue(conn, shop_engine, target, "products", later(2))
    dump = shop.probe("dump")
    seen = dump["products"]
    assert seen["GA0000000"]["category"] == "电热水器" and seen["GA0000000"]["category_level"] == "minor"
    assert seen["GA0000100"]["category"] == "洗衣机" and seen["GA0000100"]["category_level"] == "item"
    created = [c for c in dump["categories"] if c["name"] == "洗衣机"]
    assert created == [{"name": "洗衣机", "level": "item", "parent": "海尔", "errors": ""}]
    assert {"name": "海尔", "level": "minor", "parent": "家电", "errors": ""} in dump["categories"]
    assert all(not c["errors"] for c in dump["categories"])
    assert seen["LOCAL-1"]["source"] == "local" and seen["LOCAL-1"]["price"] == "10.00"
    # Confirmed by Haier at (the catalogue's, not the publish time), aware UTC as Django reads it.
    assert seen["GA0000000"]["last_sync_at"] == later(1).isoformat()
