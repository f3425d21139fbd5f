"""Haier payloads -> typed records, one record at a time, so one bad record never sinks its batch.

``fetch_*`` on the client returns raw payload records (what the pipeline
persists); these functions turn them into :mod:`records` later, and can be run
again on stored payloads. Single-record functions raise :class:`MalformedRecord`;
the batch functions collect those into ``ParseResult.errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from . import endpoints, fields
from .errors import HaierApplicationError
from .fields import BadField
from .records import (
    BalanceRecord,
    ParseResult,
    PriceRecord,
    ProductRecord,
    RecordError,
    StockRecord,
)

T = TypeVar("T")

REBATE_TYPES = frozenset({"COM", "FHQ", "BF", "DTDBF"})  # known codes; unknown ones are kept as given
MAX_REBATE_TYPE_LENGTH = 16  # products.rebate_type is VARCHAR(16)
SUCCESS_CODES = frozenset({"200", "0", "success"})
ZERO, ONE = Decimal(0), Decimal(1)


class MalformedRecord(ValueError):
    """A single record could not be parsed; ``error`` says which one and why."""

    def __init__(self, error: RecordError) -> None:
        self.error = error
        super().__init__(error.describe())


def unwrap_envelope(payload: Any, endpoint: str, batch: Iterable[str] = ()) -> Any:
    """The payload inside ``{"success", "code", "message", "data"}``, or the bare payload as is.

    ``success: false`` or a non-success ``code`` raises :class:`HaierApplicationError`
    with the server's message: it is never an empty result.
    """
    if not isinstance(payload, Mapping) or not _is_envelope(payload):
        return payload
    success = payload.get("success", True)
    code = payload.get("code")
    ok = success is True or (isinstance(success, str) and success.lower() == "true")
    if code is not None and str(code).strip().lower() not in SUCCESS_CODES:
        ok = False
    if not ok:
        message = payload.get("message", payload.get("msg"))
        text = message if isinstance(message, str) and message else "no message"
        detail = f"code {code}: {text}" if code is not None else text
        # Not shortened here: the client masks known secrets first, then clips (HaierApiError.masked).
        raise HaierApplicationError(endpoint, tuple(batch), f"gateway reported failure: {detail}")
    return payload.get("data")


def _is_envelope(payload: Mapping[str, Any]) -> bool:
    return "success" in payload or ("code" in payload and any(key in payload for key in ("data", "message", "msg")))


def payload_records(payload: Any, endpoint: str, batch: Iterable[str] = ()) -> list[Any]:
    """An unwrapped payload as a list of records: lists as they are, one object as a list of one."""
    if payload is None:
        return []
    if isinstance(payload, list):
        return payload
    if isinstance(payload, Mapping):
        return [payload]
    raise HaierApplicationError(endpoint, tuple(batch),
                                f"unexpected payload: {type(payload).__name__}, not a list or object")


def _record(raw: Any, endpoint: str, index: int, build: Callable[[Mapping[str, Any]], T],
            product_code: str | None = None) -> T:
    code = product_code
    if code is None and isinstance(raw, Mapping):
        candidate = raw.get("productCode")
        code = candidate[: fields.MAX_CODE_LENGTH] if isinstance(candidate, str) and candidate else None
    if not isinstance(raw, Mapping):
        raise MalformedRecord(RecordError(endpoint, index, code, f"record is {type(raw).__name__}, not an object"))
    if fields.nested_deeper_than(raw):
        raise MalformedRecord(RecordError(endpoint, index, code,
                                          f"record nests deeper than {fields.MAX_RECORD_DEPTH} levels"))
    try:
        return build(raw)
    except BadField as bad:
        raise MalformedRecord(RecordError(endpoint, index, code, str(bad))) from None


def _many(raws: Iterable[Any], parse_one: Callable[[Any, int], T]) -> ParseResult[T]:
    result: ParseResult[T] = ParseResult()
    for index, raw in enumerate(raws):
        try:
            result.records.append(parse_one(raw, index))
        except MalformedRecord as malformed:
            result.errors.append(malformed.error)
    return result


def parse_product(raw: Any, index: int = 0) -> ProductRecord:
    """One procurable-products record (Haier's ``productGroupNamd``/``productLageUrls`` spellings)."""
    return _record(raw, endpoints.PRODUCTS, index, _product)


def _product(raw: Mapping[str, Any]) -> ProductRecord:
    return ProductRecord(
        product_code=fields.code(raw, "productCode"), product_model=fields.text(raw, "productModel"),
        product_group=fields.text(raw, "productGroupNamd"), brand_name=fields.text(raw, "productBrandName"),
        image_url=fields.url(raw, "productImageUrl"), page_urls=fields.url_list(raw, "productLageUrls"),
        is_sales=fields.flag(raw, "isSales"), no_sales_reason=fields.text(raw, "noSalesReason"),
    )


def parse_products(raws: Iterable[Any]) -> ParseResult[ProductRecord]:
    """Every record of a products payload; malformed ones land in ``errors``."""
    return _many(raws, parse_product)


def parse_price(raw: Any, index: int = 0) -> PriceRecord:
    """One price record. ``stockRebatePolicy``: a number is the direct-discount rate, a string the rebate type."""
    return _record(raw, endpoints.PRICES, index, _price)


def _price(raw: Mapping[str, Any]) -> PriceRecord:
    code = fields.code(raw, "productCode")  # the one field a record cannot do without
    refusals = fields.Refusals()
    policy = refusals.read(_rebate_policy, raw.get("stockRebatePolicy"))
    stock_rebate, rebate_type = policy if policy is not None else (None, None)
    return PriceRecord(
        product_code=code,
        supply_price=refusals.read(fields.decimal, raw, "supplyPrice", minimum=ZERO),
        invoice_price=refusals.read(fields.decimal, raw, "invoicePrice", minimum=ZERO),
        stock_rebate=stock_rebate,
        rebate_type=rebate_type,
        rebate_money=refusals.read(fields.decimal, raw, "rebateMoney", minimum=ZERO),
        reason=refusals.read(fields.text, raw, "reason") or "",
        is_sales=refusals.read(fields.optional_flag, raw, "isSales"),
        refused=tuple(refusals.reasons),
    )


def _rebate_policy(value: Any) -> tuple[Decimal | None, str | None]:
    """``stockRebatePolicy``: a number (JSON or numeric string) is the discount, other text the rebate type."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, str) and fields.numeric_text(value) is None:
        code = value.strip()
        if code.lstrip("+-").lower() in ("nan", "infinity", "inf") or len(code) > MAX_REBATE_TYPE_LENGTH:
            raise BadField(f"stockRebatePolicy {value[:40]!r} is neither a number nor a rebate type code")
        return None, fields.code({"stockRebatePolicy": code}, "stockRebatePolicy")
    return fields.as_decimal(value, "stockRebatePolicy", minimum=ZERO), None


def parse_prices(raws: Iterable[Any]) -> ParseResult[PriceRecord]:
    """Every record of a prices payload; malformed ones land in ``errors``."""
    return _many(raws, parse_price)


def parse_stock(raw: Any, product_code: str, county_code: str, index: int = 0) -> StockRecord:
    """The stock answer for one (product, county) call; the codes come from the request."""
    return _record(raw, endpoints.STOCK, index, lambda r: _stock(r, product_code, county_code), product_code)


def _stock(raw: Mapping[str, Any], product_code: str, county_code: str) -> StockRecord:
    timeliness = fields.mapping(raw, "timelinessData")
    named = {f"timelinessData.{key}": value for key, value in timeliness.items()}  # reasons name the full path
    refusals = fields.Refusals()
    hour = refusals.read(_hour, named)
    return StockRecord(
        product_code=product_code,
        county_code=county_code,
        stock=fields.stock_count(raw, "stock"),  # without a count there is nothing to store
        warehouse_code=fields.optional_text(raw, "secCode", max_length=fields.MAX_CODE_LENGTH),
        warehouse_grade=refusals.read(fields.optional_flag, raw, "warehouseGrade"),
        cut_time=fields.optional_text(timeliness, "cutTime", max_length=fields.MAX_CODE_LENGTH),
        expected_delivery=fields.optional_text(timeliness, "achieveUserOrderCut", max_length=fields.MAX_CODE_LENGTH),
        delivery_hours=hour,
        is_transfer=refusals.read(fields.optional_flag, named, "timelinessData.isTranfer"),
        refused=tuple(refusals.reasons),
    )


def _hour(named: Mapping[str, Any]) -> str | None:
    """Delivery hours as the digits of a whole number (``"24"``); missing or empty gives None."""
    value = named.get("timelinessData.hour")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(fields.whole_number(named, "timelinessData.hour"))


def parse_stock_records(raws: Iterable[Any], product_code: str, county_code: str) -> ParseResult[StockRecord]:
    """Every stock record of one call (normally exactly one)."""
    return _many(raws, lambda raw, index: parse_stock(raw, product_code, county_code, index))


def parse_balance(raw: Any, index: int = 0) -> BalanceRecord:
    """One payer-account balance line (a balance may be negative: money owed)."""
    return _record(raw, endpoints.BALANCES, index, _balance)


def _balance(raw: Mapping[str, Any]) -> BalanceRecord:
    balance = fields.decimal(raw, "payerAccountBalance", required=True)
    assert balance is not None
    return BalanceRecord(
        sale_group_code=fields.text(raw, "saleGroupCode", max_length=fields.MAX_CODE_LENGTH),
        sale_group_name=fields.text(raw, "saleGroupName"), payer_account_code=fields.code(raw, "payerAccountCode"),
        payer_account_name=fields.text(raw, "payerAccountName"), balance=balance,
    )


def parse_balances(raws: Iterable[Any]) -> ParseResult[BalanceRecord]:
    """Every record of a balances payload; malformed ones land in ``errors``."""
    return _many(raws, parse_balance)
