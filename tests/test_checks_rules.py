"""The asset checks' rules, run against a real catalog database (SQLite, or PostgreSQL in pass 2).

Each check is executed as Dagster would (the decorated check called with its resources) on a
catalog filled by the project's own writers, first clean (it passes) and then with one
specific defect planted (it fails and names the row).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update

from haier_pipeline.defs.sync.checks import (
    code_problems,
    expected_invoice,
    price_problems,
    prices_check,
    product_codes_check,
    stock_check,
)
from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.writes import (
    apply_prices,
    ensure_brands,
    ensure_categories,
    insert_media_images,
    upsert_product_stock,
    upsert_products,
)
from haier_pipeline.defs.media.checks import image_files_check
from haier_pipeline.resources import CatalogResource, MediaResource
from support.catalog_db import catalog_url_for_tests, wants_postgres
from support.catalog_records import T0, price, product, stock

P = tables.products


@pytest.fixture
def catalog(tmp_path, request):
    url = catalog_url_for_tests(tmp_path, request)
    engine = prepare_database(url)
    records = [product("GA1"), product("GA2"), product("GA3")]
    with engine.begin() as conn:
        upsert_products(conn, records, ensure_brands(conn, ["海尔"]), ensure_categories(conn, ["电热水器"]), T0)
        apply_prices(conn, [
            price("GA1"),  # 2999.00 × (1 − 0.05) − 0 = 2849.05
            price("GA2", supply="10.17", invoice_price=Decimal("5.09"), stock_rebate=Decimal("0.5")),
            price("GA3", stock_rebate=None, rebate_type="FHQ", invoice_price=Decimal("2700.00")),
        ], T0)
        upsert_product_stock(conn, [stock("GA1", qty=12), stock("GA2", qty=0), stock("GA1", "110102", qty=3)], "110101", T0)
    yield CatalogResource(db_url=url)
    release_database(url)


def set_product(catalog: CatalogResource, code: str, **values) -> None:
    with catalog.begin() as conn:
        conn.execute(update(P).where(P.c.product_code == code).values(**values))


@pytest.mark.parametrize(
    ("supply", "rate", "rebate", "expected"),
    [
        ("2999.00", "0.05", "0", "2849.05"),
        ("1234.56", "0.035", "20.00", "1171.35"),  # 1191.3504 − 20
        ("10.17", "0.5", "0", "5.09"),  # 5.085: half up (half-even would give 5.08)
        ("3999.00", "0", "200.00", "3799.00"),
    ],
)
def test_invoice_formula_is_haiers_to_the_cent_half_up(supply, rate, rebate, expected):
    assert expected_invoice(Decimal(supply), Decimal(rate), Decimal(rebate)) == Decimal(expected)


def test_price_problems_name_each_defect():
    good = {"product_code": "A", "supply_price": Decimal("10.17"), "invoice_price": Decimal("5.0900"),
            "market_price": None, "rebate_money": Decimal("0"), "price": Decimal("6"), "stock_rebate": Decimal("0.5")}
    assert price_problems(good) == []
    assert price_problems({**good, "invoice_price": Decimal("5.08")}) == [
        "A: invoice_price 5.08 ≠ 10.17 × (1 − 0.5) − 0 = 5.09"
    ]
    assert price_problems({**good, "price": Decimal("-1")}) == ["A: price -1 is negative"]
    assert price_problems({**good, "stock_rebate": Decimal("1.5"), "invoice_price": None}) == [
        "A: stock_rebate 1.5 is not a rate between 0 and 1"
    ]
    # A rebate-type product carries no rate: the formula is not applied.
    assert price_problems({**good, "stock_rebate": None, "invoice_price": Decimal("1")}) == []


def test_code_problems_catch_blank_and_near_duplicate_codes():
    rows, blank, duplicated = code_problems(["GA1", " ", "ga1 ", "GA2", None, "GA1\t", "GA2"])
    assert rows == 7
    assert blank == ["' '", "None"]
    assert duplicated == ["ga1", "GA2"]


def test_prices_check_passes_a_clean_catalog_and_counts_formula_rows(catalog):
    result = prices_check(catalog=catalog)
    assert result.passed, result.metadata["problems"].value
    assert result.metadata["rows_checked"].value == 3
    assert result.metadata["invoice_formula_checked"].value == 2  # GA3 has a rebate type, no rate


def test_prices_check_fails_on_an_invoice_one_cent_off(catalog):
    set_product(catalog, "GA1", invoice_price=Decimal("2849.04"))
    result = prices_check(catalog=catalog)
    assert not result.passed
    assert result.metadata["problems_found"].value == 1
    assert "GA1: invoice_price 2849.04" in result.metadata["problems"].value


def test_prices_check_fails_on_a_negative_price_even_for_local_products(catalog):
    with catalog.begin() as conn:
        conn.execute(P.insert().values(product_code="LOCAL1", name="shop's own", source="local", price=Decimal("-5")))
    result = prices_check(catalog=catalog)
    assert not result.passed
    assert "LOCAL1: price -5" in result.metadata["problems"].value


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
        conn.execute(update(tables.product_stock).where(tables.product_stock.c.county_code == "110102").values(stock=-3))
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
    rows = [write_image(root, f"images/2025/07/01/{index:032x}.jpg", bytes([index]) * (100 + index)) for index in range(3)]
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
