"""The Haier open-platform API client: auth, retries, rate limit, batching, parsing, Dagster resource.

``HaierClient`` fetches raw payload records (``CallResult``); ``parsing`` turns
them into the typed records of ``records``; ``HaierApiResource`` hands a client
to Dagster assets, starting the built-in sandbox when no gateway is configured.
"""

from .client import CallResult, HaierClient, batches, unique_codes
from .config import ClientConfig, ConfigError
from .errors import (
    HaierAnswerRefused,
    HaierApiError,
    HaierApplicationError,
    HaierAuthError,
    HaierRequestRejected,
    HaierUnavailable,
)
from .parsing import (
    MalformedRecord,
    parse_balance,
    parse_balances,
    parse_price,
    parse_prices,
    parse_product,
    parse_products,
    parse_stock,
    parse_stock_records,
    payload_records,
    unwrap_envelope,
)
from .records import BalanceRecord, ParseResult, PriceRecord, ProductRecord, RecordError, StockRecord
from .stats import ClientStats


def __getattr__(name: str):  # the resource pulls in dagster: import it only when asked for
    if name == "HaierApiResource":
        from .resource import HaierApiResource

        return HaierApiResource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BalanceRecord",
    "CallResult",
    "ClientConfig",
    "ClientStats",
    "ConfigError",
    "HaierAnswerRefused",
    "HaierApiError",
    "HaierApiResource",
    "HaierApplicationError",
    "HaierAuthError",
    "HaierClient",
    "HaierRequestRejected",
    "HaierUnavailable",
    "MalformedRecord",
    "ParseResult",
    "PriceRecord",
    "ProductRecord",
    "RecordError",
    "StockRecord",
    "batches",
    "parse_balance",
    "parse_balances",
    "parse_price",
    "parse_prices",
    "parse_product",
    "parse_products",
    "parse_stock",
    "parse_stock_records",
    "payload_records",
    "unique_codes",
    "unwrap_envelope",
]
