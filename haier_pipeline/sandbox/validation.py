"""Request validation of the five business endpoints: the sandbox refuses what Haier would refuse.

Each ``check_*`` function takes the parsed JSON body and returns what the endpoint needs, or raises
:class:`BadRequest` (answered 400). Messages name the field and never repeat a submitted value, so
a wrong password cannot leak through an error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from haier_pipeline.constants import DEFAULT_SUPPLIER_CODE

from .options import SandboxOptions

MAX_PRODUCT_CODES = 20
COUNTY_CODE = re.compile(r"^\d{6}$")


class BadRequest(ValueError):
    """Bad parameters; the message is safe to send back and to log."""


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise BadRequest(f"{name}: required")
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name}: must be a non-empty string")
    return value


def _equal(body: dict[str, Any], name: str, expected: str) -> str:
    value = _text(body, name)
    if value != expected:
        raise BadRequest(f"{name}: not valid for this account")
    return value


def _secret(body: dict[str, Any], name: str, expected: str) -> None:
    if _text(body, name) != expected:
        raise BadRequest(f"{name}: wrong password")


def _fixed(body: dict[str, Any], name: str, expected: str) -> None:
    if _text(body, name) != expected:
        raise BadRequest(f"{name}: must be {expected}")


def product_codes(body: dict[str, Any], required: bool) -> list[str] | None:
    """``productCodes``: None when omitted (where allowed), else 1-20 non-empty strings."""
    codes = body.get("productCodes")
    if codes is None:
        if required:
            raise BadRequest("productCodes: required")
        return None
    if not isinstance(codes, list) or not codes:
        raise BadRequest("productCodes: must be a non-empty list (omit it to ask for the whole catalogue)")
    if len(codes) > MAX_PRODUCT_CODES:
        raise BadRequest(f"productCodes: at most {MAX_PRODUCT_CODES} codes per call (got {len(codes)})")
    if not all(isinstance(code, str) and code.strip() for code in codes):
        raise BadRequest("productCodes: every code must be a non-empty string")
    return codes


def check_products(body: dict[str, Any], options: SandboxOptions) -> list[str] | None:
    _equal(body, "customerCode", options.customer_code)
    supplier = _equal(body, "supplierCode", options.supplier_code)
    if supplier == DEFAULT_SUPPLIER_CODE or body.get("sendToCode") is not None:
        _equal(body, "sendToCode", options.send_to_code)
    _fixed(body, "searchType", "PTJSH")
    _secret(body, "passWord", options.password)
    return product_codes(body, required=False)


def check_prices(body: dict[str, Any], options: SandboxOptions) -> list[str]:
    _equal(body, "customerCode", options.customer_code)
    _equal(body, "sendToCode", options.send_to_code)
    _fixed(body, "priceType", "PT")
    _secret(body, "passWord", options.password)
    return product_codes(body, required=True) or []


@dataclass(frozen=True)
class StockQuery:
    product_code: str
    county_code: str


def check_stock(body: dict[str, Any], options: SandboxOptions) -> StockQuery:
    _equal(body, "salesCode", options.customer_code)
    _equal(body, "senderCode", options.send_to_code)
    code = _text(body, "productCode")
    county = _text(body, "countyCode")
    if not COUNTY_CODE.match(county):
        raise BadRequest("countyCode: must be a 6-digit district code such as 110101")
    _fixed(body, "source", "JSH-B")
    _secret(body, "sellerPassword", options.seller_password)
    return StockQuery(code, county)


@dataclass(frozen=True)
class LogisticsQuery:
    order_code: str
    delivery_record_code: str | None


def check_logistics(body: dict[str, Any], options: SandboxOptions) -> LogisticsQuery:
    order_code = _text(body, "orderCode")
    delivery = body.get("deliveryRecordCode")
    if delivery is not None and not (isinstance(delivery, str) and delivery.strip()):
        raise BadRequest("deliveryRecordCode: must be a non-empty string when given")
    member = body.get("memberId")
    if member is not None and (isinstance(member, bool) or not isinstance(member, int)):
        raise BadRequest("memberId: must be an integer when given")
    _equal(body, "sellerCode", options.customer_code)
    _secret(body, "sellerPassword", options.seller_password)
    return LogisticsQuery(order_code, delivery)


def check_balance(body: dict[str, Any], options: SandboxOptions) -> str:
    customer = _equal(body, "customerCode", options.customer_code)
    _secret(body, "customerPassword", options.customer_password)
    return customer
