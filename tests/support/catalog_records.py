"""Builders for the typed records the catalog writers take, with plausible Haier values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from haier_pipeline.haier_api.records import PriceRecord, ProductRecord, StockRecord

T0 = datetime(2025, 7, 1, 2, 0, tzinfo=UTC)


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def product(code: str, **changes: Any) -> ProductRecord:
    values: dict[str, Any] = dict(
        product_code=code, product_model=f"EC{code[-4:]}-HT3", product_group="电热水器", brand_name="海尔",
        image_url=f"https://img.example/{code}.jpg", page_urls=(f"https://img.example/{code}-p1.jpg",),
        is_sales="1", no_sales_reason="",
    )
    values.update(changes)
    return ProductRecord(**values)


def price(code: str, supply: str | None = "2999.00", **changes: Any) -> PriceRecord:
    values: dict[str, Any] = dict(
        product_code=code, supply_price=None if supply is None else Decimal(supply), invoice_price=Decimal("2849.05"),
        stock_rebate=Decimal("0.05"), rebate_type=None, rebate_money=Decimal("0"), reason="", is_sales="1",
    )
    values.update(changes)
    return PriceRecord(**values)


def stock(code: str, county: str = "110101", qty: int = 12, **changes: Any) -> StockRecord:
    values: dict[str, Any] = dict(
        product_code=code, county_code=county, stock=qty, warehouse_code="WH01", warehouse_grade="0",
        cut_time="16:00", expected_delivery="2025-07-03", delivery_hours="48", is_transfer="0",
    )
    values.update(changes)
    return StockRecord(**values)


def codes(count: int, prefix: str = "GA") -> list[str]:
    return [f"{prefix}{index:07d}" for index in range(count)]
