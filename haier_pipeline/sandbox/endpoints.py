"""The gateway's paths, and which business answers come wrapped in an envelope.

Paths are the contract's, verbatim. With ``envelope="mixed"`` (the default) products, stock and
logistics answer ``{"success": true, "code": "200", "message": "ok", "data": ...}`` while prices and
balance answer the bare payload, so a client meets both forms on every sync.
"""

from __future__ import annotations

from .options import EnvelopeMode

PRODUCTS = "products"
PRICES = "prices"
STOCK = "stock"
LOGISTICS = "logistics"
BALANCE = "balance"

BUSINESS_PATHS = {
    "/yilihuo/jsh-service-goods-mall-search/api/product-info/procurable-products-out/check-procurable-products": PRODUCTS,
    "/yilihuo/jsh-service-goods-price/api/goods-price/price-daily-sales/price-query/pt-out-list-price": PRICES,
    "/yilihuo/jsh-service-stock-mall/api/page/stock/get-available-stock-open": STOCK,
    "/yilihuo/ylh-cloud-service-stock/api/page/stock/logistics/sass/get-thirdparty-logistics-info-by-order-code-auth":
        LOGISTICS,
    "/yilihuo/jsh-service-finance-mall/api/page/account/account-balance-manager/get-payer-account-balance-by-customer-code":
        BALANCE,
}
PATH_OF = {name: path for path, name in BUSINESS_PATHS.items()}
TOKEN_PATHS = {"/oauth2/auth": "auth", "/oauth2/token": "token"}
ENVELOPED_WHEN_MIXED = {PRODUCTS: True, STOCK: True, LOGISTICS: True, PRICES: False, BALANCE: False}


def is_enveloped(endpoint: str, mode: EnvelopeMode) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return ENVELOPED_WHEN_MIXED[endpoint]
