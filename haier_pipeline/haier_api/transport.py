"""Every HTTP exchange with the gateway: pooled session, rate limit, time-outs, retries, 401 repeat.

One :class:`Transport` per client. Each call is a tenacity retry loop bounded by
an attempt count *and* a total deadline; every attempt waits for a rate-limiter
slot first. It either returns decoded JSON or raises a typed
:class:`~haier_pipeline.haier_api.errors.HaierApiError` naming endpoint and
batch: it never returns ``None`` for a failure.

Redirects are never followed: a 3xx is refused by name, since following it would resend the
JSON body — client secret or passwords included — to wherever the ``Location`` points. Each
call is cut at its deadline even while bytes are still trickling in (:mod:`.deadline`), and an
answer larger than ``max_response_bytes`` is refused (reading stops at the ceiling).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_exponential_jitter

from . import jsonio
from .concurrency import AdaptiveLimit, ConcurrencyLimits
from .config import MAX_RESPONSE_BYTES
from .deadline import DeadlineAdapter, Exchange, hard_deadline, read_capped
from .errors import (
    Batch,
    HaierAnswerRefused,
    HaierApiError,
    HaierAuthError,
    HaierRequestRejected,
    HaierUnavailable,
    describe_batch,
)
from .ratelimit import RateLimiter
from .redact import Redactor
from .stats import ClientStats

log = logging.getLogger("haier_pipeline.haier_api")

_NOT_RETRYABLE_REQUEST_ERRORS = (
    requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)
ERROR_BODY_BYTES = 64 * 1024  # enough of an error page to quote its message
DEADLINE_GRACE = 0.25  # seconds


class Credential(Protocol):
    """What the transport needs from a token: the header to send and the raw value to invalidate."""

    @property
    def value(self) -> str: ...

    @property
    def header(self) -> str: ...


class Authenticator(Protocol):
    """A token source (``TokenProvider``): a current credential, and a way to declare one dead."""

    def current(self) -> Credential: ...

    def invalidate(self, token: str) -> bool: ...


class _Retryable(Exception):
    """An attempt failed in a way a later attempt may not: network fault, 5xx, 429, garbled body."""

    def __init__(self, reason: str, retry_after: float | None = None, *, slow: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.slow = slow  # no answer in time (the gateway may be queueing), rather than a fault


class _TooLarge(Exception):
    """A successful answer passed the byte ceiling."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries: attempts in total (Haier: at most 3 retries), a deadline, backoff shape."""

    max_attempts: int = 4
    deadline: float = 120.0
    timeout: float = 30.0
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    max_response_bytes: int = MAX_RESPONSE_BYTES


