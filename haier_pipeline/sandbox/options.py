"""The sandbox's knobs: catalogue size, latency, rate limit, token behaviour, faults, credentials.

One frozen dataclass (:class:`SandboxOptions`) configures a sandbox whether it runs in-process
(``run_sandbox``), as a subprocess or from the command line. Secrets default to fresh random values
from :mod:`secrets` and are kept out of ``repr`` so an options object can be logged safely.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from haier_pipeline.constants import DEFAULT_SUPPLIER_CODE
from haier_pipeline.haier_api.config import SETTING_NAMES

from .poison import Poison
from .styles import AnswerStyle
from .wire import WireProfile

TokenPath = Literal["auth", "token", "both"]
TokenShape = Literal["standard", "token", "data"]
EnvelopeMode = Literal["mixed", "always", "never"]
ChangeProfile = Literal["all", "prices"]

# SandboxOptions field -> the project's environment variable (the original system's names).
CREDENTIAL_ENV = {field: var for field, var in SETTING_NAMES.items() if field not in ("base_url", "token_url")}
SECRET_FIELDS = ("client_secret", "password", "seller_password", "customer_password")


def _secret() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class FaultProfile:
    """Injected trouble, drawn from a seeded stream so a run's fault counts are reproducible.

    One draw per call picks at most one of: drop (close the socket unanswered), a 5xx (500/502/503/504),
    an HTML page under 200, an application error (HTTP 200, ``success: false``) or a spurious 429.
    Those rates are exclusive, so they must sum to at most 1. ``slow_rate`` is drawn separately and
    adds ``slow_seconds`` before the answer. Faults hit business endpoints (only those named in
    ``endpoints`` when it is not empty); the token endpoint too when ``include_token`` is set, and
    image requests when ``include_images`` is set.
    """

    error_rate: float = 0.0
    drop_rate: float = 0.0
    html_error_rate: float = 0.0
    app_error_rate: float = 0.0
    burst_429_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    include_token: bool = False
    include_images: bool = False  # images too: drops, 5xx and slow answers at the same rates
    endpoints: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "endpoints", tuple(self.endpoints))  # a list after a JSON round trip
        rates = {f.name: getattr(self, f.name) for f in fields(self) if f.name.endswith("_rate")}
        for name, value in rates.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultProfile.{name} must be within [0, 1]")
        if sum(value for name, value in rates.items() if name != "slow_rate") > 1.0 + 1e-9:
            raise ValueError("FaultProfile: drop, error, html_error, app_error and burst_429 rates must sum to <= 1")
        if self.slow_seconds < 0:
            raise ValueError("FaultProfile.slow_seconds must be >= 0")

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) > 0 for f in fields(self) if f.name.endswith("_rate"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultProfile:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"FaultProfile: unknown fields {unknown}")
        return cls(**dict(data))


@dataclass(frozen=True)
class SandboxOptions:
    """Everything a sandbox is started with. Defaults suit the demo: 500 products, no latency, 100 calls/s."""

    products: int = 500
    seed: int = 0
    generation: int = 0
    changes: ChangeProfile = "all"  # what advance() changes: everything, or only ~5 % of prices
    latency: float = 0.0
    rate_limit: float | None = 100.0  # business calls per second; None or 0 disables throttling
    token_lifetime: float = 3600.0
    token_path: TokenPath = "both"
    token_shape: TokenShape = "standard"
    envelope: EnvelopeMode = "mixed"
    style: AnswerStyle = field(default_factory=AnswerStyle)  # number encodings, discount kind, flags, rounding
    faults: FaultProfile = field(default_factory=FaultProfile)
    wire: WireProfile = field(default_factory=WireProfile)  # answer times per endpoint, the knee (wire.py)
    host: str = "127.0.0.1"
    image_host: str = ""  # where product image URLs point; empty: this sandbox serves them itself
    port: int = 0
    client_id: str = "sandbox-client"
    client_secret: str = field(default_factory=_secret, repr=False)
    customer_code: str = "8800633175"
    send_to_code: str = "8800633176"
    supplier_code: str = DEFAULT_SUPPLIER_CODE
    password: str = field(default_factory=_secret, repr=False)
    seller_password: str = field(default_factory=_secret, repr=False)
    customer_password: str = field(default_factory=_secret, repr=False)
    poison: Poison | None = field(default=None, compare=False)  # bad answers for chosen codes (tests)

    def __post_init__(self) -> None:
        if self.products < 0:
            raise ValueError("SandboxOptions.products must be >= 0")
        if self.latency < 0 or self.token_lifetime <= 0:
            raise ValueError("SandboxOptions: latency must be >= 0 and token_lifetime > 0")
        if self.token_path not in ("auth", "token", "both"):
            raise ValueError("SandboxOptions.token_path must be auth, token or both")
        if self.token_shape not in ("standard", "token", "data"):
            raise ValueError("SandboxOptions.token_shape must be standard, token or data")
        if self.changes not in ("all", "prices"):
            raise ValueError("SandboxOptions.changes must be all or prices")
        if self.envelope not in ("mixed", "always", "never"):
            raise ValueError("SandboxOptions.envelope must be mixed, always or never")
        for name in CREDENTIAL_ENV:
            if not getattr(self, name):
                raise ValueError(f"SandboxOptions.{name} must not be empty")

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> SandboxOptions:
        """Options whose credentials come from the project's ``HAIER_*`` variables where set (random otherwise)."""
        return cls(**{**credentials_from_env(env), **overrides})

    def env(self, base_url: str) -> dict[str, str]:
        """Every ``HAIER_*`` setting that points the project at a sandbox served at ``base_url``.

        The token URL is always Haier's documented ``/oauth2/auth``: with ``token_path="token"`` the
        client has to find ``/oauth2/token`` itself, as the contract says it must.
        """
        values = {"HAIER_BASE_URL": base_url, "HAIER_TOKEN_URL": f"{base_url}/oauth2/auth"}
        values.update({env_name: getattr(self, name) for name, env_name in CREDENTIAL_ENV.items()})
        return values


def credentials_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The credential fields set in ``env`` (the project's own ``HAIER_*`` names), ready for ``SandboxOptions``.

    ``HAIER_CUSTOMER_PASSWORD`` falls back to ``HAIER_PASSWORD``, as the project's settings do.
    """
    found = {name: env[var].strip() for name, var in CREDENTIAL_ENV.items() if (env.get(var) or "").strip()}
    if "customer_password" not in found and "password" in found:
        found["customer_password"] = found["password"]
    return found
