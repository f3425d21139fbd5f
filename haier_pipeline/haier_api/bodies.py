"""Request bodies for each business endpoint, exactly as Haier's document spells the fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from haier_pipeline.constants import DEFAULT_SUPPLIER_CODE

from . import endpoints
from .config import ClientConfig


def products_body(config: ClientConfig, product_codes: Sequence[str] | None) -> dict[str, Any]:
    """Procurable products; ``productCodes`` omitted means the whole procurable catalogue."""
    body: dict[str, Any] = {"customerCode": config.customer_code}
    if config.send_to_code:
        body["sendToCode"] = config.send_to_code
    elif config.supplier_code == DEFAULT_SUPPLIER_CODE:
        config.require("send_to_code", "products calls with supplier 1001")
    if product_codes is not None:
        body["productCodes"] = list(product_codes)
    body.update(supplierCode=config.supplier_code, searchType=endpoints.SEARCH_TYPE, passWord=config.password)
    return body


def prices_body(config: ClientConfig, product_codes: Sequence[str]) -> dict[str, Any]:
    """Prices for at most 20 codes."""
    return {
        "customerCode": config.customer_code,
        "sendToCode": config.require("send_to_code", "price calls"),
        "productCodes": list(product_codes),
        "priceType": endpoints.PRICE_TYPE,
        "passWord": config.password,
    }


def stock_body(config: ClientConfig, product_code: str, county_code: str) -> dict[str, Any]:
    """Available stock of one product in one county."""
    return {
        "salesCode": config.customer_code,
        "senderCode": config.require("send_to_code", "stock calls"),
        "productCode": product_code,
        "countyCode": county_code,
        "source": endpoints.STOCK_SOURCE,
        "sellerPassword": config.require("seller_password", "stock calls"),
    }


def logistics_body(config: ClientConfig, order_code: str, delivery_record_code: str | None,
                   member_id: int | None) -> dict[str, Any]:
    """Logistics of one retail order."""
    body: dict[str, Any] = {"orderCode": order_code}
    if delivery_record_code:
        body["deliveryRecordCode"] = delivery_record_code
    if member_id is not None:
        body["memberId"] = member_id
    body["sellerCode"] = config.customer_code
    body["sellerPassword"] = config.require("seller_password", "logistics calls")
    return body


def balances_body(config: ClientConfig) -> dict[str, Any]:
    """Payer account balances of the customer."""
    return {"customerCode": config.customer_code, "customerPassword": config.resolved_customer_password}
