"""The asset checks' rules, run against a real catalog database (SQLite, or PostgreSQL in pass 2).

Each check is executed as Dagster would (the decorated check called with its resources) on a
catalog filled by the project's own writers, first clean (it passes) and then with one
specific defect planted (it fails and names the row).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import update

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.sync_log import close_sync_log, open_sync_log
from haier_pipeline.catalog.writes import (
    apply_prices,
    ensure_brands,
    ensure_categories,
    insert_media_images,
    upsert_product_stock,
    upsert_products,
)
from haier_pipeline.defs.media.checks import image_files_check
from haier_pipeline.defs.sync.checks import (
    code_problems,
    formula_mismatch,
    impossible_prices,
    prices_check,
    product_codes_check,
    rejections_result,
    stock_check,
    supply_price_coverage_check,
)
from haier_pipeline.haier_api.pricing import rate_invoice, rebate_kind, reproduces
from haier_pipeline.resources import CatalogResource, MediaResource
from support.catalog_db import migrated_catalog_url_for_tests, wants_postgres
from support.catalog_records import T0, price, product, stock

P = tables.products


@pytest.fixture
def catalog(tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path, request)
    engine = prepare_database(url)
    records = [product("GA1"), product("GA2"), product("GA3")]
    with engine.begin() as conn:
        upsert_products(conn, records, ensure_brands(conn, ["海尔"]), ensure_categories(conn, ["电热水器"]), T0)
        apply_prices(conn, [
            price("GA1"),  # 2999.00 × (1 − 0.05) − 0 = 2849.05
            price("GA2", supply="10.17", invoice_price=Decimal("5.09"), stock_rebate=Decimal("0.5")),
            price("GA3", stock_rebate=None, rebate_type="FHQ", invoice_price=Decimal("2700.00")),
        ], T0)
        upsert_product_stock(
            conn, [stock("GA1", qty=12), stock("GA2", qty=0), stock("GA1", "110102", qty=3)], "110101", T0
        )
    yield CatalogResource(db_url=url)
    release_database(url)


def set_product(catalog: CatalogResource, code: str, **values) -> None:
    with catalog.begin() as conn:
        conn.execute(update(P).where(P.c.product_code == code).values(**values))


@pytest.mark.parametrize(
    ("supply", "rate", "rebate", "invoice", "ok"),
    [
        ("2999.00", "0.05", "0", "2849.05", True),
        ("1234.56", "0.035", "20.00", "1171.35", True),  # 1191.3504 − 20
        ("10.17", "0.5", "0", "5.09", True),  # 5.085 half up
        ("10.17", "0.5", "0", "5.08", True),  # 5.085 half-even (Java's RoundingMode.HALF_EVEN)
        ("10.17", "0.5", "0", "5.07", False),
        ("3999.00", "0", "200.00", "3799.00", True),
    ],
)
def test_invoice_formula_accepts_half_up_or_half_even_to_the_cent(supply, rate, rebate, invoice, ok):
    assert reproduces(Decimal(invoice), rate_invoice(Decimal(supply), Decimal(rate), Decimal(rebate))) is ok


@pytest.mark.parametrize(
    ("supply", "invoice", "discount", "rebate", "kind"),
    [
        ("2999.00", "2849.05", "0.05", "0", "rate"),
        ("2999.00", "2799.00", "100.00", "100.00", "amount"),  # 2999 − 100 − 100
        ("2999.00", "2899.00", "0", "100.00", "rate"),  # a zero discount fits both: Haier's formula wins
        ("2999.00", "1.00", "0.05", "0", "unknown"),
        (None, "1.00", "0.05", "0", "unknown"),
        ("2999.00", "2849.05", None, "0", None),  # no numeric discount: nothing to decide
    ],
)
def test_the_discount_kind_is_the_formula_that_reproduces_the_invoice(supply, invoice, discount, rebate, kind):
    def value(text: str | None) -> Decimal | None:
        return None if text is None else Decimal(text)

    assert rebate_kind(value(supply), value(invoice), value(discount), value(rebate)) == kind


def test_price_rules_separate_the_impossible_from_haiers_arithmetic():
    good = {"product_code": "A", "supply_price": Decimal("10.17"), "invoice_price": Decimal("5.0900"),
            "market_price": None, "rebate_money": Decimal("0"), "price": Decimal("6"), "stock_rebate": Decimal("0.5"),
            "stock_rebate_kind": "rate"}
    assert impossible_prices(good) == [] and formula_mismatch(good) is None
    assert formula_mismatch({**good, "invoice_price": Decimal("5.07")}) == (
        "A: invoice_price 5.07 ≠ 10.17 × (1 − 0.5) − 0 = 5.085 (rate)")
    assert formula_mismatch({**good, "invoice_price": Decimal("5.08")}) is None  # half-even
    assert impossible_prices({**good, "price": Decimal("-1")}) == ["A: price -1 is negative"]
    assert impossible_prices({**good, "stock_rebate": Decimal("1.5"), "invoice_price": None}) == [
        "A: stock_rebate 1.5 is not a rate between 0 and 1"
    ]
    amount = {**good, "stock_rebate": Decimal("1.5"), "stock_rebate_kind": "amount", "invoice_price": Decimal("8.67")}
    assert impossible_prices(amount) == [] and formula_mismatch(amount) is None  # 10.17 − 1.5: an amount may exceed 1
    # A rebate-type product carries no discount, and an unknown kind is skipped: no formula is applied.
    assert (
        formula_mismatch({**good, "stock_rebate": None, "stock_rebate_kind": None, "invoice_price": Decimal("1")})
        is None
    )
    assert formula_mismatch({**good, "stock_rebate_kind": "unknown", "invoice_price": Decimal("1")}) is None


def test_code_problems_catch_blank_and_near_duplicate_codes():
    rows, blank, duplicated = code_problems(["GA1", " ", "ga1 ", "GA2", None, "GA1\t", "GA2"])
    assert rows == 7
    assert blank == ["' '", "None"]
    assert duplicated == ["ga1", "GA2"]


def test_prices_check_passes_a_clean_catalog_and_counts_formula_rows(catalog):
    result = prices_check(catalog=catalog)
    assert result.passed, result.metadata["problems"].value
    assert result.metadata["rows_checked"].value == 3
    assert result.metadata["invoice_formula_checked"].value == 2  # GA3 has a rebate type, no discount


def test_an_invoice_off_the_formula_is_a_named_warning_not_a_block(catalog):
    set_product(catalog, "GA1", invoice_price=Decimal("2849.04"))
    result = prices_check(catalog=catalog)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["formula_mismatches"].value == 1
    assert "GA1: invoice_price 2849.04" in result.metadata["problems"].value


def test_an_unknown_kind_is_skipped_and_counted(catalog):
    set_product(catalog, "GA1", invoice_price=Decimal("1.00"), stock_rebate_kind="unknown")
    result = prices_check(catalog=catalog)
    assert result.passed and result.metadata["unknown_kind_skipped"].value == 1


def test_a_few_impossible_prices_are_named_without_blocking_many_block(catalog):
    with catalog.begin() as conn:
        conn.execute(P.insert().values(product_code="LOCAL1", name="shop's own", source="local", price=Decimal("-5")))
        conn.execute(P.insert(), [{"product_code": f"LOCAL{n}", "name": "fine", "source": "local",
                                   "price": Decimal("5")} for n in range(2, 30)])
    few = prices_check(catalog=catalog)  # 1 of 31 priced rows: 3 %
    assert not few.passed and few.severity == dg.AssetCheckSeverity.WARN
    assert "LOCAL1: price -5" in few.metadata["problems"].value
    set_product(catalog, "LOCAL2", price=Decimal("-1"))  # 2 of 31: 6.5 %
    many = prices_check(catalog=catalog)
    assert not many.passed and many.severity == dg.AssetCheckSeverity.ERROR
    assert many.metadata["impossible_values"].value == 2


def test_supply_price_coverage_blocks_above_five_percent_of_procurable_products(catalog):
    with catalog.begin() as conn:
        conn.execute(P.insert(), [{"product_code": f"GB{n}", "name": "n", "source": "haier", "is_sales": "1",
                                   "supply_price": Decimal("100")} for n in range(37)])  # 40 procurable in all
    assert supply_price_coverage_check(catalog=catalog).passed
    set_product(catalog, "GB1", supply_price=None, price_reason="价格未生效")  # explained: not missing
    set_product(catalog, "GB2", supply_price=None)
    set_product(catalog, "GB3", supply_price=None)  # 2 of 40 = 5 %: still within the limit
    within = supply_price_coverage_check(catalog=catalog)
    assert within.passed and within.metadata["without_supply_price"].value == 2
    assert "GB2: no supply price" in within.metadata["products"].value
    set_product(catalog, "GB4", supply_price=None, price_reason="商品暂不可采")
    over = supply_price_coverage_check(catalog=catalog)
    assert not over.passed and over.metadata["without_supply_price"].value == 3
    assert "GB4: no supply price (reason: 商品暂不可采)" in over.metadata["products"].value


def test_a_sync_rejecting_more_than_five_percent_fails_its_check_with_count_and_reasons(catalog):
    with catalog.begin() as conn:
        few = open_sync_log(conn, "prices", "run-few", T0)
        close_sync_log(conn, few, total=100, success=95, failed=5, failures=[f"prices: GA{n}: bad" for n in range(5)],
                       error=None, now=T0)
        many = open_sync_log(conn, "prices", "run-many", T0)
        close_sync_log(conn, many, total=100, success=94, failed=6, failures=[f"prices: GB{n}: text" for n in range(6)],
                       error=None, now=T0)
    passed = rejections_result(catalog, "run-few", ("products", "prices"))
    assert passed.passed and "prices: GA0: bad" in passed.metadata["rejections"].value
    failed = rejections_result(catalog, "run-many", ("products", "prices"))
    assert not failed.passed and failed.metadata["prices_rejected"].value == 6
    assert "prices sync rejected 6 of 100 records" in failed.description
    assert "prices: GB0: text" in failed.metadata["rejections"].value
    assert rejections_result(catalog, "run-without-logs", ("stock",)).passed


def test_product_codes_check_catches_codes_that_differ_only_in_case_or_spaces(catalog):
    assert product_codes_check(catalog=catalog).passed
    with catalog.begin() as conn:
        conn.execute(P.insert().values(product_code="ga2 ", name="twin", source="local"))
    result = product_codes_check(catalog=catalog)
    assert not result.passed
    assert result.metadata["duplicated_codes"].value == 1


def test_stock_check_fails_on_negative_stock_naming_product_and_county(catalog):
    assert stock_check(catalog=catalog).passed
    with catalog.begin() as conn:
        conn.execute(
            update(tables.product_stock).where(tables.product_stock.c.county_code == "110102").values(stock=-3)
        )
    result = stock_check(catalog=catalog)
    assert not result.passed
    assert "GA1@110102: stock -3 is negative" in result.metadata["problems"].value


@pytest.mark.skipif(wants_postgres(), reason="only SQLite lets a non-integer into an INTEGER column")
def test_stock_check_fails_on_a_fractional_stock(catalog):
    set_product(catalog, "GA2", stock=2.5)
    result = stock_check(catalog=catalog)
    assert not result.passed
    assert "GA2@products: stock 2.5 is not an integer" in result.metadata["problems"].value


def write_image(root: Path, relative: str, content: bytes) -> dict:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return {"file": relative, "original_url": f"http://img.example/{path.name}", "content_type": "image/jpeg",
            "size": len(content), "width": 1, "height": 1, "sha256": hashlib.sha256(content).hexdigest()}


def test_image_check_finds_missing_altered_and_escaping_files(catalog, tmp_path):
    root = tmp_path / "media"
    media = MediaResource(media_root=str(root))
    rows = [
        write_image(root, f"images/2025/07/01/{index:032x}.jpg", bytes([index]) * (100 + index)) for index in range(3)
    ]
    with catalog.begin() as conn:
        insert_media_images(conn, rows)
    clean = image_files_check(catalog=catalog, media=media)
    assert clean.passed and clean.metadata["bytes_hashed"].value == 303

    (root / rows[0]["file"]).unlink()
    (root / rows[1]["file"]).write_bytes(b"not the stored picture")
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"x")
    with catalog.begin() as conn:
        insert_media_images(conn, [{**write_image(root, "images/x.jpg", b"x"), "file": "../secret.jpg"}])
    result = image_files_check(catalog=catalog, media=media)
    assert not result.passed
    assert result.metadata["files_missing"].value == 1
    assert result.metadata["files_mismatched"].value == 2
    problems = result.metadata["problems"].value
    assert f"{rows[0]['file']} is missing" in problems
    assert f"{rows[1]['file']} sha256" in problems
    assert "points outside the media root" in problems
