"""The authenticated Haier API client: batching, concurrency, and raw payload records out.

``fetch_*`` return :class:`CallResult` objects holding the raw records of each
call (envelope unwrapped, decimals exact), which is what the pipeline persists;
turning them into typed records is :mod:`parsing`'s job, kept separate so stored
payloads can be re-parsed without calling Haier again.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import requests

from . import bodies, endpoints
from .auth import TokenProvider
from .concurrency import ConcurrencyLimits
from .config import ClientConfig
from .errors import HaierApiError, HaierApplicationError, HaierAuthError
from .parsing import parse_balances, payload_records, unwrap_envelope
from .ratelimit import RateLimiter
from .records import BalanceRecord, ParseResult
from .redact import Redactor
from .stats import ClientStats
from .streaming import stream
from .transport import RetryPolicy, Transport, make_session

log = logging.getLogger("haier_pipeline.haier_api")

# A thread waking for its budget slot waits for the GIL; with Python's 5 ms switch interval, threads parsing
# answers, writing rows and storing images made it miss its slot (more than ratelimit.LATE_LIMIT late, so the
# slot is let go): 262 of 2,000 stock slots in a loaded first sync, 150 at 1 ms (docs/wire.md).
GIL_SWITCH_INTERVAL_S = 0.001


@dataclass
class CallResult:
    """One business call: what was asked, the raw records answered, or the error it gave up with."""

    endpoint: str
    product_codes: tuple[str, ...]
    county_code: str | None = None
    records: list[Any] = field(default_factory=list)
    error: HaierApiError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Call:
    endpoint: str
    body: dict[str, Any] = field(repr=False)
    product_codes: tuple[str, ...]
    county_code: str | None = None

    @property
    def batch(self) -> tuple[str, ...]:
        return self.product_codes + ((self.county_code,) if self.county_code else ())


def require_code(value: object, what: str = "product code") -> str:
    """``value`` if it is a non-empty string, else a ``ValueError`` naming it."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} {value!r} is not a non-empty string")
    return value


def unique_codes(codes: Iterable[str]) -> Iterator[str]:
    """Product codes without duplicates, first occurrence kept; refuses non-strings and blanks."""
    seen: set[str] = set()
    for code in codes:
        require_code(code)
        if code not in seen:
            seen.add(code)
            yield code


def batches(codes: Iterable[str], size: int = endpoints.MAX_CODES_PER_CALL) -> Iterator[tuple[str, ...]]:
    """Consecutive full batches of ``size``; only the last may be short."""
    batch: list[str] = []
    for code in codes:
        batch.append(code)
        if len(batch) == size:
            yield tuple(batch)
            batch = []
    if batch:
        yield tuple(batch)


