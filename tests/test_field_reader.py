"""Property-based tests of the one field reader (Hypothesis): every encoding Haier's gateways use reads exactly.

A BigDecimal arrives as a JSON number or a numeric string, with or without blanks around it; either way
it must come out as the same exact ``Decimal`` — through a real JSON round trip, never through float.
Text, NaN and Infinity are refused by name; flags and whole numbers read from all their encodings.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from haier_pipeline.haier_api import fields, parse_price
from haier_pipeline.haier_api.fields import BadField
from haier_pipeline.haier_api.jsonio import dumps, loads
from haier_pipeline.haier_api.pricing import rate_invoice, rebate_kind

money = st.decimals(min_value=Decimal("-999999999999.999999"), max_value=Decimal("999999999999.999999"),
                    places=6, allow_nan=False, allow_infinity=False)
scales = st.integers(min_value=0, max_value=6)
blanks = st.sampled_from(["", " ", "  ", "\t", "\n", " \t"])


def as_places(value: Decimal, places: int) -> Decimal:
    rounded = value.quantize(Decimal(1).scaleb(-places))
    assume(abs(rounded) < 10**12)  # rounding 999999999999.95 up leaves the accepted range
    return rounded


@given(money, scales, blanks, blanks)
def test_a_number_reads_the_same_from_a_json_number_or_a_numeric_string(value, places, before, after):
    value = as_places(value, places)
    as_number = loads(json.dumps({"v": "@"}).replace('"@"', format(value, "f")))
    as_string = loads(json.dumps({"v": f"{before}{value:f}{after}"}))
    read_number = fields.decimal(as_number, "v")
    read_string = fields.decimal(as_string, "v")
    assert read_number == read_string == value
    assert isinstance(read_number, Decimal) and isinstance(read_string, Decimal)
    if value:  # digit for digit, scale kept (JSON reads -0 as the integer 0: equal, but unsigned)
        assert read_number.as_tuple() == read_string.as_tuple() == value.as_tuple()


@given(money, scales)
def test_stored_payloads_reparse_to_the_same_value(value, places):
    value = as_places(value, places)
    assert fields.decimal(loads(dumps({"v": value})), "v") == value


@given(st.integers(min_value=-(10**12) + 1, max_value=10**12 - 1))
def test_json_integers_are_exact(value):
    assert fields.decimal(loads(json.dumps({"v": value})), "v") == Decimal(value)


@given(st.text(min_size=1, max_size=30).filter(lambda text: fields.numeric_text(text) is None))
def test_text_that_is_not_a_number_is_refused_naming_the_field(text):
    with pytest.raises(BadField, match="^supplyPrice"):
        fields.as_decimal(text, "supplyPrice")


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-Infinity", "inf", "1e999", "", " ", "1,000.00",
                                   "¥100", "0x10", "1_000"])
def test_nan_infinity_and_text_are_refused(value):
    with pytest.raises(BadField):
        fields.as_decimal(value, "supplyPrice")


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_json_nan_and_infinity_are_refused(text):
    with pytest.raises(BadField, match="invoicePrice"):
        fields.as_decimal(loads(text), "invoicePrice")


@given(st.sampled_from([("1", "1"), ("0", "0"), (1, "1"), (0, "0"), (True, "1"), (False, "0"),
                        (" 1 ", "1"), ("true", "1"), ("false", "0")]))
def test_flags_read_from_every_encoding(case):
    value, expected = case
    assert fields.flag(loads(json.dumps({"f": value})), "f") == expected


@pytest.mark.parametrize("value", [2, -1, "2", "yes", "", 1.0, None])
def test_other_flags_are_refused(value):
    with pytest.raises(BadField, match="^f "):
        fields.flag({"f": value}, "f")


@given(st.integers(min_value=0, max_value=10**9 - 1), blanks, st.sampled_from(["", ".0", ".00"]),
       st.booleans())
def test_whole_numbers_from_digit_strings_or_integers(value, blank, zeros, as_text):
    raw = loads(json.dumps({"n": f"{blank}{value}{zeros}{blank}"}) if as_text else f'{{"n": {value}{zeros}}}')
    assert fields.whole_number(raw, "n") == value


@given(
    st.one_of(
        st.integers(max_value=-1).map(str),
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=3)
        .filter(lambda d: d != d.to_integral_value())
        .map(str),
    )
)
def test_fractions_and_negatives_are_not_whole_numbers(text):
    with pytest.raises(BadField, match="^stock"):
        fields.whole_number({"stock": text}, "stock")


@given(st.decimals(min_value=Decimal(300), max_value=Decimal(99999), places=2),
       st.sampled_from([Decimal("0.01"), Decimal("0.02"), Decimal("0.035"), Decimal("0.05")]),
       st.sampled_from([Decimal(0), Decimal("10.00"), Decimal("200.00")]),
       st.sampled_from(["ROUND_HALF_UP", "ROUND_HALF_EVEN"]), st.booleans())
def test_a_rate_discount_is_recognised_whatever_the_rounding_and_encoding(supply, rate, rebate, rounding, strings):
    invoice = rate_invoice(supply, rate, rebate).quantize(Decimal("0.01"), rounding)
    shown = (lambda d: f" {d:f} ") if strings else (lambda d: d)
    record = parse_price(loads(dumps({"productCode": "P", "supplyPrice": shown(supply), "invoicePrice": shown(invoice),
                                      "stockRebatePolicy": shown(rate), "rebateMoney": shown(rebate), "isSales": 1})))
    assert (record.supply_price, record.invoice_price, record.stock_rebate, record.refused) == (
        supply,
        invoice,
        rate,
        (),
    )
    assert rebate_kind(record.supply_price, record.invoice_price, record.stock_rebate, record.rebate_money) == "rate"


@given(st.decimals(min_value=Decimal(300), max_value=Decimal(99999), places=2),
       st.sampled_from([Decimal("20.00"), Decimal("50.00"), Decimal("100.00"), Decimal("150")]),
       st.sampled_from([Decimal(0), Decimal("10.00"), Decimal("200.00")]))
def test_an_amount_discount_is_recognised(supply, amount, rebate):
    assert rebate_kind(supply, supply - amount - rebate, amount, rebate) == "amount"
