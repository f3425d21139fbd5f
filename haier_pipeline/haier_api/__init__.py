"""The Haier open-platform API client: auth, retries, rate limit, batching, parsing. Plain Python, no Dagster.

``HaierClient`` fetches raw payload records (``CallResult``); ``parsing`` turns
them into the typed records of ``records``. The Dagster resource that hands a client
to assets lives in ``haier_pipeline.resources``.
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

__all__ = ["BalanceRecord", "CallResult", "ClientConfig", "ClientStats", "ConfigError", "HaierAnswerRefused",
           "HaierApiError",
           "HaierApplicationError", "HaierAuthError", "HaierClient", "HaierRequestRejected", "HaierUnavailable",
           "MalformedRecord", "ParseResult", "PriceRecord", "ProductRecord", "RecordError", "StockRecord", "batches",
           "parse_balance", "parse_balances", "parse_price", "parse_prices", "parse_product", "parse_products",
           "parse_stock", "parse_stock_records", "payload_records", "unique_codes", "unwrap_envelope"]
