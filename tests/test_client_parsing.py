"""Parsing Haier payloads: tolerant encodings, exact decimals, the stockRebatePolicy clash, per-field refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from haier_pipeline.haier_api import (
    HaierApplicationError,
    MalformedRecord,
    parse_balances,
    parse_price,
    parse_prices,
    parse_product,
    parse_products,
    parse_stock,
    payload_records,
    unwrap_envelope,
)
from haier_pipeline.haier_api.jsonio import dumps, loads


def _price(code: str, **fields: object) -> dict:
    return {"productCode": code, "reason": "", "isSales": "1", **fields}


def test_decimals_stay_exact_through_json_and_parsing() -> None:
    text = '[{"productCode": "P1", "supplyPrice": 2999.00, "invoicePrice": 2849.05, "stockRebatePolicy": 0.05,' \
           ' "rebateMoney": 0.10, "reason": "", "isSales": "1"}]'
    raw = loads(text)
    assert isinstance(raw[0]["supplyPrice"], Decimal)
    record = parse_price(raw[0])
    assert record.supply_price == Decimal("2999.00") and str(record.supply_price) == "2999.00"
    assert str(record.invoice_price) == "2849.05"
    assert record.stock_rebate == Decimal("0.05") and record.rebate_type is None
    assert str(record.rebate_money) == "0.10"
    # 0.1 + 0.2 is the classic float trap: exact here.
    tenth = parse_price(loads('{"productCode":"P","supplyPrice":0.1,"rebateMoney":0.2,"isSales":"1"}'))
    assert tenth.supply_price + tenth.rebate_money == Decimal("0.3")
    # Stored payloads re-parse to exactly the same record.
    assert parse_price(loads(dumps(raw))[0]) == record


def test_stock_rebate_policy_clash_number_is_the_discount_text_is_the_rebate_type() -> None:
    raws = [
        _price("RATE", stockRebatePolicy=Decimal("0.03")),
        _price("ZERO", stockRebatePolicy=0),
        *[_price(kind, stockRebatePolicy=kind) for kind in ("COM", "FHQ", "BF", "DTDBF")],
        _price("NEWCODE", stockRebatePolicy="XYZ"),  # an unknown code: kept as given
        _price("NUMSTR", stockRebatePolicy=" 0.05 "),  # a numeric string is the discount
        _price("AMOUNT", stockRebatePolicy="100.00"),  # an amount, as the original system's notes show it
        _price("NEG", stockRebatePolicy=Decimal("-0.1")),
        _price("BOOL", stockRebatePolicy=True),
        _price("NAN", stockRebatePolicy="NaN"),
        _price("NONE"),
    ]
    result = parse_prices(raws)
    assert result.errors == []  # no record is lost over its discount
    by_code = {record.product_code: record for record in result.records}
    assert by_code["RATE"].stock_rebate == Decimal("0.03") and by_code["RATE"].rebate_type is None
    assert by_code["ZERO"].stock_rebate == Decimal(0)
    for kind in ("COM", "FHQ", "BF", "DTDBF"):
        assert by_code[kind].rebate_type == kind and by_code[kind].stock_rebate is None
    assert (by_code["NEWCODE"].rebate_type, by_code["NEWCODE"].refused) == ("XYZ", ())
    assert by_code["NUMSTR"].stock_rebate == Decimal("0.05") and by_code["NUMSTR"].rebate_type is None
    assert str(by_code["AMOUNT"].stock_rebate) == "100.00"
    assert by_code["NONE"].stock_rebate is None and by_code["NONE"].rebate_type is None
    refused = {code: record.refused for code, record in by_code.items() if record.refused}
    assert sorted(refused) == ["BOOL", "NAN", "NEG"]
    for code in refused:
        assert by_code[code].stock_rebate is None and by_code[code].rebate_type is None
        assert all(reason.startswith("stockRebatePolicy") for reason in refused[code])


def test_bad_fields_are_refused_one_by_one_and_only_a_record_without_a_code_is_dropped() -> None:
    good = _price("OK1", supplyPrice=Decimal("10.00"))
    raws = [
        good,
        _price("FLOAT", supplyPrice=12.5),  # a binary float: the payload was not parsed exactly
        _price("STR", supplyPrice=" 12.50 ", invoicePrice="11.875", rebateMoney="0"),  # numeric strings: accepted
        _price("PLACES", supplyPrice=Decimal("1.0000001")),
        _price("NAN", supplyPrice=Decimal("NaN")),
        _price("INF", invoicePrice=Decimal("Infinity")),
        _price("HUGE", supplyPrice=Decimal("1E+15")),
        _price("NEGATIVE", supplyPrice=Decimal("-1")),
        _price("FLAG", isSales=1),  # a number flag: accepted
        {"supplyPrice": Decimal("1")},  # no productCode
        "not an object",
        _price("LONG" * 30),
        _price("TEXT", supplyPrice="咨询客服", invoicePrice="2849.05"),
        _price("OK2"),
    ]
    result = parse_prices(raws)
    by_code = {record.product_code: record for record in result.records}
    assert list(by_code) == ["OK1", "FLOAT", "STR", "PLACES", "NAN", "INF", "HUGE", "NEGATIVE", "FLAG", "TEXT", "OK2"]
    assert [error.index for error in result.errors] == [9, 10, 11]  # no code, not an object, unusable code
    assert result.errors[0].product_code is None and "productCode" in result.errors[0].reason
    assert "not an object" in result.errors[1].reason and "record #10" in result.errors[1].describe()
    assert "characters" in result.errors[2].reason
    assert (by_code["STR"].supply_price, by_code["STR"].invoice_price) == (Decimal("12.50"), Decimal("11.875"))
    assert by_code["FLAG"].is_sales == "1" and by_code["FLAG"].refused == ()
    reasons = {code: " ".join(record.refused) for code, record in by_code.items() if record.refused}
    assert sorted(reasons) == ["FLOAT", "HUGE", "INF", "NAN", "NEGATIVE", "PLACES", "TEXT"]
    assert "float" in reasons["FLOAT"] and "decimal places" in reasons["PLACES"]
    assert "finite" in reasons["NAN"] and "finite" in reasons["INF"] and "out of range" in reasons["HUGE"]
    assert "below" in reasons["NEGATIVE"] and reasons["TEXT"] == "supplyPrice is not a number: '咨询客服'"
    assert by_code["TEXT"].supply_price is None and by_code["TEXT"].invoice_price == Decimal("2849.05")
    assert by_code["INF"].invoice_price is None and by_code["INF"].supply_price is None  # _price sends no supply
    assert all(error.endpoint == "prices" for error in result.errors)


def test_products_use_haiers_spellings_and_reject_wrong_types() -> None:
    raw = {
        "productCode": "GA0SZC00U",
        "productModel": "EC6001-HT3",
        "productGroupNamd": "电热水器",
        "productBrandName": "海尔",
        "productImageUrl": "https://img.example/1.jpg",
        "productLageUrls": ["https://img.example/2.jpg", "", "https://img.example/3.jpg"],
        "isSales": "0",
        "noSalesReason": "未下放",
    }
    record = parse_product(raw)
    assert (record.product_group, record.brand_name) == ("电热水器", "海尔")
    assert record.page_urls == ("https://img.example/2.jpg", "https://img.example/3.jpg")
    assert (record.is_sales, record.no_sales_reason) == ("0", "未下放")
    bad = [
        {**raw, "productModel": 6001},
        {**raw, "productLageUrls": "https://img.example/2.jpg"},
        {**raw, "productImageUrl": "https://x/" + "a" * 3000},
        {**raw, "productBrandName": "海" * 1001},
        {**raw, "isSales": "yes"},  # 1/0, "1"/"0" and true/false are flags; "yes" is not
        {**raw, "productCode": " GA0 "},
    ]
    result = parse_products([raw, *bad])
    assert len(result.records) == 1
    assert [error.index for error in result.errors] == [1, 2, 3, 4, 5, 6]
    reasons = " | ".join(error.reason for error in result.errors)
    for field in ("productModel", "productLageUrls", "productImageUrl", "productBrandName", "isSales", "productCode"):
        assert field in reasons


def test_stock_is_a_whole_number_from_a_string_or_an_integer_and_refuses_the_rest() -> None:
    raw = {"secCode": "WH01", "stock": "12", "warehouseGrade": "0",
           "timelinessData": {"cutTime": "16:00", "achieveUserOrderCut": "2025-07-02", "hour": "24", "isTranfer": "1"}}
    record = parse_stock(raw, "P1", "110101")
    assert (record.product_code, record.county_code, record.stock) == ("P1", "110101", 12)
    assert (record.warehouse_code, record.warehouse_grade, record.cut_time, record.expected_delivery,
            record.delivery_hours, record.is_transfer) == ("WH01", "0", "16:00", "2025-07-02", "24", "1")
    for stock in (12, " 12 ", "12.0", Decimal("12.0"), Decimal("12")):
        assert parse_stock({**raw, "stock": stock}, "P1", "110101").stock == 12, stock
    numbers = {**raw, "warehouseGrade": 1, "timelinessData": {"hour": 48, "isTranfer": False}}
    record = parse_stock(numbers, "P1", "110101")
    assert (record.warehouse_grade, record.delivery_hours, record.is_transfer, record.refused) == ("1", "48", "0", ())
    for stock in ("-1", "1.5", "", "abc", Decimal("-3"), Decimal("2.5"), None, "1" * 20, True):
        with pytest.raises(MalformedRecord) as caught:  # without a count there is nothing to store
            parse_stock({**raw, "stock": stock}, "P1", "110101")
        assert caught.value.error.product_code == "P1" and "stock" in caught.value.error.reason
    odd = parse_stock({**raw, "warehouseGrade": "7", "timelinessData": {"hour": "1.5", "isTranfer": 2}}, "P1", "110101")
    assert (odd.stock, odd.warehouse_grade, odd.delivery_hours, odd.is_transfer) == (12, None, None, None)
    assert [reason.split()[0] for reason in odd.refused] == ["timelinessData.hour", "warehouseGrade",
                                                             "timelinessData.isTranfer"]
    with pytest.raises(MalformedRecord, match="timelinessData"):
        parse_stock({**raw, "timelinessData": []}, "P1", "110101")


def test_balances_read_numbers_or_numeric_strings_allow_negative_but_not_floats() -> None:
    line = {"saleGroupCode": "SG", "saleGroupName": "n", "payerAccountCode": "PA1", "payerAccountName": "a",
            "payerAccountBalance": Decimal("-12.34")}
    result = parse_balances([line, {**line, "payerAccountCode": "PA2", "payerAccountBalance": 1.5},
                             {**line, "payerAccountBalance": None},
                             {**line, "payerAccountCode": "PA3", "payerAccountBalance": " -8990.37 "}])
    assert [record.balance for record in result.records] == [Decimal("-12.34"), Decimal("-8990.37")]
    assert [error.index for error in result.errors] == [1, 2]


def test_envelopes_unwrap_and_failures_raise_with_the_server_message() -> None:
    assert unwrap_envelope([1, 2], "prices") == [1, 2]
    assert unwrap_envelope({"success": True, "code": "200", "message": "ok", "data": [3]}, "prices") == [3]
    assert unwrap_envelope({"code": 200, "data": {"stock": "1"}}, "stock") == {"stock": "1"}
    bare_stock = {"secCode": "W", "stock": "3"}
    assert unwrap_envelope(bare_stock, "stock") is bare_stock
    failures = (
        {"success": False, "code": "200", "message": "账号密码错误"},
        {"success": True, "code": "E500", "message": "账号密码错误"},
    )
    for failing in failures:
        with pytest.raises(HaierApplicationError) as caught:
            unwrap_envelope(failing, "prices", ("P1", "P2"))
        assert (
            "账号密码错误" in str(caught.value)
            and caught.value.batch == ("P1", "P2")
            and caught.value.endpoint == "prices"
        )
    assert payload_records(None, "prices") == [] and payload_records({"a": 1}, "stock") == [{"a": 1}]
    with pytest.raises(HaierApplicationError):
        payload_records("text", "prices")
