"""Each product's importance for stock refresh from the Django shop's own figures: its sales and views.

``weight × (1 + sales_count + VIEW_SHARE × view_count)``: a product the shop sells is the one whose stock
must be right; views hint at demand before sales do. A shop database whose product table lacks both
columns (an older shop) gives every product the configured weight, and the reason says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, inspect, select

from haier_pipeline.shop.tables import ShopTables

VIEW_SHARE = 0.05  # twenty views weigh as much as one sale
FIGURES = ("sales_count", "view_count")


@dataclass(frozen=True)
class ProductWeights:
    """Weights per product code (missing: the configured weight) and where they came from."""

    by_code: dict[str, float] = field(default_factory=dict)
    source: str = "HAIER_STOCK_WEIGHT"
    fell_back: bool = False  # a shop was configured but had no figures to weigh by


def shop_product_weights(engine: Engine, tables: ShopTables, codes: Sequence[str], weight: float) -> ProductWeights:
    """Read sales and views of ``codes`` from the shop; fall back to ``weight`` when it has neither column."""
    product = tables.product
    present = {column["name"] for column in inspect(engine).get_columns(product.name)}
    columns = [name for name in FIGURES if name in present]
    if not columns:
        return ProductWeights(source=f"HAIER_STOCK_WEIGHT: the shop's {product.name} table has no "
                                     f"{' or '.join(FIGURES)} column, so every product weighs the configured weight",
                              fell_back=True)
    wanted = set(codes)
    query = select(product.c.product_code, *(product.c[name] for name in columns))
    by_code: dict[str, float] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            if row.product_code in wanted:
                figures = row._mapping
                demand = float(figures.get("sales_count") or 0) + VIEW_SHARE * float(figures.get("view_count") or 0)
                by_code[row.product_code] = weight * (1.0 + demand)
    return ProductWeights(by_code, f"shop {' and '.join(columns)} × HAIER_STOCK_WEIGHT")