@dataclass(frozen=True)
class Answer:
    """A gateway's answer, read whole (within the byte ceiling and the deadline)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    reason: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def make_session(pool_size: int, session: requests.Session | None = None) -> requests.Session:
    """A session whose connections obey the hard deadline and the wire-side slot check, pooled for every worker.

    A ``session`` handed in (tests record requests with one) keeps any :class:`DeadlineAdapter` it already
    has and gets one where it has not: without it a call would have neither its deadline nor its last
    rate-limit check.
    """
    session = session or requests.Session()
    adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=max(pool_size, 1), max_retries=0)
    for prefix in ("http://", "https://"):
        if not isinstance(session.get_adapter(prefix), DeadlineAdapter):
            session.mount(prefix, adapter)
    return session


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: ``"2"``, ``"0.5"`` or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds == float("inf"):
        return None
    return max(0.0, seconds)


class Transport:
    """POSTs JSON to the gateway with rate limiting, retries, deadline, 401 handling and masked logs."""

    def __init__(
        self, *, session: requests.Session, limiter: RateLimiter, redactor: Redactor, stats: ClientStats,
        policy: RetryPolicy, limits: ConcurrencyLimits | None = None,
    ) -> None:
        self.session = session
        self.limits = limits
        self.limiter = limiter
        self.redactor = redactor
        self.stats = stats
        self.policy = policy
        self._backoff = wait_exponential_jitter(multiplier=policy.backoff_initial, max=policy.backoff_max,
                                                jitter=policy.backoff_initial)

    def post_json(
        self, url: str, body: Mapping[str, Any], *, endpoint: str, batch: Sequence[str] = (),
        auth: Authenticator | None = None,
    ) -> Any:
        """POST ``body`` and return the decoded JSON (decimals as ``Decimal``), or raise a typed error."""
        batch = tuple(batch)
        deadline_at = time.monotonic() + self.policy.deadline
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts) | stop_before_delay(self.policy.deadline),
            wait=self._wait, retry=retry_if_exception_type(_Retryable),
            before_sleep=lambda state: self._before_retry(state, endpoint, batch), reraise=True, sleep=time.sleep,
        )
        started = time.monotonic()
        try:
            return retrying(self._attempt, url, body, endpoint, batch, auth, deadline_at)
        except _Retryable as last:
            attempts = int(retrying.statistics.get("attempt_number", 0))
            elapsed = time.monotonic() - started
            raise HaierUnavailable(
                endpoint,
                batch,
                f"gave up after {attempts} attempt(s) in {elapsed:.1f} s "
                f"(limits: {self.policy.max_attempts} attempts, {self.policy.deadline:g} s): {last.reason}",
            ) from None

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return error.retry_after
        return float(self._backoff(state))

    def _before_retry(self, state: RetryCallState, endpoint: str, batch: Batch) -> None:
        self.stats.add(retries=1)
        outcome = state.outcome
        reason = outcome.exception() if outcome is not None else None
        sleep = state.next_action.sleep if state.next_action is not None else 0.0
        log.info(
            "retrying %s [%s] after %s (attempt %d/%d), waiting %.2f s",
            endpoint, self.redactor.text(describe_batch(batch)), reason, state.attempt_number,
            self.policy.max_attempts, sleep,
        )

    def _attempt(
        self, url: str, body: Mapping[str, Any], endpoint: str, batch: Batch, auth: Authenticator | None,
        deadline_at: float,
    ) -> Any:
        for repeat in (False, True):
            # Business calls hold a place under their endpoint's in-flight limit; token calls (rare, and awaited
            # by the calls holding places) do not, so a refresh can never wait for the calls that wait for it.
            limit = self.limits.for_endpoint(endpoint) if self.limits is not None and auth is not None else None
            self._enter(limit, endpoint, batch, deadline_at)
            try:
                credential = self._slot_and_credential(endpoint, batch, auth, deadline_at)
            except BaseException:
                if limit is not None:
                    limit.release(None, on_wire=False)
                raise
            try:
                authorization = credential.header if credential else None
                response = self._send(url, body, endpoint, batch, authorization, deadline_at, limit)
            except _TooLarge as too_large:
                raise HaierAnswerRefused(
                    endpoint, batch, f"answer larger than {too_large.limit} bytes (stopped reading)", 200
                ) from None
            if response.status_code != 401:
                return self._decode(response, endpoint, batch)
            self.stats.add(unauthorized_401=1)
            if auth is None or credential is None or repeat:
                break
            # The token died early: declare it dead (only the first thread to do so refreshes) and repeat once.
            if auth.invalidate(credential.value):
                self.stats.add(refreshes_after_401=1)
        raise HaierAuthError(endpoint, batch, f"HTTP 401: {self._server_message(response)}")

    @staticmethod
    def _credential(auth: Authenticator | None, endpoint: str, batch: Batch) -> Credential | None:
        if auth is None:
            return None
        try:
            return auth.current()
        except (HaierAuthError, HaierUnavailable) as error:
            # Name the business call that needed the token, not just the token endpoint.
            raise type(error)(endpoint, batch, f"no token: {error.message}") from None

    def _slot_and_credential(
        self, endpoint: str, batch: Batch, auth: Authenticator | None, deadline_at: float
    ) -> Credential | None:
        """A slot, then the token (taken after the slot: as fresh as possible). :meth:`_use_slot` checks the slot
        is still fresh at the wire, so a token that took long costs a new slot, never a late send."""
        self._wait_for_slot(endpoint, batch, deadline_at)
        return self._credential(auth, endpoint, batch)

    def _enter(self, limit: AdaptiveLimit | None, endpoint: str, batch: Batch, deadline_at: float) -> None:
        remaining = deadline_at - time.monotonic()
        if limit is not None and (remaining <= 0 or not limit.acquire(timeout=remaining)):
            raise HaierUnavailable(endpoint, batch, f"deadline of {self.policy.deadline:g} s passed while "
                                   f"{limit.limit} call(s) of this endpoint were in flight")

    def _use_slot(self, endpoint: str, batch: Batch, deadline_at: float) -> None:
        """Right before the request's first byte: spend this thread's slot, or wait for a new one if it went stale."""
        while not self.limiter.on_time():
            self._wait_for_slot(endpoint, batch, deadline_at)

    def _wait_for_slot(self, endpoint: str, batch: Batch, deadline_at: float) -> None:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0 or not self.limiter.acquire(timeout=remaining):
            raise HaierUnavailable(endpoint, batch,
                                   f"deadline of {self.policy.deadline:g} s passed before the call could be sent")

    def _send(
        self, url: str, body: Mapping[str, Any], endpoint: str, batch: Batch, authorization: str | None,
        deadline_at: float, limit: AdaptiveLimit | None = None,
    ) -> Answer:
        """One HTTP exchange; ``limit`` (a place already held) learns its answer time and is given back."""
        if limit is None:
            return self._send_once(url, body, endpoint, batch, authorization, deadline_at)
        judged: float | None = None
        throttled = False
        started = time.perf_counter()
        limit.sending()
        try:
            answer = self._send_once(url, body, endpoint, batch, authorization, deadline_at)
            # A 5xx says nothing about queueing and a 429 is a rate signal: neither is an answer time.
            throttled = answer.status_code == 429
            if answer.status_code < 500 and not throttled:
                judged = time.perf_counter() - started
            return answer
        except _Retryable as failed:
            if failed.slow:  # cut off or timed out: as slow as the gateway was, a queue's symptom
                judged = time.perf_counter() - started
            raise
        finally:
            limit.release(judged, throttled=throttled)

    def _send_once(
        self, url: str, body: Mapping[str, Any], endpoint: str, batch: Batch, authorization: str | None,
        deadline_at: float,
    ) -> Answer:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        timeout = max(0.001, min(self.policy.timeout, deadline_at - time.monotonic()))
        started = time.perf_counter()
        # The watchdog comes a moment after the deadline, so an idle connection ends in its own ReadTimeout.
        spend_slot = partial(self._use_slot, endpoint, batch, deadline_at)
        with hard_deadline(deadline_at + DEADLINE_GRACE, before_send=spend_slot) as exchange:
            try:
                answer = self._exchange(url, jsonio.dumps(body).encode("utf-8"), headers, timeout, exchange)
            except _NOT_RETRYABLE_REQUEST_ERRORS as error:
                raise HaierApiError(endpoint, batch, f"bad request setup: {self.redactor.text(str(error))}") from None
            except requests.RequestException as error:
                latency = time.perf_counter() - started
                self.stats.attempt_finished(endpoint, latency)
                self.stats.add(network_errors=1)
                if exchange.expired and not isinstance(error, requests.Timeout):
                    reason = self._cut_off()
                else:
                    reason = f"{type(error).__name__}: {self.redactor.text(str(error), limit=300)}"
                self._log(endpoint, batch, body, f"failed ({reason})", latency)
                raise _Retryable(reason, slow=exchange.expired or isinstance(error, requests.Timeout)) from None
        latency = time.perf_counter() - started
        self.stats.attempt_finished(endpoint, latency)
        if exchange.expired:  # a connection shut down at the deadline can read as a short, complete body
            self._log(endpoint, batch, body, f"failed ({self._cut_off()})", latency)
            raise _Retryable(self._cut_off(), slow=True)
        self._log(endpoint, batch, body, f"HTTP {answer.status_code}", latency)
        return answer

    def _exchange(
        self, url: str, data: bytes, headers: Mapping[str, str], timeout: float, exchange: Exchange
    ) -> Answer:
        """POST and read the answer whole, refusing redirects and bodies over the ceiling."""
        response = self.session.post(
            url, data=data, headers=headers, timeout=timeout, stream=True, allow_redirects=False
        )
        with response:
            status = response.status_code
            if 300 <= status < 400:
                return Answer(status, response.headers, b"", response.reason or "")
            limit = self.policy.max_response_bytes if 200 <= status < 300 else ERROR_BODY_BYTES
            content, over = read_capped(response, exchange, limit)
            if over and 200 <= status < 300:
                raise _TooLarge(limit)
            return Answer(status, response.headers, content, response.reason or "")

    def _cut_off(self) -> str:
        return f"cut off at the call's deadline ({self.policy.deadline:g} s) while the answer was still arriving"

    def _decode(self, response: Answer, endpoint: str, batch: Batch) -> Any:
        status = response.status_code
        if 300 <= status < 400:
            # Following would resend this JSON body (client secret, passwords) to the Location's host.
            where = urlsplit(response.headers.get("Location") or "").netloc or "no Location"
            raise HaierAnswerRefused(
                endpoint, batch, f"HTTP {status} redirect to {self.redactor.text(where, limit=200)} refused: gateway "
                "calls follow no redirects (following would resend the request body, credentials included)", status,
            )
        if 200 <= status < 300:
            try:
                return jsonio.loads(response.content)
            except ValueError:
                raise _Retryable(f"HTTP {status} with a body that is not JSON") from None
        if status == 429:
            self.stats.add(throttled_429=1)
            raise _Retryable("HTTP 429", parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            self.stats.add(server_errors_5xx=1)
            raise _Retryable(f"HTTP {status}")
        raise HaierRequestRejected(endpoint, batch, self._server_message(response), status)

    def _server_message(self, response: Answer) -> str:
        try:
            payload = jsonio.loads(response.content)
        except ValueError:
            payload = None
        message: Any = None
        if isinstance(payload, Mapping):
            for key in ("message", "msg", "error_description", "error"):
                if isinstance(payload.get(key), str) and payload[key]:
                    message = payload[key]
                    break
        if message is None:
            message = response.text.strip() or response.reason or "no message"
        return self.redactor.text(str(message), limit=500)

    def _log(self, endpoint: str, batch: Batch, body: Mapping[str, Any], outcome: str, latency: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "POST %s [%s] -> %s in %.1f ms body=%s", endpoint, self.redactor.text(describe_batch(batch)), outcome,
                latency * 1000,
                self.redactor.text(jsonio.dumps(self.redactor.body(body))),
            )
