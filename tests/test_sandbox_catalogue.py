"""The sandbox catalogue's ground truth: deterministic, realistic in its proportions, changing by generation."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from haier_pipeline.sandbox import Catalogue
from haier_pipeline.sandbox.listing import MALFORMED_KINDS

SIZE = 4000
CODE = re.compile(r"^[0-9A-Z]{9}$")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(SIZE, seed=7, image_base="http://sandbox.test")


def test_same_arguments_same_catalogue(catalogue: Catalogue) -> None:
    twin = Catalogue(SIZE, seed=7, image_base="http://sandbox.test")
    assert twin.listing_json() == catalogue.listing_json()
    assert twin.expected_prices() == catalogue.expected_prices()
    assert twin.expected_stock("110101") == catalogue.expected_stock("110101")
    other = Catalogue(SIZE, seed=8, image_base="http://sandbox.test")
    assert other.listing_json() != catalogue.listing_json()


def test_products_look_like_haier_products(catalogue: Catalogue) -> None:
    products = catalogue.expected_products()
    assert len(products) == SIZE == len(catalogue.listing_codes())
    assert all(CODE.match(code) for code in products)
    assert {p.brand_name for p in products.values()} >= {"海尔", "卡萨帝", "统帅", "Leader"}
    assert {p.product_group for p in products.values()} >= {"电热水器", "冰箱", "洗衣机", "空调", "燃气热水器", "冷柜"}
    assert all(p.image_url and p.image_url.startswith("http://sandbox.test/images/") for p in products.values())
    assert {len(p.page_urls) for p in products.values()} == {0, 1, 2, 3}
    not_procurable = [p for p in products.values() if p.is_sales == "0"]
    assert 0.03 < len(not_procurable) / SIZE < 0.07
    assert all(p.no_sales_reason for p in not_procurable)
    assert all(p.no_sales_reason == "" for p in products.values() if p.is_sales == "1")


def test_prices_follow_haier_rules(catalogue: Catalogue) -> None:
    prices = catalogue.expected_prices()
    cent = Decimal("0.01")
    no_price = [p for p in prices.values() if p.reason == "价格未生效"]
    assert 0.015 < len(no_price) / SIZE < 0.045
    assert all(p.supply_price is None and p.invoice_price is None for p in no_price)
    typed = [p for p in prices.values() if p.rebate_type is not None]
    assert 0.07 < len(typed) / SIZE < 0.13
    assert {p.rebate_type for p in typed} == {"COM", "FHQ", "BF", "DTDBF"}
    assert all(p.stock_rebate is None for p in typed)
    for price in prices.values():
        assert price.rebate_money is not None and price.rebate_money.as_tuple().exponent == -2
        if price.supply_price is None:
            continue
        assert price.supply_price.as_tuple().exponent == -2 and price.invoice_price is not None
        if price.stock_rebate is not None:
            formula = (price.supply_price * (1 - price.stock_rebate) - price.rebate_money).quantize(cent, ROUND_HALF_UP)
            assert price.invoice_price == formula
    assert sum(1 for p in prices.values() if p.stock_rebate) > SIZE * 0.2  # real discounts, not only zeros
    assert all((p.is_sales == "0") == (p.reason == "商品暂不可采") for p in prices.values())


def test_listing_noise_is_reported(catalogue: Catalogue) -> None:
    records = catalogue.listing().records
    malformed, duplicates = catalogue.malformed_listing_indexes(), catalogue.duplicate_listing_indexes()
    assert len(records) == SIZE + len(malformed) + len(duplicates)
    assert catalogue.malformed_count == len(malformed) == SIZE // 200
    assert catalogue.duplicate_count == len(duplicates) == SIZE // 100
    assert {catalogue.listing().malformed[i] for i in malformed} == set(MALFORMED_KINDS)
    valid_codes = set(catalogue.listing_codes())
    for index in malformed:
        record = records[index]
        assert record is None or not (
            isinstance(record.get("productCode"), str) and isinstance(record.get("productLageUrls"), list)
            and record.get("isSales") in ("0", "1")
        )
        assert record is None or record.get("productCode") not in valid_codes
    for index in duplicates:
        assert records[index] in records[:index]


def test_stock_differs_between_counties(catalogue: Catalogue) -> None:
    beijing, shanghai = catalogue.expected_stock("110101"), catalogue.expected_stock("310101")
    assert beijing.keys() == shanghai.keys() == catalogue.expected_products().keys()
    differing = sum(1 for code in beijing if beijing[code].stock != shanghai[code].stock)
    assert differing > SIZE * 0.5
    zero = sum(1 for record in beijing.values() if record.stock == 0)
    assert 0.08 < zero / SIZE < 0.25
    assert {r.warehouse_grade for r in beijing.values()} == {"0", "1"}
    assert all(r.county_code == "110101" and r.cut_time and r.expected_delivery for r in beijing.values())


def test_next_generation_changes_what_it_should(catalogue: Catalogue) -> None:
    later = catalogue.next_generation()
    assert later.generation == 1 and catalogue.generation == 0
    before, after = catalogue.expected_products(), later.expected_products()
    delisted, added = before.keys() - after.keys(), after.keys() - before.keys()
    assert len(delisted) == len(added) == SIZE // 50
    old_prices, new_prices = catalogue.expected_prices(), later.expected_prices()
    moved = [code for code in old_prices.keys() & new_prices.keys() if old_prices[code] != new_prices[code]]
    assert 0.03 * SIZE < len(moved) < 0.07 * SIZE
    for code in moved:
        old, new = old_prices[code], new_prices[code]
        assert old.reason == "价格未生效" or old.supply_price != new.supply_price
    old_stock, new_stock = catalogue.expected_stock("110101"), later.expected_stock("110101")
    changed = sum(1 for code in old_stock.keys() & new_stock.keys() if old_stock[code] != new_stock[code])
    assert 0.02 * SIZE < changed <= 0.11 * SIZE
    assert (
        Catalogue(SIZE, seed=7, generation=1, image_base="http://sandbox.test").listing_json() == later.listing_json()
    )


def test_delisted_and_unknown_codes(catalogue: Catalogue) -> None:
    later = catalogue.next_generation()
    gone = sorted(catalogue.expected_products().keys() - later.expected_products().keys())[0]
    [answer] = later.product_answers([gone])
    assert answer["isSales"] == "0" and answer["noSalesReason"] == "商品已下架"
    [price] = later.price_answers([gone])
    assert price["isSales"] == "0" and price["reason"] == "商品暂不可采"
    assert later.stock_answer(gone, "110101")["stock"] == "0"
    assert later.product_answers(["ZZ0000000", "not-a-code"]) == []
    assert (
        catalogue.product_answers([sorted(later.expected_products().keys() - catalogue.expected_products().keys())[0]])
        == []
    )
