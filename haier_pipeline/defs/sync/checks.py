"""Asset checks on the catalog: bad data is stopped before it flows downstream.

Blocking checks fail the run's downstream steps when they fail: duplicate or blank product
codes, impossible prices beyond a few rows, a catalogue where more than 5 % of procurable products
lack a supply price, a sync that rejected more than 5 % of its records, negative or non-integer
stock. Haier's own arithmetic (an invoice price off its formula) is a named WARN, never a reason to
hold back stock and images.
Each check reads the catalog database through :class:`CatalogResource` and names what it found
in its metadata, so the UI shows which rows are wrong. Freshness checks live in ``defs/health``;
the image files check in ``defs/media``.
"""


from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import dagster as dg
from dagster import AssetCheckExecutionContext
from sqlalchemy import Table, select

from haier_pipeline.catalog import tables
from haier_pipeline.defs.metadata import markdown_list
from haier_pipeline.haier_api.pricing import amount_invoice, rate_invoice, reproduces
from haier_pipeline.resources import CatalogResource

from .catalog import product_stock, products
from .raw import haier_raw_products

SHOWN = 10
REJECTED_SHARE_LIMIT = Decimal("0.05")  # the original system's alert threshold
NO_PRICE_IN_FORCE = "价格未生效"
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


def impossible_prices(row: Mapping[Any, Any]) -> list[str]:
    """What cannot be true of one product's prices: negative money, a ``rate`` row's rate outside 0–1."""
    code, found = row["product_code"], []
    for column in MONEY_COLUMNS:
        value = row[column]
        if value is not None and value < 0:
            found.append(f"{code}: {column} {value} is negative")
    discount = row["stock_rebate"]
    if discount is not None and discount < 0:
        found.append(f"{code}: stock_rebate {discount} is negative")
    if row["stock_rebate_kind"] == "rate" and discount is not None and not 0 <= discount <= 1:
        found.append(f"{code}: stock_rebate {discount} is not a rate between 0 and 1")
    return found


def formula_mismatch(row: Mapping[Any, Any]) -> str | None:
    """The row's invoice price against the formula of its kind (half-up or half-even to the cent), if it disagrees."""
    code, kind = row["product_code"], row["stock_rebate_kind"]
    supply, invoice, discount = row["supply_price"], row["invoice_price"], row["stock_rebate"]
    rebate = row["rebate_money"] if row["rebate_money"] is not None else Decimal(0)
    if kind not in ("rate", "amount") or None in (supply, invoice, discount):
        return None
    formula = rate_invoice if kind == "rate" else amount_invoice
    exact = formula(supply, discount, rebate)
    if reproduces(invoice, exact):
        return None
    shown = f"{supply} × (1 − {discount})" if kind == "rate" else f"{supply} − {discount}"
    return f"{code}: invoice_price {invoice} ≠ {shown} − {rebate} = {exact} ({kind})"


def share_exceeds(count: int, total: int, limit: Decimal = REJECTED_SHARE_LIMIT) -> bool:
    """True when ``count`` is more than ``limit`` of ``total`` (a few bad rows never block the catalogue)."""
    return total > 0 and Decimal(count) > limit * total


PRICE_COLUMNS = ("product_code", "stock_rebate", "stock_rebate_kind", *MONEY_COLUMNS)


@dg.asset_check(asset=products, name="prices_valid", blocking=True,
                description="Money never negative and a rate-kind discount within 0–1 (ERROR, blocking, only when "
                            "more than 5 % of priced rows are impossible; fewer are named as a WARN); invoice_price "
                            "against the formula of the row's stock_rebate_kind, half-up or half-even to the cent "
                            "(a mismatch is Haier's arithmetic: a named WARN); 'unknown' kinds skipped and counted.")
