"""The client's configuration: where Haier is, who we are, and how hard to push.

Validated on construction; every complaint names the ``HAIER_*`` setting (or the
plain option) at fault and never echoes a secret.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url

from haier_pipeline.constants import DEFAULT_SUPPLIER_CODE

from . import endpoints

SETTING_NAMES = {
    "base_url": "HAIER_BASE_URL",
    "token_url": "HAIER_TOKEN_URL",
    "client_id": "HAIER_CLIENT_ID",
    "client_secret": "HAIER_CLIENT_SECRET",
    "customer_code": "HAIER_CUSTOMER_CODE",
    "send_to_code": "HAIER_SEND_TO_CODE",
    "supplier_code": "HAIER_SUPPLIER_CODE",
    "password": "HAIER_PASSWORD",
    "seller_password": "HAIER_SELLER_PASSWORD",
    "customer_password": "HAIER_CUSTOMER_PASSWORD",
}


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and addresses in 127.0.0.0/8 or ``::1``."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plaintext_problem(url: str) -> str | None:
    """Why ``url`` may not carry credentials (plain http to a host off this machine), or ``None``."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        return None
    return "must be an https URL (plain http only to 127.0.0.1/localhost): the client secret and passwords travel in it"


MAX_RESPONSE_BYTES = 256 * 1024 * 1024
"""Largest gateway answer read (a 100,000-product listing is about 30 MB); reading stops past it."""


class ConfigError(ValueError):
    """A client setting is missing or malformed; the message names it."""


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """Everything :class:`~haier_pipeline.haier_api.client.HaierClient` needs. Secrets stay out of ``repr``."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    customer_code: str
    password: str = field(repr=False)
    token_url: str | None = None  # default: <base_url>/oauth2/auth
    send_to_code: str | None = None
    supplier_code: str = DEFAULT_SUPPLIER_CODE
    seller_password: str | None = field(default=None, repr=False)
    customer_password: str | None = field(default=None, repr=False)  # default: password
    rate_limit: float = 100.0
    # The ceiling of calls in flight per endpoint; below it the limit adapts to answer times (``concurrency.py``).
    # 64 lets a 100 calls/s budget be the limit up to ~600 ms answers (Little's law).
    max_concurrency: int = 64
    latency_target: float = 0.0  # seconds an answer may take before in-flight is cut; 0: 1.5 × the baseline
    timeout: float = 30.0
    max_attempts: int = 4
    deadline: float = 120.0
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    # Where the account's call budget is shared (``ratelimit.py``): the catalogue's database URL; None: this process.
    rate_limit_store: str | None = field(default=None, repr=False)
    max_response_bytes: int = MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        for name in ("base_url", "token_url"):
            value = getattr(self, name)
            if value is None and name == "token_url":
                continue
            parts = urlsplit(value or "")
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.username or parts.password:
                raise ConfigError(f"{SETTING_NAMES[name]}: must be an http(s) URL with a host (and no credentials)")
            problem = plaintext_problem(value)
            if problem:
                raise ConfigError(f"{SETTING_NAMES[name]}: {problem}")
        for name in ("client_id", "client_secret", "customer_code", "password"):
            _require_text(name, getattr(self, name))
        for name in ("send_to_code", "seller_password", "customer_password"):
            if getattr(self, name) is not None:
                _require_text(name, getattr(self, name))
        if not self.supplier_code.isdigit():
            raise ConfigError("HAIER_SUPPLIER_CODE: must be digits, e.g. 1001")
        _positive("rate_limit", self.rate_limit)
        _positive("timeout", self.timeout)
        _positive("deadline", self.deadline)
        _positive("backoff_max", self.backoff_max)
        if isinstance(self.latency_target, bool) or not isinstance(self.latency_target, (int, float)) \
                or not 0 <= self.latency_target < math.inf:
            raise ConfigError(f"latency_target: must be a number of seconds >= 0, got {self.latency_target!r}")
        if self.rate_limit_store is not None:
            _store_url(self.rate_limit_store)
        if not (isinstance(self.backoff_initial, (int, float)) and 0 <= self.backoff_initial < math.inf):
            raise ConfigError("backoff_initial: must be a number of seconds >= 0")
        for name in ("max_concurrency", "max_attempts", "max_response_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: must be a whole number >= 1, got {value!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str], **options: Any) -> ClientConfig:
        """A config from ``HAIER_*`` variables (e.g. ``os.environ`` or a sandbox's ``env()``) plus tuning options."""
        values: dict[str, Any] = {}
        for name, variable in SETTING_NAMES.items():
            value = (env.get(variable) or "").strip()
            if value:
                values[name] = value.rstrip("/") if name.endswith("_url") else value
        if "base_url" not in values:
            raise ConfigError("HAIER_BASE_URL: required to build a client (unset means: start the built-in sandbox)")
        for name in ("client_id", "client_secret", "customer_code", "password"):
            values.setdefault(name, "")  # reported by name in __post_init__
        values.update(options)
        return cls(**values)

    @property
    def resolved_token_url(self) -> str:
        """The token endpoint: ``HAIER_TOKEN_URL``, or ``<base_url>/oauth2/auth``."""
        return self.token_url or self.base_url.rstrip("/") + endpoints.TOKEN_AUTH_PATH

    @property
    def resolved_customer_password(self) -> str:
        """``HAIER_CUSTOMER_PASSWORD``, defaulting to ``HAIER_PASSWORD``."""
        return self.customer_password or self.password

    @property
    def account_key(self) -> str:
        """The name of this account's shared call budget: a hash of gateway, client id and customer code.

        A gateway on this machine (a sandbox) is named without its port: the built-in sandbox gets a fresh
        port every run, and a budget file per port would pile up beside the catalogue.
        """
        from .ratelimit import account_key

        parts = urlsplit(self.base_url)
        gateway = f"{parts.scheme}://{parts.hostname}" if is_loopback_host(parts.hostname) else self.base_url
        return account_key(gateway, self.client_id, self.customer_code)

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for masking (the budget store's database password included)."""
        store_password = _store_url(self.rate_limit_store).password if self.rate_limit_store else None
        values = (self.client_secret, self.password, self.seller_password, self.customer_password, store_password)
        return tuple(str(value) for value in values if value)

    def require(self, name: str, purpose: str) -> str:
        """An optional setting that ``purpose`` needs, or a :class:`ConfigError` naming it."""
        value = getattr(self, name)
        if not value:
            raise ConfigError(f"{SETTING_NAMES[name]}: required for {purpose}")
        return value


def _store_url(value: str) -> URL:
    try:
        url = make_url(value)
    except (ValueError, TypeError):
        raise ConfigError("rate_limit_store: must be a SQLAlchemy URL (sqlite:///… or postgresql…)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"rate_limit_store: {url.get_backend_name()!r} cannot hold the shared budget "
                          "(sqlite or postgresql)")
    return url


def _require_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{SETTING_NAMES[name]}: required, must be a non-empty string")


def _positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ConfigError(f"{name}: must be a positive number, got {value!r}")
