"""A faithful port of the original Django command's loop, as the baseline the pipeline is measured against.

``sync_haier_products --sync-prices --sync-stock`` did, in one thread:

1. ``HaierAPI.authenticate()``: POST ``/oauth2/auth`` with the client credentials, keep the token;
2. ``get_products()``: one call for the whole procurable listing;
3. for each product of the listing, one at a time:
   ``get_product_prices([code])`` (one code per call), then ``Product.sync_from_haier(...)``
   (brand and category ``get_or_create``, look the product up by code, create or update it),
   then ``check_stock(code, county)`` and ``update_stock_from_haier(...)`` (save again).

Saving is Django's default: autocommit, so every statement is its own transaction on SQLite.
The port uses a plain ``requests.Session`` and the token in an ``Authorization`` header, as the
original ``HaierAPI`` did — no thread pool, no batching, no rate limiter, no retries. Records the
original could not use (no ``productCode``) are skipped; every other listing entry is processed,
duplicates included, as the original loop did.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

PRODUCTS_PATH = (
    "/yilihuo/jsh-service-goods-mall-search/api/product-info/procurable-products-out/check-procurable-products"
)
PRICES_PATH = "/yilihuo/jsh-service-goods-price/api/goods-price/price-daily-sales/price-query/pt-out-list-price"
STOCK_PATH = "/yilihuo/jsh-service-stock-mall/api/page/stock/get-available-stock-open"

SCHEMA = """
CREATE TABLE IF NOT EXISTS brand (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS category (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS product (
    id INTEGER PRIMARY KEY, product_code TEXT UNIQUE NOT NULL, name TEXT, product_model TEXT,
    brand_id INTEGER, category_id INTEGER, supply_price TEXT, invoice_price TEXT, stock_rebate TEXT,
    rebate_money TEXT, price TEXT, is_sales INTEGER, stock INTEGER, source TEXT, updated_at TEXT
);
"""


@dataclass
class OriginalCredentials:
    """What the original read from its Django settings (``HAIER_*``)."""

    base_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    customer_code: str
    send_to_code: str
    supplier_code: str
    password: str = field(repr=False)
    seller_password: str = field(repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> OriginalCredentials:
        return cls(env["HAIER_BASE_URL"], env["HAIER_TOKEN_URL"], env["HAIER_CLIENT_ID"], env["HAIER_CLIENT_SECRET"],
                   env["HAIER_CUSTOMER_CODE"], env["HAIER_SEND_TO_CODE"], env["HAIER_SUPPLIER_CODE"],
                   env["HAIER_PASSWORD"], env["HAIER_SELLER_PASSWORD"])


@dataclass
class OriginalResult:
    """How the original loop fared."""

    products: int = 0
    calls: int = 0
    failed: int = 0
    wall_s: float = 0.0
    db_s: float = 0.0


class OriginalHaierAPI:
    """The original client: one session, one token, one call at a time."""

    def __init__(self, creds: OriginalCredentials, timeout: float = 30.0) -> None:
        self.creds = creds
        self.session = requests.Session()
        self.timeout = timeout
        self.access_token: str | None = None
        self.calls = 0

    def authenticate(self) -> bool:
        body = {"client_id": self.creds.client_id, "client_secret": self.creds.client_secret,
                "grant_type": "client_credentials"}
        response = self.session.post(self.creds.token_url, json=body, timeout=self.timeout)
        if response.status_code != 200:
            return False
        self.access_token = response.json().get("access_token")
        return bool(self.access_token)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        self.calls += 1
        headers = {"Authorization": f"Bearer {self.access_token}", "Content-Type": "application/json"}
        response = self.session.post(self.creds.base_url + path, json=body, headers=headers, timeout=self.timeout)
        response.raise_for_status()
        payload = response.json()
        if isinstance(payload, dict) and "data" in payload:
            return payload["data"]
        return payload

    def get_products(self) -> list[dict[str, Any]]:
        c = self.creds
        return self._post(PRODUCTS_PATH, {"customerCode": c.customer_code, "sendToCode": c.send_to_code,
                                          "supplierCode": c.supplier_code, "searchType": "PTJSH",
                                          "passWord": c.password}) or []

    def get_product_prices(self, product_codes: list[str]) -> list[dict[str, Any]]:
        c = self.creds
        return self._post(PRICES_PATH, {"customerCode": c.customer_code, "sendToCode": c.send_to_code,
                                        "productCodes": product_codes, "priceType": "PT",
                                        "passWord": c.password}) or []

    def check_stock(self, product_code: str, county_code: str) -> dict[str, Any]:
        c = self.creds
        answer = self._post(STOCK_PATH, {"salesCode": c.customer_code, "senderCode": c.send_to_code,
                                         "productCode": product_code, "countyCode": county_code, "source": "JSH-B",
                                         "sellerPassword": c.seller_password})
        return answer[0] if isinstance(answer, list) and answer else (answer or {})

    def close(self) -> None:
        self.session.close()


class OriginalModels:
    """Django-ORM-shaped saves on SQLite in autocommit: a lookup, then an insert or an update, each committed."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)  # autocommit, as Django's default
        self.db.executescript(SCHEMA)
        self.seconds = 0.0

    def _get_or_create(self, table: str, name: str) -> int:
        row = self.db.execute(f"SELECT id FROM {table} WHERE name = ?", (name,)).fetchone()
        if row:
            return row[0]
        return self.db.execute(f"INSERT INTO {table} (name) VALUES (?)", (name,)).lastrowid

    def sync_from_haier(self, data: dict[str, Any]) -> None:
        started = time.perf_counter()
        brand_id = self._get_or_create("brand", str(data.get("productBrandName") or "Haier"))
        category_id = self._get_or_create("category", str(data.get("productGroupNamd") or "未分类"))
        code = data["productCode"]
        values = (
            str(data.get("productModel") or code),
            data.get("productModel"),
            brand_id,
            category_id,
            _text(data.get("supplyPrice")),
            _text(data.get("invoicePrice")),
            _text(data.get("stockRebatePolicy")),
            _text(data.get("rebateMoney")),
            _text(data.get("supplyPrice")),
            1 if str(data.get("isSales")) == "1" else 0,
            datetime.now(UTC).isoformat(),
        )
        row = self.db.execute("SELECT id FROM product WHERE product_code = ?", (code,)).fetchone()
        if row:
            self.db.execute("UPDATE product SET name=?, product_model=?, brand_id=?, category_id=?, supply_price=?, "
                            "invoice_price=?, stock_rebate=?, rebate_money=?, price=?, is_sales=?, updated_at=? "
                            "WHERE id=?", (*values, row[0]))
        else:
            self.db.execute(
                "INSERT INTO product (name, product_model, brand_id, category_id, supply_price, invoice_price, "
                "stock_rebate, rebate_money, price, is_sales, updated_at, product_code, source) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'haier')",
                (*values, code),
            )
        self.seconds += time.perf_counter() - started

    def update_stock_from_haier(self, code: str, stock_data: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            stock = int(str(stock_data.get("stock", "0")))
        except ValueError:
            stock = 0
        row = self.db.execute("SELECT id FROM product WHERE product_code = ?", (code,)).fetchone()
        if row:
            self.db.execute("UPDATE product SET stock=?, updated_at=? WHERE id=?",
                            (stock, datetime.now(UTC).isoformat(), row[0]))
        self.seconds += time.perf_counter() - started

    def close(self) -> None:
        self.db.close()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def run_original(
    creds: OriginalCredentials, db_path: Path, county_code: str, limit: int | None = None
) -> OriginalResult:
    """The original command with ``--sync-prices --sync-stock`` for the first ``limit`` listing entries
    (all if None)."""
    result = OriginalResult()
    api, models = OriginalHaierAPI(creds), OriginalModels(db_path)
    started = time.perf_counter()
    try:
        if not api.authenticate():
            raise RuntimeError("the original loop could not authenticate against the sandbox")
        listing = [
            item for item in api.get_products() if isinstance(item, dict) and isinstance(item.get("productCode"), str)
        ]
        for product_data in listing[:limit] if limit is not None else listing:
            code = product_data["productCode"]
            try:
                prices = api.get_product_prices([code])
                if prices:
                    product_data = {**product_data, **prices[0]}
                models.sync_from_haier(product_data)
                models.update_stock_from_haier(code, api.check_stock(code, county_code))
                result.products += 1
            except (requests.RequestException, ValueError, KeyError):
                result.failed += 1
    finally:
        result.wall_s = time.perf_counter() - started
        result.calls, result.db_s = api.calls, models.seconds
        api.close()
        models.close()
    return result