def prices_check(catalog: CatalogResource) -> dg.AssetCheckResult:
    columns = [tables.products.c[name] for name in PRICE_COLUMNS]
    rows, priced, formula_checked, unknown = 0, 0, 0, 0
    impossible: list[str] = []
    mismatched: list[str] = []
    with catalog.begin() as conn:
        for row in conn.execute(select(*columns)).mappings():
            rows += 1
            priced += any(row[column] is not None for column in MONEY_COLUMNS)
            impossible.extend(impossible_prices(row))
            unknown += row["stock_rebate_kind"] == "unknown"
            formula_checked += row["stock_rebate_kind"] in ("rate", "amount") and row["invoice_price"] is not None
            if mismatch := formula_mismatch(row):
                mismatched.append(mismatch)
    blocking = share_exceeds(len(impossible), priced)
    return dg.AssetCheckResult(
        passed=not impossible and not mismatched,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_checked": rows,
            "invoice_formula_checked": formula_checked,
            "unknown_kind_skipped": unknown,
            "impossible_values": len(impossible),
            "formula_mismatches": len(mismatched),
            "problems_found": len(impossible) + len(mismatched),
            "problems": problems_markdown(impossible + mismatched, len(impossible) + len(mismatched)),
        },
    )


@dg.asset_check(asset=products, name="supply_prices_cover_the_catalogue", blocking=True,
                description="Fails when more than 5 % of procurable Haier products have no supply price and no "
                            "价格未生效 reason (prices refused or missing from Haier's answers).")
def supply_price_coverage_check(catalog: CatalogResource) -> dg.AssetCheckResult:
    product = tables.products.c
    procurable = select(product.product_code, product.supply_price, product.price_reason).where(
        product.source == "haier", product.is_sales == "1")
    missing, total = [], 0
    with catalog.begin() as conn:
        for code, supply, reason in conn.execute(procurable):
            total += 1
            if supply is None and reason != NO_PRICE_IN_FORCE:
                missing.append(f"{code}: no supply price" + (f" (reason: {reason})" if reason else ""))
    return dg.AssetCheckResult(
        passed=not share_exceeds(len(missing), total),
        metadata={
            "procurable_products": total,
            "without_supply_price": len(missing),
            "limit_percent": dg.MetadataValue.float(float(REJECTED_SHARE_LIMIT * 100)),
            "products": problems_markdown(missing, len(missing)),
        },
    )


def rejections_result(catalog: CatalogResource, run_id: str, sync_types: Sequence[str]) -> dg.AssetCheckResult:
    """Fails when one of this run's syncs of ``sync_types`` rejected more than 5 % of its records."""
    log = tables.haier_sync_log.c
    query = select(log.sync_type, log.total_count, log.failed_count, log.message).where(
        log.run_id == run_id, log.sync_type.in_(sync_types))
    with catalog.begin() as conn:
        found = conn.execute(query).all()
    over = [row for row in found if share_exceeds(row.failed_count, row.total_count)]
    named = [f"{row.sync_type}: {row.message}" for row in found if row.failed_count]
    return dg.AssetCheckResult(
        passed=not over,
        description="; ".join(f"{row.sync_type} sync rejected {row.failed_count} of {row.total_count} records "
                              f"(more than {REJECTED_SHARE_LIMIT:.0%})" for row in over) or None,
        metadata={
            **{f"{row.sync_type}_rejected": row.failed_count for row in found},
            **{f"{row.sync_type}_records": row.total_count for row in found},
            "rejections": problems_markdown(named, len(named)),
        },
    )


@dg.asset_check(asset=products, name="sync_rejections_within_limit", blocking=True,
                description="The run's products and prices syncs rejected at most 5 % of their records "
                            "(the original system's alert threshold); every rejection is named.")
def product_rejections_check(context: AssetCheckExecutionContext, catalog: CatalogResource) -> dg.AssetCheckResult:
    return rejections_result(catalog, context.run.run_id, ("products", "prices"))


@dg.asset_check(asset=product_stock, name="sync_rejections_within_limit", blocking=True,
                description="The run's stock sync rejected at most 5 % of its records; every rejection is named.")
def stock_rejections_check(context: AssetCheckExecutionContext, catalog: CatalogResource) -> dg.AssetCheckResult:
    return rejections_result(catalog, context.run.run_id, ("stock",))


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
    supply_price_coverage_check,
    product_rejections_check,
    stock_rejections_check,
    stock_check,
]
