"""Prices onto products: exact decimals, the sale price set once and never overwritten, local rows untouched."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.writes import WriteCounts, apply_prices, ensure_brands, ensure_categories, upsert_products
from support.catalog_db import migrated_catalog_url_for_tests
from support.catalog_records import T0, later, price, product

P = tables.products


@pytest.fixture
def engine(tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path, request)
    yield prepare_database(url)
    release_database(url)


@pytest.fixture
def listed(engine):
    """Three Haier products in the catalog."""
    records = [product("GA1"), product("GA2"), product("GA3")]
    with engine.begin() as conn:
        upsert_products(conn, records, ensure_brands(conn, ["海尔"]), ensure_categories(conn, ["电热水器"]), T0)
    return engine


def row(conn, code):
    return conn.execute(select(P).where(P.c.product_code == code)).mappings().one()


def test_prices_are_stored_exactly(listed):
    with listed.begin() as conn:
        counts = apply_prices(conn, [price("GA1", "2999.00", invoice_price=Decimal("2849.05"),
                                           stock_rebate=Decimal("0.035"), rebate_money=Decimal("100"))], later(1))
        assert counts == WriteCounts(updated=1)
        got = row(conn, "GA1")
    assert got["supply_price"] == Decimal("2999.000000") and str(got["supply_price"]) == "2999.000000"
    assert str(got["invoice_price"]) == "2849.050000" and str(got["stock_rebate"]) == "0.035000"
    assert str(got["rebate_money"]) == "100.000000"
    assert (got["stock_rebate_kind"], got["price_reason"]) == ("unknown", None)  # 2999 × 0.965 − 100 ≠ 2849.05


def test_every_decimal_place_the_parser_accepts_is_kept(listed):
    """One scale rule: six decimal places accepted, six stored (no silent rounding to four)."""
    with listed.begin() as conn:
        apply_prices(conn, [price("GA1", "2999.123456", invoice_price=Decimal("2849.067283"),
                                  stock_rebate=Decimal("0.05"), rebate_money=Decimal("0.000001"), reason="价格未生效")],
                     later(1))
        got = row(conn, "GA1")
    assert (got["supply_price"], got["invoice_price"], got["rebate_money"]) == (
        Decimal("2999.123456"), Decimal("2849.067283"), Decimal("0.000001"))
    assert got["price_reason"] == "价格未生效"
    assert got["updated_at"] == got["last_changed_at"] == later(1)


@pytest.mark.parametrize("value", ["0.000001", "999999999.999999", "-3.100000", "100000000000.000000"])
def test_money_round_trips_exactly(engine, value):
    with engine.begin() as conn:
        conn.execute(P.insert().values(product_code="X", name="x", market_price=Decimal(value)))
        assert str(row(conn, "X")["market_price"]) == value


def test_full_numeric_precision_on_postgresql_and_a_loud_refusal_on_sqlite(engine):
    value = Decimal("999999999999.999999")  # NUMERIC(18, 6)'s largest value: 18 significant digits
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            with pytest.raises(Exception, match="15 significant digits"):
                conn.execute(P.insert().values(product_code="X", name="x", market_price=value))
        else:
            conn.execute(P.insert().values(product_code="X", name="x", market_price=value))
            assert row(conn, "X")["market_price"] == value


def test_floats_are_refused_for_money(engine):
    with engine.begin() as conn, pytest.raises(Exception, match="float"):
        conn.execute(P.insert().values(product_code="X", name="x", price=2999.0))


def test_numerically_equal_prices_are_unchanged(listed):
    with listed.begin() as conn:
        apply_prices(conn, [price("GA1", "2999.00")], later(1))
    with count_statements(listed) as counted, listed.begin() as conn:
        same = price("GA1", "2999", invoice_price=Decimal("2849.050000"), stock_rebate=Decimal("0.0500"))
        assert apply_prices(conn, [same], later(2)) == WriteCounts(unchanged=1)
    assert counted.writes == 0


def test_sale_price_comes_from_supply_price_once_and_is_never_overwritten(listed):
    with listed.begin() as conn:
        apply_prices(conn, [price("GA1", "2999.00")], later(1))
        assert row(conn, "GA1")["price"] == Decimal("2999.00")
        assert apply_prices(conn, [price("GA1", "2799.00")], later(2)) == WriteCounts(updated=1)
        got = row(conn, "GA1")
        assert (got["supply_price"], got["price"]) == (Decimal("2799.00"), Decimal("2999.00"))
        # the shop sets its own price: later syncs leave it alone
        conn.execute(P.update().where(P.c.product_code == "GA1").values(price=Decimal("3199.00")))
        apply_prices(conn, [price("GA1", "2599.00")], later(3))
        assert row(conn, "GA1")["price"] == Decimal("3199.00")


def test_sale_price_prefers_the_market_price_and_fills_a_zero(listed):
    with listed.begin() as conn:
        conn.execute(
            P.update().where(P.c.product_code == "GA2").values(market_price=Decimal("3499.00"), price=Decimal("0"))
        )
        apply_prices(conn, [price("GA2", "2999.00"), price("GA3", None, reason="价格未生效")], later(1))
        assert row(conn, "GA2")["price"] == Decimal("3499.00")
        no_price = row(conn, "GA3")
        assert (no_price["supply_price"], no_price["price"]) == (None, None), "no price in force: nothing to copy"
        apply_prices(conn, [price("GA3", "1999.00")], later(2))
        assert row(conn, "GA3")["price"] == Decimal("1999.00")


def test_price_answer_mirrors_rebate_type_and_is_sales(listed):
    with listed.begin() as conn:
        apply_prices(
            conn, [price("GA1", stock_rebate=None, rebate_type="FHQ", is_sales="0", reason="商品暂不可采")], later(1)
        )
        got = row(conn, "GA1")
    assert (got["rebate_type"], got["stock_rebate"], got["is_sales"]) == ("FHQ", None, "0")


def test_local_and_unknown_products_are_skipped(listed):
    with listed.begin() as conn:
        conn.execute(P.insert().values(product_code="LOCAL1", name="自营", source="local", supply_price=Decimal("10")))
        before = row(conn, "LOCAL1")
        counts = apply_prices(conn, [price("LOCAL1", "1.00"), price("NOPE", "1.00"), price("GA1")], later(1))
        assert counts == WriteCounts(updated=1, skipped=2)
        assert row(conn, "LOCAL1") == before
