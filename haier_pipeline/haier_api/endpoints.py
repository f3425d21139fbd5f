"""Haier's gateway paths and the short names this project gives them.

The short names (``products``, ``prices``, ...) are what logs, errors, stats and
:class:`~haier_pipeline.haier_api.records.RecordError` carry; the paths are only
ever joined onto the configured gateway host.
"""

from __future__ import annotations

from typing import Final

PRODUCTS: Final = "products"
PRICES: Final = "prices"
STOCK: Final = "stock"
LOGISTICS: Final = "logistics"
BALANCES: Final = "balances"
TOKEN: Final = "token"

PATHS: Final[dict[str, str]] = {
    PRODUCTS: "/yilihuo/jsh-service-goods-mall-search/api/product-info/procurable-products-out/"
              "check-procurable-products",
    PRICES: "/yilihuo/jsh-service-goods-price/api/goods-price/price-daily-sales/price-query/pt-out-list-price",
    STOCK: "/yilihuo/jsh-service-stock-mall/api/page/stock/get-available-stock-open",
    LOGISTICS: "/yilihuo/ylh-cloud-service-stock/api/page/stock/logistics/sass/"
               "get-thirdparty-logistics-info-by-order-code-auth",
    BALANCES: "/yilihuo/jsh-service-finance-mall/api/page/account/account-balance-manager/"
              "get-payer-account-balance-by-customer-code",
}

TOKEN_AUTH_PATH: Final = "/oauth2/auth"
TOKEN_FALLBACK_PATH: Final = "/oauth2/token"

MAX_CODES_PER_CALL: Final = 20
"""Haier accepts at most 20 product codes per products/prices call."""

SEARCH_TYPE: Final = "PTJSH"
PRICE_TYPE: Final = "PT"
STOCK_SOURCE: Final = "JSH-B"

LOGISTICS_LISTS: Final = (
    "getAllLogisticsInfoByOrderCode", "getStockDeliveryLogisticsRecord", "getStockDeliveryLogisticsRecordThirdparty",
)


def url_for(base_url: str, endpoint: str) -> str:
    """The full URL of a business endpoint on ``base_url``."""
    return base_url.rstrip("/") + PATHS[endpoint]
