"""Product and price answers for one product, side by side with the typed record a correct client derives.

Both the JSON (with Haier's field names and quirks) and the expected record are built from the same
:class:`ProductSpec`, never one from the other, so the ground truth does not share the sandbox's own
reading of its JSON.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..haier_api.records import PriceRecord, ProductRecord
from .products import ProductSpec, moved_price
from .styles import AnswerStyle

DEFAULT_STYLE = AnswerStyle()

DELISTED_REASON = "商品已下架"
NOT_PROCURABLE_PRICE_REASON = "商品暂不可采"
NO_PRICE_REASON = "价格未生效"


def _sales(spec: ProductSpec, listed: bool) -> tuple[str, str]:
    if not listed:
        return "0", DELISTED_REASON
    if spec.status == "not_procurable":
        return "0", spec.no_sales_reason
    return "1", ""


def product_payload(spec: ProductSpec, image_base: str, listed: bool = True) -> dict[str, Any]:
    """The procurable-products record for ``spec`` (``listed=False``: answered for a delisted code)."""
    is_sales, reason = _sales(spec, listed)
    return {
        "productCode": spec.code,
        "productModel": spec.model,
        "productGroupNamd": spec.group,
        "productBrandName": spec.brand,
        "productImageUrl": image_base + spec.image_paths[0],
        "productLageUrls": [image_base + path for path in spec.image_paths[1:]],
        "isSales": is_sales,
        "noSalesReason": reason,
    }


def product_record(spec: ProductSpec, image_base: str, listed: bool = True) -> ProductRecord:
    is_sales, reason = _sales(spec, listed)
    return ProductRecord(
        product_code=spec.code,
        product_model=spec.model,
        product_group=spec.group,
        brand_name=spec.brand,
        image_url=image_base + spec.image_paths[0],
        page_urls=tuple(image_base + path for path in spec.image_paths[1:]),
        is_sales=is_sales,
        no_sales_reason=reason,
    )


def rebate_kind(spec: ProductSpec, listed: bool = True, style: AnswerStyle = DEFAULT_STYLE) -> str | None:
    """The ``stock_rebate_kind`` a correct client records: the style's kind (a zero discount fits both
    formulas and is a rate), ``unknown`` without a supply price, None for rebate-type products."""
    if spec.discount is None:
        return None
    if _price_terms(spec, spec.base_price, listed)[2] is None:
        return "unknown"
    return "rate" if spec.discount == 0 else style.discount


def supply_price(seed: int, spec: ProductSpec, moves: tuple[int, ...]) -> Decimal:
    """The supply price after every move the generations so far have made."""
    price = spec.base_price
    for generation in moves:
        price = moved_price(seed, spec.index, price, generation)
    return price


def _price_terms(spec: ProductSpec, supply: Decimal, listed: bool) -> tuple[str, str, Decimal | None]:
    """(isSales, reason, supply price or None when no price is in force)."""
    if not listed or spec.status == "not_procurable":
        return "0", NOT_PROCURABLE_PRICE_REASON, supply
    if spec.status == "no_price":
        return "1", NO_PRICE_REASON, None
    return "1", "", supply


def price_payload(spec: ProductSpec, supply: Decimal, listed: bool = True,
                  style: AnswerStyle = DEFAULT_STYLE) -> dict[str, Any]:
    """The price record: ``stockRebatePolicy`` is the discount (rate or amount), or the rebate type when there is one.

    Values are Decimals here; ``style.price`` writes them the way the gateway does."""
    is_sales, reason, in_force = _price_terms(spec, supply, listed)
    payload: dict[str, Any] = {"productCode": spec.code}
    if in_force is not None:
        payload["supplyPrice"] = in_force
        payload["invoicePrice"] = spec.invoice_price(in_force, style.discount, style.rounding_mode)
    payload["stockRebatePolicy"] = spec.rebate_type if spec.rebate_type else spec.discount_as(style.discount)
    payload["rebateMoney"] = spec.rebate_money
    payload["reason"] = reason
    payload["isSales"] = is_sales
    return payload


def price_record(spec: ProductSpec, supply: Decimal, listed: bool = True,
                 style: AnswerStyle = DEFAULT_STYLE) -> PriceRecord:
    is_sales, reason, in_force = _price_terms(spec, supply, listed)
    return PriceRecord(
        product_code=spec.code,
        supply_price=in_force,
        invoice_price=None if in_force is None else spec.invoice_price(in_force, style.discount, style.rounding_mode),
        stock_rebate=spec.discount_as(style.discount),
        rebate_type=spec.rebate_type,
        rebate_money=spec.rebate_money,
        reason=reason,
        is_sales=is_sales,
    )
