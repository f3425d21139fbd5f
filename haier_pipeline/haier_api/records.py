"""Typed records parsed from Haier's payloads: the one vocabulary every layer shares.

Money and rates are ``Decimal``; stock is ``int``; Haier's misspelt field names
(``productGroupNamd``, ``productLageUrls``) stop at the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """One procurable-products listing entry."""

    product_code: str
    product_model: str
    product_group: str
    brand_name: str
    image_url: str | None
    page_urls: tuple[str, ...]
    is_sales: str  # "1" procurable, "0" not
    no_sales_reason: str


@dataclass(frozen=True, slots=True)
class PriceRecord:
    """One price answer. ``supply_price`` is None when no price is in force (``价格未生效``)."""

    product_code: str
    supply_price: Decimal | None
    invoice_price: Decimal | None
    stock_rebate: Decimal | None  # the direct discount, exactly as sent (stockRebatePolicy as a number)
    rebate_type: str | None  # COM / FHQ / BF / DTDBF or any other code (stockRebatePolicy as text)
    rebate_money: Decimal | None
    reason: str
    is_sales: str | None  # None: Haier's flag was refused (the product keeps its current one)
    refused: tuple[str, ...] = ()  # fields refused one by one (stored as NULL), each with its reason


@dataclass(frozen=True, slots=True)
class StockRecord:
    """Available stock of one product in one county."""

    product_code: str
    county_code: str
    stock: int
    warehouse_code: str | None
    warehouse_grade: str | None
    cut_time: str | None
    expected_delivery: str | None
    delivery_hours: str | None
    is_transfer: str | None
    refused: tuple[str, ...] = ()  # fields refused one by one (stored as NULL), each with its reason


@dataclass(frozen=True, slots=True)
class BalanceRecord:
    """One payer account balance line."""

    sale_group_code: str
    sale_group_name: str
    payer_account_code: str
    payer_account_name: str
    balance: Decimal


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record that could not be parsed: which one, and what was wrong with it."""

    endpoint: str
    index: int
    product_code: str | None
    reason: str
    kept: bool = False  # the record landed with the named fields stored as NULL

    def describe(self) -> str:
        who = self.product_code or f"record #{self.index}"
        kept = " (record kept, field stored as NULL)" if self.kept else ""
        return f"{self.endpoint}: {who}: {self.reason}{kept}"


@dataclass(slots=True)
class ParseResult(Generic[T]):
    """Records parsed from one or more payloads, with the malformed ones reported beside them."""

    records: list[T] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)

    def extend(self, other: ParseResult[T]) -> None:
        self.records.extend(other.records)
        self.errors.extend(other.errors)
