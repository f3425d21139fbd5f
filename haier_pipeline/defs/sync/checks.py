"""Asset checks on the catalog: bad data is stopped before it flows downstream.

Blocking checks fail the run's downstream steps when they fail: duplicate or blank product
codes, negative prices or an ``invoice_price`` that disagrees with Haier's own formula, negative
or non-integer stock.
Each check reads the catalog database through :class:`CatalogResource` and names what it found
in its metadata, so the UI shows which rows are wrong. Freshness checks live in ``defs/health``;
the image files check in ``defs/media``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import dagster as dg
from sqlalchemy import Table, select

from haier_pipeline.catalog import tables
from haier_pipeline.defs.metadata import markdown_list
from haier_pipeline.resources import CatalogResource

from .catalog import product_stock, products
from .raw import haier_raw_products

CENT = Decimal("0.01")
SHOWN = 10
MONEY_COLUMNS = ("supply_price", "invoice_price", "market_price", "rebate_money", "price")


def problems_markdown(lines: Sequence[str], total: int) -> dg.MetadataValue:
    """The first few offending rows as a markdown list (the UI renders it in the check's panel)."""
    return markdown_list(lines, SHOWN, total)


def code_problems(codes: Iterable[str | None]) -> tuple[int, list[str], list[str]]:
    """(rows, blank codes, duplicated codes) — duplicates compared trimmed and case-folded."""
    rows, blank, duplicated = 0, [], []
    seen: dict[str, int] = {}
    for code in codes:
        rows += 1
        cleaned = (code or "").strip()
        if not cleaned:
            blank.append(repr(code))
            continue
        key = cleaned.casefold()
        if key in seen and seen[key] == 1:
            duplicated.append(cleaned)
        seen[key] = seen.get(key, 0) + 1
    return rows, blank, duplicated


def codes_result(table: Table, catalog: CatalogResource) -> dg.AssetCheckResult:
    with catalog.begin() as conn:
        rows, blank, duplicated = code_problems(conn.execute(select(table.c.product_code)).scalars())
    return dg.AssetCheckResult(
        passed=not blank and not duplicated,
        metadata={
            "rows_checked": rows,
            "blank_codes": len(blank),
            "duplicated_codes": len(duplicated),
            "problems": problems_markdown(
                [f"blank code {code}" for code in blank] + [f"duplicated code {code}" for code in duplicated],
                len(blank) + len(duplicated),
            ),
        },
    )


@dg.asset_check(asset=haier_raw_products, name="product_codes_unique_and_non_empty", blocking=True,
                description="Every stored listing payload has a non-blank product code, unique ignoring case/spaces.")
def raw_product_codes_check(catalog: CatalogResource) -> dg.AssetCheckResult:
    return codes_result(tables.haier_raw_products, catalog)


@dg.asset_check(asset=products, name="product_codes_unique_and_non_empty", blocking=True,
                description="Every product (Haier's and local) has a non-blank code, unique ignoring case and spaces.")
def product_codes_check(catalog: CatalogResource) -> dg.AssetCheckResult:
    return codes_result(tables.products, catalog)


def expected_invoice(supply: Decimal, rate: Decimal, rebate: Decimal) -> Decimal:
    """Haier's definition: ``supply_price × (1 − rate) − rebate_money``, to the cent, half up."""
    return (supply * (1 - rate) - rebate).quantize(CENT, ROUND_HALF_UP)


def price_problems(row: Mapping[Any, Any]) -> list[str]:
    """Everything wrong with one product's prices (empty when it is fine)."""
    code, found = row["product_code"], []
    for column in MONEY_COLUMNS:
        value = row[column]
        if value is not None and value < 0:
            found.append(f"{code}: {column} {value} is negative")
    rate = row["stock_rebate"]
    if rate is not None and not 0 <= rate <= 1:
        found.append(f"{code}: stock_rebate {rate} is not a rate between 0 and 1")
    supply, invoice, rebate = row["supply_price"], row["invoice_price"], row["rebate_money"]
    if None not in (supply, rate, rebate, invoice):
        expected = expected_invoice(supply, rate, rebate)
        if invoice.quantize(CENT, ROUND_HALF_UP) != expected:
            found.append(f"{code}: invoice_price {invoice} ≠ {supply} × (1 − {rate}) − {rebate} = {expected}")
    return found


@dg.asset_check(asset=products, name="prices_valid", blocking=True,
                description="Money never negative, rates within 0–1, and invoice_price = supply_price × (1 − "
                            "stock_rebate) − rebate_money to the cent wherever Haier supplied all three.")
def prices_check(catalog: CatalogResource) -> dg.AssetCheckResult:
    columns = [tables.products.c[name] for name in ("product_code", "stock_rebate", *MONEY_COLUMNS)]
    rows, formula_checked, problems = 0, 0, []
    with catalog.begin() as conn:
        for row in conn.execute(select(*columns)).mappings():
            rows += 1
            formula_checked += None not in (row["supply_price"], row["stock_rebate"], row["rebate_money"],
                                            row["invoice_price"])
            problems.extend(price_problems(row))
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "rows_checked": rows,
            "invoice_formula_checked": formula_checked,
            "problems_found": len(problems),
            "problems": problems_markdown(problems, len(problems)),
        },
    )


def stock_problem(code: str, where: str, stock: Any) -> str | None:
    if isinstance(stock, bool) or not isinstance(stock, int):
        return f"{code}@{where}: stock {stock!r} is not an integer"
    if stock < 0:
        return f"{code}@{where}: stock {stock} is negative"
    return None


@dg.asset_check(asset=product_stock, name="stock_non_negative_integers", blocking=True,
                description="Every county's stock (product_stock) and the mirrored products.stock is an integer ≥ 0.")
def stock_check(catalog: CatalogResource) -> dg.AssetCheckResult:
    problems, rows = [], 0
    stock_rows = select(tables.product_stock.c.product_code, tables.product_stock.c.county_code,
                        tables.product_stock.c.stock)
    mirrored = select(tables.products.c.product_code, tables.products.c.stock)
    with catalog.begin() as conn:
        for code, county, stock in conn.execute(stock_rows):
            rows += 1
            if problem := stock_problem(code, county, stock):
                problems.append(problem)
        for code, stock in conn.execute(mirrored):
            rows += 1
            if problem := stock_problem(code, "products", stock):
                problems.append(problem)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "rows_checked": rows,
            "problems_found": len(problems),
            "problems": problems_markdown(problems, len(problems)),
        },
    )


CHECKS: list[dg.AssetChecksDefinition] = [
    raw_product_codes_check,
    product_codes_check,
    prices_check,
    stock_check,
]