class HaierClient:
    """Talks to one Haier gateway for one account. Thread-safe; close it (or use ``with``) when done.

    A failing call never stops the others: its :class:`CallResult` carries the
    error. The exception is :class:`HaierAuthError`, raised from the iterator,
    because without a token no later call can succeed either.
    """

    def __init__(self, config: ClientConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self.stats = ClientStats()
        self.redactor = Redactor(config.secrets())
        self._owns_session = session is None
        self._session = make_session(config.max_concurrency + 2, session)
        self._limiter = RateLimiter(config.rate_limit, store=config.rate_limit_store, account=config.account_key)
        policy = RetryPolicy(
            max_attempts=config.max_attempts, deadline=config.deadline, timeout=config.timeout,
            backoff_initial=config.backoff_initial, backoff_max=config.backoff_max,
            max_response_bytes=config.max_response_bytes,
        )
        self.concurrency = ConcurrencyLimits(config.max_concurrency, config.latency_target)
        self._transport = Transport(session=self._session, limiter=self._limiter, redactor=self.redactor,
                                    stats=self.stats, policy=policy, limits=self.concurrency)
        self.tokens = TokenProvider(
            self._transport, config.resolved_token_url, config.client_id, config.client_secret, redactor=self.redactor,
            stats=self.stats,
        )
        self._pool_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    @property
    def slots_missed(self) -> int:
        """Rate-limit slots let go because the calling thread woke too late for them (a busy or stalled process)."""
        return self._limiter.late_slots

    # -- batch endpoints: streamed, concurrent ------------------------------------------------

    def fetch_products(self, product_codes: Sequence[str] | None = None) -> Iterator[CallResult]:
        """The whole procurable listing in one call (``None``), or the given codes 20 per call."""
        if product_codes is None:
            calls: Iterable[_Call] = [_Call(endpoints.PRODUCTS, bodies.products_body(self.config, None), ())]
        else:
            calls = (
                _Call(endpoints.PRODUCTS, bodies.products_body(self.config, batch), batch)
                for batch in batches(unique_codes(product_codes))
            )
        return self._run(calls)

    def fetch_prices(self, product_codes: Iterable[str]) -> Iterator[CallResult]:
        """Prices 20 codes per call (deduplicated, order kept; only the last batch may be short)."""
        calls = (_Call(endpoints.PRICES, bodies.prices_body(self.config, batch),
                       batch) for batch in batches(unique_codes(product_codes)))
        return self._run(calls)

    def fetch_stock(self, pairs: Iterable[tuple[str, str]]) -> Iterator[CallResult]:
        """Stock for each distinct ``(product_code, county_code)``, one call each."""

        def calls() -> Iterator[_Call]:
            seen: set[tuple[str, str]] = set()
            for product_code, county_code in pairs:
                require_code(product_code)
                require_code(county_code, "county code")
                if (product_code, county_code) not in seen:
                    seen.add((product_code, county_code))
                    yield _Call(endpoints.STOCK, bodies.stock_body(self.config, product_code, county_code),
                                (product_code,), county_code)

        return self._run(calls())

    # -- single calls: raise on failure ------------------------------------------------------

    def fetch_logistics(
        self, order_code: str, delivery_record_code: str | None = None, member_id: int | None = None
    ) -> dict[str, list[Any]]:
        """The three logistics lists of one retail order (missing lists come back empty)."""
        if not isinstance(order_code, str) or not order_code.strip():
            raise ValueError("order_code must be a non-empty string")
        if member_id is not None and (isinstance(member_id, bool) or not isinstance(member_id, int)):
            raise ValueError("member_id must be an integer")
        batch = (order_code,)
        body = bodies.logistics_body(self.config, order_code, delivery_record_code, member_id)
        data = self._call(_Call(endpoints.LOGISTICS, body, batch))
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise HaierApplicationError(endpoints.LOGISTICS, batch,
                                        f"unexpected payload: {type(data).__name__}, not an object")
        lists: dict[str, list[Any]] = {}
        for key in endpoints.LOGISTICS_LISTS:
            value = data.get(key)
            if value is not None and not isinstance(value, list):
                raise HaierApplicationError(endpoints.LOGISTICS, batch, f"{key} is {type(value).__name__}, not a list")
            lists[key] = value or []
        return lists

    def fetch_balances(self) -> ParseResult[BalanceRecord]:
        """The customer's payer account balances, parsed (malformed lines in ``errors``)."""
        data = self._call(_Call(endpoints.BALANCES, bodies.balances_body(self.config), ()))
        return parse_balances(payload_records(data, endpoints.BALANCES))

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, call: _Call) -> Any:
        """One call in the calling thread: the unwrapped payload, or a typed error."""
        self.stats.call_started(call.endpoint, len(call.product_codes))
        try:
            url = endpoints.url_for(self.config.base_url, call.endpoint)
            payload = self._transport.post_json(url, call.body, endpoint=call.endpoint, batch=call.batch,
                                                auth=self.tokens)
            return unwrap_envelope(payload, call.endpoint, call.batch)
        except HaierApiError as error:
            self.stats.call_failed(call.endpoint)
            raise error.masked(self.redactor.text) from None  # a gateway may echo a password in its message

    def _perform(self, call: _Call) -> CallResult:
        try:
            records = payload_records(self._call(call), call.endpoint, call.batch)
        except HaierApiError as error:
            return CallResult(call.endpoint, call.product_codes, call.county_code, [], error)
        return CallResult(call.endpoint, call.product_codes, call.county_code, records, None)

    def _run(self, calls: Iterable[_Call]) -> Iterator[CallResult]:
        window = self.config.max_concurrency * 2
        with closing(stream(self._executor(), self._perform, calls, window=window)) as results:
            for result in results:
                if isinstance(result.error, HaierAuthError):
                    raise result.error  # closing() cancels the calls not yet started
                yield result

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
                self._pool = ThreadPoolExecutor(max_workers=self.config.max_concurrency, thread_name_prefix="haier-api")
            return self._pool

    def close(self) -> None:
        """Stop the worker threads and release connections."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._limiter.close()
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> HaierClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
