"""Raw payload tables: stored exactly as received, rewritten only when changed, streamed back page by page."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.raw_store import (
    iter_latest_raw_prices,
    iter_raw_products,
    iter_raw_stock,
    listed_product_codes,
    mark_unlisted,
    store_raw_prices,
    store_raw_products,
    store_raw_stock,
)
from haier_pipeline.catalog.writes import WriteCounts
from haier_pipeline.haier_api.jsonio import dumps, loads
from support.catalog_db import migrated_catalog_url_for_tests
from support.catalog_records import T0, codes, later


@pytest.fixture
def engine(tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path, request)
    yield prepare_database(url)
    release_database(url)


def listing(code: str, **changes) -> dict:
    body = {
        "productCode": code,
        "productModel": "EC6001-HT3",
        "productGroupNamd": "电热水器",
        "productBrandName": "海尔",
        "productImageUrl": f"https://img.example/{code}.jpg",
        "productLageUrls": [],
        "isSales": "1",
        "noSalesReason": "",
    }
    return {**body, **changes}


def price_answer(code: str, supply: str = "2999.00") -> dict:
    return {"productCode": code, "supplyPrice": Decimal(supply), "invoicePrice": Decimal("2849.0500"),
            "stockRebatePolicy": Decimal("0.05"), "rebateMoney": Decimal("0"), "reason": "", "isSales": "1"}


def stock_answer(qty: str = "12") -> dict:
    return {"secCode": "WH01", "stock": qty, "warehouseGrade": "0",
            "timelinessData": {"cutTime": "16:00", "achieveUserOrderCut": "2025-07-03", "hour": "48", "isTranfer": "0"}}


def test_payload_text_keeps_key_order_and_exact_digits():
    payload = json.loads('{"b": 2999.00, "a": [1, 0.10, "海尔", null, true], "c": 1E+3}', parse_float=Decimal)
    text = dumps(payload)
    assert text == '{"b":2999.00,"a":[1,0.10,"海尔",null,true],"c":1E+3}'
    assert loads(text) == payload
    assert str(loads(text)["b"]) == "2999.00"


def test_raw_products_insert_then_unchanged_then_changed(engine):
    first = [(code, listing(code)) for code in codes(3)]
    with engine.begin() as conn:
        assert store_raw_products(conn, first, "run-1", T0) == WriteCounts(inserted=3)
    with count_statements(engine) as counted, engine.begin() as conn:
        assert store_raw_products(conn, first, "run-2", later(1)) == WriteCounts(unchanged=3)
    assert counted.writes == 0
    changed = [(first[0][0], listing(first[0][0], isSales="0", noSalesReason="未投放"))] + first[1:]
    with engine.begin() as conn:
        assert store_raw_products(conn, changed, "run-3", later(2)) == WriteCounts(updated=1, unchanged=2)
        row = conn.execute(
            select(tables.haier_raw_products).where(tables.haier_raw_products.c.product_code == first[0][0])
        ).one()
    assert (row.run_id, row.changed_at, row.first_seen_at, row.is_sales) == ("run-3", later(2), T0, "0")
    assert loads(row.payload)["noSalesReason"] == "未投放"


def test_duplicate_codes_in_one_batch_collapse_to_the_last(engine):
    with engine.begin() as conn:
        counts = store_raw_products(
            conn, [("GA1", listing("GA1", isSales="1")), ("GA1", listing("GA1", isSales="0"))], "r", T0
        )
        assert counts == WriteCounts(inserted=1)
        assert conn.execute(select(tables.haier_raw_products.c.is_sales)).scalars().all() == ["0"]


def test_blank_codes_are_counted_as_failed_not_stored(engine):
    with engine.begin() as conn:
        assert store_raw_products(conn, [("", listing("")), ("GA1", listing("GA1"))], "r", T0) == WriteCounts(
            inserted=1, failed=1
        )


def test_mark_unlisted_and_relisting(engine):
    with engine.begin() as conn:
        store_raw_products(conn, [(code, listing(code)) for code in codes(4)], "run-1", T0)
        assert mark_unlisted(conn, set(codes(4)[:3]), "run-2", later(1)) == 1
        assert mark_unlisted(conn, set(codes(4)[:3]), "run-3", later(2)) == 0, "already unlisted rows are not rewritten"
        assert mark_unlisted(conn, set(), "run-3", later(2)) == 0, "an empty listing changes nothing"
        assert listed_product_codes(conn) == codes(4)[:3]
        assert [code for code, _ in iter_raw_products(conn, listed_only=False)] == codes(4)
        # seen again with the same payload: listed again, counted as an update
        assert store_raw_products(conn, [(codes(4)[3], listing(codes(4)[3]))], "run-4", later(3)) == WriteCounts(
            updated=1
        )
        assert listed_product_codes(conn) == codes(4)


def test_listed_product_codes_can_keep_only_procurable(engine):
    with engine.begin() as conn:
        store_raw_products(
            conn, [("A1", listing("A1")), ("A2", listing("A2", isSales="0")), ("A3", listing("A3", isSales=1))], "r", T0
        )
        assert listed_product_codes(conn, procurable_only=True) == ["A1", "A3"]


def test_raw_prices_are_an_append_only_history_of_changes(engine):
    with engine.begin() as conn:
        assert store_raw_prices(
            conn, [("P1", price_answer("P1")), ("P2", price_answer("P2"))], "run-1", T0
        ) == WriteCounts(inserted=2)
    with count_statements(engine) as counted, engine.begin() as conn:
        assert store_raw_prices(
            conn, [("P1", price_answer("P1")), ("P2", price_answer("P2"))], "run-2", later(1)
        ) == WriteCounts(unchanged=2)
    # An unchanged answer is still a confirmation: one set-based stamp, no new history row.
    assert counted.writes == 1 and counted.write_sql[0].startswith("UPDATE haier_raw_prices SET confirmed_at")
    with engine.begin() as conn:
        stamps = conn.execute(select(tables.haier_raw_prices.c.product_code, tables.haier_raw_prices.c.fetched_at,
                                     tables.haier_raw_prices.c.confirmed_at)).all()
    assert sorted(stamps) == [("P1", T0, later(1)), ("P2", T0, later(1))]
    with engine.begin() as conn:  # only the codes Haier answered are confirmed
        store_raw_prices(conn, [("P1", price_answer("P1"))], "run-2b", later(2))
        assert dict(conn.execute(select(tables.haier_raw_prices.c.product_code,
                                        tables.haier_raw_prices.c.confirmed_at)).all())["P2"] == later(1)
    with engine.begin() as conn:
        assert store_raw_prices(
            conn, [("P1", price_answer("P1", "2899.00")), ("P2", price_answer("P2"))], "run-3", later(2)
        ) == WriteCounts(updated=1, unchanged=1)
        # back to the first price: differs from the latest row, so it is appended again
        assert store_raw_prices(conn, [("P1", price_answer("P1"))], "run-4", later(3)) == WriteCounts(updated=1)
        history = conn.execute(
            select(tables.haier_raw_prices.c.payload, tables.haier_raw_prices.c.run_id)
            .where(tables.haier_raw_prices.c.product_code == "P1")
            .order_by(tables.haier_raw_prices.c.id)
        ).all()
        assert [(str(loads(p)["supplyPrice"]), r) for p, r in history] == [
            ("2999.00", "run-1"), ("2899.00", "run-3"), ("2999.00", "run-4")]
        latest = dict(iter_latest_raw_prices(conn))
        assert latest["P1"]["supplyPrice"] == Decimal("2999.00") and str(latest["P1"]["invoicePrice"]) == "2849.0500"
        assert list(dict(iter_latest_raw_prices(conn, ["P2", "nope"]))) == ["P2"]


def test_raw_stock_keeps_the_latest_payload_per_product_and_county(engine):
    rows = [
        ("S1", "110101", stock_answer("12")),
        ("S1", "310101", stock_answer("3")),
        ("S2", "110101", stock_answer("0")),
    ]
    with engine.begin() as conn:
        assert store_raw_stock(conn, rows, "run-1", T0) == WriteCounts(inserted=3)
        assert store_raw_stock(conn, rows[:2], "run-2", later(1)) == WriteCounts(unchanged=2)
        stamps = dict(((c, k), t) for c, k, t in conn.execute(select(
            tables.haier_raw_stock.c.product_code, tables.haier_raw_stock.c.county_code,
            tables.haier_raw_stock.c.confirmed_at)))
        assert stamps == {("S1", "110101"): later(1), ("S1", "310101"): later(1), ("S2", "110101"): T0}
        assert store_raw_stock(conn, [("S1", "110101", stock_answer("11"))], "run-3", later(2)) == WriteCounts(
            updated=1
        )
        assert conn.execute(select(func.count()).select_from(tables.haier_raw_stock)).scalar_one() == 3
        beijing = {(code, county): payload["stock"] for code, county, payload in iter_raw_stock(conn, ["110101"])}
        assert beijing == {("S1", "110101"): "11", ("S2", "110101"): "0"}
        assert len(list(iter_raw_stock(conn))) == 3


def test_readers_page_without_holding_a_cursor_so_callers_can_write_meanwhile(engine):
    all_codes = codes(25)
    with engine.begin() as conn:
        store_raw_products(conn, [(code, listing(code)) for code in all_codes], "run-1", T0)
        store_raw_prices(conn, [(code, price_answer(code)) for code in all_codes], "run-1", T0)
        store_raw_stock(conn, [(code, "110101", stock_answer()) for code in all_codes], "run-1", T0)
        seen = []
        for code, _payload in iter_raw_products(conn, page_size=4):
            seen.append(code)
            store_raw_prices(conn, [(code, price_answer(code, "1.00"))], "run-2", later(1))  # a write between pages
        assert seen == all_codes
        assert [code for code, _ in iter_latest_raw_prices(conn, page_size=4)] == all_codes
        assert {p["supplyPrice"] for _, p in iter_latest_raw_prices(conn, page_size=4)} == {Decimal("1.00")}
        assert [code for code in (c for c, _ in iter_latest_raw_prices(conn, all_codes, page_size=7))] == all_codes
        assert [code for code, _, _ in iter_raw_stock(conn, page_size=4)] == all_codes
