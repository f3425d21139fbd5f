"""Every column of every table the project writes is described, in the assets' definition metadata.

The texts live once, as ``doc=`` on the SQLAlchemy columns (``catalog/tables.py``, ``shop/tables.py``);
the assets' ``dagster/column_schema`` (and a ``columns of …`` schema for a second table an asset writes)
is built from them, so the UI's Columns table explains a column before any run. A new column without
a text fails here, and so does a written table no asset describes.
"""

from __future__ import annotations

import dagster as dg
import pytest

from haier_pipeline.catalog import tables
from haier_pipeline.definitions import build_definitions
from haier_pipeline.settings import load_settings
from haier_pipeline.shop import shop_tables

SHOP = shop_tables()
WRITTEN = [*tables.metadata.sorted_tables, *SHOP.django_tables(), SHOP.state]


@pytest.mark.parametrize("table", WRITTEN, ids=lambda table: table.name)
def test_every_column_of_every_written_table_has_a_description(table) -> None:
    undescribed = [column.name for column in table.columns if not (column.doc or "").strip()]
    assert not undescribed, f"{table.name}: columns without doc=: {undescribed}"


def described_schemas() -> dict[str, dg.TableSchema]:
    """Table name -> the column schema an asset's definition metadata gives it."""
    defs = build_definitions(load_settings({"HAIER_COUNTY_CODES": "110101,310104"}))
    found: dict[str, dg.TableSchema] = {}
    graph = defs.get_repository_def().asset_graph
    for asset_key in graph.get_all_asset_keys():
        node = graph.get(asset_key)
        for key, value in node.metadata.items():
            schema = value.schema if isinstance(value, dg.TableSchemaMetadataValue) else value
            if key == "dagster/column_schema":
                found[asset_key.to_user_string()] = schema
                columns = [column.name for column in schema.columns]
                found.update({table.name: schema for table in tables.metadata.sorted_tables
                              if columns == [column.name for column in table.columns]})
            elif key.startswith("columns of "):
                found[key.removeprefix("columns of ")] = schema
    return found


def test_every_written_table_is_described_by_an_asset_before_any_run() -> None:
    schemas = described_schemas()
    names = {"haier_sync_log"} | {table.name for table in tables.metadata.sorted_tables}
    shop_assets = {"shop_products": SHOP.product, "shop_images": SHOP.media}
    for asset, table in shop_assets.items():
        assert [c.name for c in schemas[asset].columns] == [c.name for c in table.columns]
    for table in (SHOP.brand, SHOP.category, SHOP.sync_log, SHOP.state):
        names.add(table.name)
    missing = sorted(name for name in names if name not in schemas)
    assert not missing, f"written tables no asset's metadata describes: {missing}"
    for name, schema in schemas.items():
        blank = [column.name for column in schema.columns if not (column.description or "").strip()]
        assert not blank, f"{name}: columns shown without a description: {blank}"


def test_descriptions_name_the_haier_field_unit_and_rule() -> None:
    products = {column.name: column.description for column in described_schemas()["products"].columns}
    assert "`supplyPrice`" in products["supply_price"] and "yuan" in products["supply_price"]
    assert "`stockRebatePolicy`" in products["stock_rebate"] and "rate 0–1" in products["stock_rebate"]
    assert "never overwritten" in products["price"]
    assert "first configured county" in products["stock"] and "pieces" in products["stock"]
    stock = {column.name: column.description for column in described_schemas()["product_stock"].columns}
    assert "isTranfer" in stock["is_transfer"] and "cutTime" in stock["cut_time"]


def test_column_lineage_runs_from_the_raw_payloads_through_the_catalogue_to_the_shop() -> None:
    defs = build_definitions(load_settings({"HAIER_COUNTY_CODES": "110101,310104"}))
    graph = defs.get_repository_def().asset_graph

    def deps(asset: str, column: str) -> set[tuple[str, str]]:
        lineage = graph.get(dg.AssetKey(asset)).metadata["dagster/column_lineage"]
        return {(dep.asset_key.to_user_string(), dep.column_name) for dep in lineage.deps_by_column[column]}

    assert deps("shop_products", "supply_price") == {("products", "supply_price")}
    assert deps("products", "supply_price") == {("haier_raw_prices", "payload")}
    assert deps("products", "is_sales") == {("haier_raw_prices", "payload"), ("haier_raw_products", "payload")}
    assert deps("products", "stock") == {("product_stock", "stock")}
    assert deps("product_stock", "is_transfer") == {("haier_raw_stock", "payload")}
