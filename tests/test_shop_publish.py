"""Publishing into a real Django shop: migrated by Django, synced from the sandbox, read back through Django's ORM.

After ``haier_full_sync`` with ``HAIER_SHOP_DB_URL`` set, the shop's ORM sees every procurable product
with the sandbox's prices (to two places), the first county's stock, image files under its
MEDIA_ROOT, and every product, brand and category passes ``full_clean()``. Shop-side edits and
local products survive the next publish, delisted products stay with ``is_sales='0'``, and an
unchanged re-run writes nothing but its sync-log row.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.resources import ShopResource
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from support.catalog_db import wants_postgres
from support.pipeline import catalogue_rows, pipeline_env, run_job
from support.shop import django_shop

pytestmark = pytest.mark.slow  # quick loop: every test migrates a Django shop and syncs into it (docs/testing.md)

CENT = Decimal("0.01")
# What Django 5's ORM reads back from numeric(10, 2): PostgreSQL rounds half away from zero on insert,
# SQLite keeps the value and Django quantizes it half-even on read (test_shop_fit checks this against the ORM).
ROUNDING = ROUND_HALF_UP if wants_postgres() else ROUND_HALF_EVEN


def cents(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT, rounding=ROUNDING))


def shop_metadata(result, key: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key]
    return {name: value.value for name, value in event.materialization.metadata.items()}


@pytest.fixture
def synced(tmp_path, catalog_url, request):
    shop = django_shop(tmp_path, request)
    with run_sandbox(SandboxOptions(products=300, rate_limit=None)) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path, **shop.env())
        first = run_job(env)
        yield sandbox, shop, env, first
    release_database(catalog_url)


def test_django_sees_every_procurable_product_exactly(synced, catalog_url):
    sandbox, shop, env, first = synced
    seen = shop.probe("dump")
    truth = sandbox.catalogue
    procurable = {code for code, record in truth.expected_products().items() if record.is_sales == "1"}
    products = seen["products"]
    assert procurable and procurable <= set(products)
    assert {code for code, row in products.items() if row["is_sales"] == "1"} == procurable
    prices, first_county = truth.expected_prices(), env["HAIER_COUNTY_CODES"].split(",")[0]
    stock = truth.expected_stock(first_county)
    catalogue = {row["product_code"]: row for row in catalogue_rows(catalog_url, "products")}
    for code in procurable:
        row, price = products[code], prices[code]
        assert row["source"] == "haier" and row["category_level"] in ("minor", "item"), code
        for column in ("supply_price", "invoice_price", "stock_rebate", "rebate_money"):
            assert row[column] == cents(getattr(price, column)), (code, column, row[column], getattr(price, column))
        assert row["price"] == cents(catalogue[code]["price"] or Decimal(0)), code
        assert (row["stock"], row["warehouse_code"], row["warehouse_grade"]) == (
            stock[code].stock, stock[code].warehouse_code or "", stock[code].warehouse_grade or ""), code
        assert row["brand"] == truth.expected_products()[code].brand_name, code
        # Confirmed by Haier at: the catalogue's last confirmation, as Django reads it (aware, UTC).
        assert row["last_sync_at"] == catalogue[code]["last_sync_at"].isoformat(), code
    assert all(not row["errors"] for row in products.values()), [r["errors"] for r in products.values() if r["errors"]]
    assert seen["brands"] and all(not errors for errors in seen["brands"].values()), seen["brands"]
    assert all(not c["errors"] for c in seen["categories"]), [c for c in seen["categories"] if c["errors"]]

    # Images: what the catalogue localised, served under the shop's MEDIA_URL, files under its MEDIA_ROOT.
    media = {m["file"]: m for m in seen["media"]}
    assert media and all(m["exists"] and m["size"] == m["disk_size"] and not m["errors"] for m in media.values())
    with_images = 0
    for code, row in catalogue.items():
        if row["source"] != "haier":
            continue
        shop_row = products[code]
        assert shop_row["main_images"] == ["/media/" + path for path in row["main_images"]], code
        assert shop_row["detail_images"] == ["/media/" + path for path in row["detail_images"]], code
        for url in [*shop_row["main_images"], *shop_row["detail_images"]]:
            assert url.removeprefix("/media/") in media, (code, url)
            assert (shop.media_root / url.removeprefix("/media/")).is_file()
        with_images += bool(row["main_images"])
    assert with_images > len(procurable) // 2

    meta = shop_metadata(first, "shop_products")
    assert meta["published"] is True and meta["inserted"] == len(catalogue)
    [log] = seen["sync_logs"]
    assert (log["sync_type"], log["status"], log["completed"]) == ("products", "success", True)
    assert log["total"] == log["success"] == len(catalogue) and not log["errors"]


def test_shop_edits_and_local_products_survive_and_unchanged_rerun_writes_nothing(synced, catalog_url):
    sandbox, shop, env, _ = synced
    before = shop.probe("dump")["products"]
    edited = next(code for code, row in before.items() if row["is_sales"] == "1")
    renamed_later = max(before)
    shop_edit = {"price": "1.23", "description": "店铺自己的描述", "name": "店铺改的名字"}
    shop.probe("edit", {edited: shop_edit})
    shop.probe("add_local", {"code": "LOCAL-0001", "name": "本店自营", "price": "99.00", "category": "自营",
                             "brand": "本店"})
    local_before = shop.probe("dump")["products"]["LOCAL-0001"]

    old, new = sandbox.catalogue, sandbox.advance()
    run_job(env)
    after = shop.probe("dump")
    products = after["products"]
    assert {name: products[edited][name] for name in shop_edit} == shop_edit
    assert products["LOCAL-0001"] == local_before
    delisted = set(old.expected_products()) - set(new.expected_products())
    added = set(new.expected_products()) - set(old.expected_products())
    assert delisted and added
    assert all(products[code]["is_sales"] == "0" for code in delisted)
    assert added <= set(products)
    moved = [code for code, price in new.expected_prices().items()
             if code in old.expected_prices() and price.supply_price != old.expected_prices()[code].supply_price]
    assert moved and all(products[code]["supply_price"] == cents(new.expected_prices()[code].supply_price)
                         for code in moved)
    assert all(not row["errors"] for row in products.values())
    assert products[renamed_later]["name"] == before[renamed_later]["name"]  # not edited: still ours

    engine = ShopResource(db_url=shop.url).engine()
    with count_statements(engine) as counter:
        again = run_job(env)
    meta = shop_metadata(again, "shop_products")
    assert meta["rows_written"] == 0 and meta["nothing_changed"] is True, meta
    assert shop_metadata(again, "shop_images")["rows_written"] == 0
    log_table = "integrations_haiersynclog"
    # Besides its log row, the re-run writes only Haier's new confirmation time: one UPDATE of one column
    # per chunk, never a value and never updated_at.
    confirmations = [sql for sql in counter.write_sql if log_table not in sql]
    assert all(sql.startswith("UPDATE catalog_product SET last_sync_at=") and "updated_at" not in sql
               for sql in confirmations), confirmations
    assert len(confirmations) == 1, confirmations
    republished = shop.probe("dump")["products"]
    catalogue = {row["product_code"]: row for row in catalogue_rows(catalog_url, "products")}
    moved = [code for code, row in republished.items() if row["last_sync_at"] != products[code]["last_sync_at"]]
    assert moved and all(republished[code]["last_sync_at"] == catalogue[code]["last_sync_at"].isoformat()
                         for code in moved)
    drop = ("last_sync_at",)
    assert ({code: {k: v for k, v in row.items() if k not in drop} for code, row in republished.items()}
            == {code: {k: v for k, v in row.items() if k not in drop} for code, row in products.items()})

    run_job(env, job="haier_stock_sync")
    run_job(env, job="haier_price_sync")
    logs = shop.probe("dump")["sync_logs"]
    assert [log["sync_type"] for log in logs] == ["products", "products", "products", "stock", "prices"]
    assert all(log["status"] == "success" and log["completed"] for log in logs)
