"""Project settings read from the environment, validated once, failing fast by name.

The variable names are the original Django system's (``HAIER_*``). Every
validation error names the offending variable and never echoes a secret value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url

from haier_pipeline.catalog.locks import CONFIRM_DEAD
from haier_pipeline.constants import (
    DEFAULT_COUNTY_CODES,
    DEFAULT_SHOP_PARENT_CATEGORY,
    DEFAULT_SUPPLIER_CODE,
    SHOP_TABLE_DEFAULTS,
    SHOP_TABLE_NAME,
    TIMEZONE,
)
from haier_pipeline.haier_api.config import is_loopback_host, plaintext_problem
from haier_pipeline.stock_plan.config import StockRefreshSettings

COUNTY_CODE = re.compile(r"^\d{6}$")
SHOP_TABLE_SETTINGS = {
    "product": "HAIER_SHOP_PRODUCT_TABLE", "brand": "HAIER_SHOP_BRAND_TABLE", "category": "HAIER_SHOP_CATEGORY_TABLE",
    "media": "HAIER_SHOP_MEDIA_TABLE", "sync_log": "HAIER_SHOP_SYNC_LOG_TABLE", "state": "HAIER_SHOP_STATE_TABLE",
}


DEFAULT_MIN_FREE_BYTES = 512 * 1024 * 1024
SMTP_TYPES = ("SSL", "STARTTLS")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class EmailSettings:
    """Where run-failure mail goes (Dagster's ``make_email_on_run_failure_sensor``); the password is kept apart."""

    email_from: str
    email_to: tuple[str, ...]
    smtp_host: str
    smtp_port: int | None
    smtp_type: str
    smtp_user: str | None


@dataclass(frozen=True)
class Settings:
    """The validated ``HAIER_*`` settings. Secrets are kept out of ``repr``."""

    base_url: str | None
    token_url: str | None
    client_id: str | None
    client_secret: str | None = field(repr=False)
    customer_code: str | None
    send_to_code: str | None
    supplier_code: str
    password: str | None = field(repr=False)
    seller_password: str | None = field(repr=False)
    customer_password: str | None = field(repr=False)
    catalog_db_url: str
    media_root: Path
    county_codes: tuple[str, ...]
    rate_limit: float = 100.0
    max_concurrency: int = 64  # ceiling of gateway calls in flight per endpoint; the limit adapts below it
    latency_target: float = 0.0  # seconds; 0: in-flight is cut when answers pass 1.5 × their baseline
    alert_webhook_url: str | None = None
    image_max_bytes: int = 10 * 1024 * 1024
    image_max_pixels: int = 40_000_000
    image_allowed_hosts: tuple[str, ...] = ()
    image_allow_private_hosts: bool | None = None  # None: loopback only, and only against the sandbox
    image_rate_limit: float | None = None  # None: each image host's pace adapts (media/politeness.py)
    image_concurrency: int = 32  # ceiling of image requests in flight; each host's window grows up to it
    image_processes: int = 2  # worker processes for image downloads and decoding; 0: threads of the run's process
    sandbox_products: int = 500
    balance_alert_threshold: Decimal = Decimal("10000")  # warn when a payer balance falls under it
    sync_lock_wait: float = 1800.0  # seconds a sync waits for a running sync of its kind before it is refused
    dead_run_confirm: float = CONFIRM_DEAD  # PostgreSQL: seconds between the two missed looks that declare a run dead
    media_min_free_bytes: int = DEFAULT_MIN_FREE_BYTES  # images are not written below this much free space
    slow_call_seconds: float = 10.0  # a single API answer slower than this alerts (API响应时间超过10秒)
    api_health_failures: int = 3  # failed health checks in a row before the api_down alert
    api_health_interval_seconds: int = 300
    slack_token: str | None = field(default=None, repr=False)
    slack_channel: str | None = None
    slack_api_url: str | None = None
    email: EmailSettings | None = None
    smtp_password: str | None = field(default=None, repr=False)
    shop_db_url: str | None = field(default=None, repr=False)  # unset: no shop publishing (may hold a password)
    shop_tables: Mapping[str, str] = field(default_factory=lambda: dict(SHOP_TABLE_DEFAULTS))
    shop_media_root: Path | None = None  # None: the catalogue's own media root
    shop_media_url: str = "/media/"
    shop_parent_category: tuple[str, str] = DEFAULT_SHOP_PARENT_CATEGORY
    media_timezone: str = TIMEZONE  # the zone whose calendar day dates an image's folder (images/YYYY/MM/DD)
    stock_refresh: StockRefreshSettings = field(default_factory=StockRefreshSettings)  # HAIER_STOCK_*

    @property
    def uses_sandbox(self) -> bool:
        """True when no real gateway is configured and the built-in sandbox is the target."""
        return self.base_url is None

    def secrets(self) -> frozenset[str]:
        """Every secret value set (credentials, the database password, the webhook URL), for refusing echoes."""
        db_password = make_url(self.catalog_db_url).password
        shop_password = make_url(self.shop_db_url).password if self.shop_db_url else None
        values = (self.client_secret, self.password, self.seller_password, self.customer_password,
                  str(db_password) if db_password else None, str(shop_password) if shop_password else None,
                  self.alert_webhook_url, self.slack_token, self.smtp_password)
        return frozenset(value for value in values if value)


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The project's data directory (``HAIER_DATA_DIR``, default ``./data``)."""
    env = os.environ if env is None else env
    return Path(env.get("HAIER_DATA_DIR") or Path.cwd() / "data").resolve()


def parse_county_codes(raw: str | None, variable: str = "HAIER_COUNTY_CODES") -> tuple[str, ...]:
    """Split a comma-separated list of 6-digit district codes, refusing anything else."""
    if raw is None or not raw.strip():
        return DEFAULT_COUNTY_CODES
    codes = tuple(dict.fromkeys(code.strip() for code in raw.split(",") if code.strip()))
    bad = [code for code in codes if not COUNTY_CODE.match(code)]
    if bad or not codes:
        raise SettingsError(f"{variable}: {bad!r} are not 6-digit district codes (e.g. 110101)")
    return codes


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}: must be an http(s) URL with a host")
    return value.rstrip("/")


def _gateway_url(env: Mapping[str, str], name: str) -> str | None:
    """A URL the credentials are sent to: https, or plain http only on loopback (the sandbox)."""
    value = _url(env, name)
    problem = plaintext_problem(value) if value else None
    if problem:
        raise SettingsError(f"{name}: {problem}")
    return value


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    return value or None


def _number(env: Mapping[str, str], name: str, default: float, kind: type, low: float, high: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}: {value} is outside {low}–{high}")
    return value


def _optional_number(env: Mapping[str, str], name: str, kind: type, low: float, high: float) -> float | None:
    """Like :func:`_number`, but unset (or blank) stays ``None``."""
    return _number(env, name, 0, kind, low, high) if (env.get(name) or "").strip() else None


def _amount(env: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    """A money amount (``Decimal``, never float); may be negative (a balance can be owed)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise SettingsError(f"{name}: {raw!r} is not a decimal amount (e.g. 10000 or 2500.50)") from None
    if not value.is_finite():
        raise SettingsError(f"{name}: {raw!r} is not a finite amount")
    return value


HOST_NAME = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def parse_hosts(raw: str | None, variable: str = "HAIER_IMAGE_ALLOWED_HOSTS") -> tuple[str, ...]:
    """A comma-separated host allow-list (``cdn.example.com`` or ``*.example.com``); empty: any public host."""
    hosts = tuple(dict.fromkeys(h.strip().lower().rstrip(".") for h in (raw or "").split(",") if h.strip()))
    bad = [host for host in hosts if not HOST_NAME.match(host)]
    if bad:
        raise SettingsError(f"{variable}: {bad!r} are not host names (e.g. img.haier.net or *.haier.net)")
    return hosts


def _timezone(env: Mapping[str, str], name: str) -> str:
    """An IANA time zone name (default the schedules' ``Asia/Shanghai``)."""
    raw = _text(env, name)
    if raw is None:
        return TIMEZONE
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name}: {raw!r} is not a time zone name (e.g. Asia/Shanghai or UTC)") from None
    return raw


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: {raw!r} is not a boolean (true/false)")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every ``HAIER_*`` setting; raise :class:`SettingsError` naming the first bad one."""
    env = os.environ if env is None else env
    base_url = _gateway_url(env, "HAIER_BASE_URL")
    token_url = _gateway_url(env, "HAIER_TOKEN_URL")
    required = ("HAIER_CLIENT_ID", "HAIER_CLIENT_SECRET", "HAIER_TOKEN_URL", "HAIER_CUSTOMER_CODE", "HAIER_PASSWORD")
    if base_url is not None:
        missing = [name for name in required if not _text(env, name)]
        if missing:
            raise SettingsError(f"{missing[0]}: required when HAIER_BASE_URL points at a real gateway")
    supplier = _text(env, "HAIER_SUPPLIER_CODE") or DEFAULT_SUPPLIER_CODE
    if not supplier.isdigit():
        raise SettingsError("HAIER_SUPPLIER_CODE: must be digits, e.g. 1001")
    send_to = _text(env, "HAIER_SEND_TO_CODE")
    if base_url is not None and supplier == DEFAULT_SUPPLIER_CODE and not send_to:
        raise SettingsError("HAIER_SEND_TO_CODE: required when the supplier is 1001")
    # A gateway on this machine is a sandbox (``haier-sandbox``; plain http is allowed only there): its demo data
    # goes to data/sandbox/ like the built-in one's, never to data/haier/ beside real data.
    mode = "sandbox" if base_url is None or is_loopback_host(urlsplit(base_url).hostname) else "haier"
    root = data_dir(env) / mode
    db_url = _database_url(_text(env, "HAIER_CATALOG_DB_URL") or f"sqlite:///{root / 'catalog.sqlite'}")
    media_root = Path(_text(env, "HAIER_MEDIA_ROOT") or root / "media").resolve()
    if media_root.exists() and not media_root.is_dir():
        raise SettingsError("HAIER_MEDIA_ROOT: exists and is not a folder")
    _require_sandbox_consent(env, base_url)
    password = _text(env, "HAIER_PASSWORD")
    return Settings(
        base_url=base_url, token_url=token_url, client_id=_text(env, "HAIER_CLIENT_ID"),
        client_secret=_text(env, "HAIER_CLIENT_SECRET"), customer_code=_text(env, "HAIER_CUSTOMER_CODE"),
        send_to_code=send_to, supplier_code=supplier, password=password,
        seller_password=_text(env, "HAIER_SELLER_PASSWORD"),
        customer_password=_text(env, "HAIER_CUSTOMER_PASSWORD") or password, catalog_db_url=db_url,
        media_root=media_root, county_codes=parse_county_codes(env.get("HAIER_COUNTY_CODES")),
        rate_limit=_number(env, "HAIER_RATE_LIMIT", 100.0, float, 0.1, 10_000),
        max_concurrency=int(_number(env, "HAIER_MAX_CONCURRENCY", 64, int, 1, 256)),
        latency_target=_number(env, "HAIER_LATENCY_TARGET_MS", 0, float, 0, 600_000) / 1000,
        alert_webhook_url=_url(env, "HAIER_ALERT_WEBHOOK_URL"),
        image_max_bytes=int(_number(env, "HAIER_IMAGE_MAX_BYTES", 10 * 1024 * 1024, int, 1024, 1 << 30)),
        image_max_pixels=int(_number(env, "HAIER_IMAGE_MAX_PIXELS", 40_000_000, int, 1, 1_000_000_000)),
        image_allowed_hosts=parse_hosts(env.get("HAIER_IMAGE_ALLOWED_HOSTS")),
        image_allow_private_hosts=_flag(env, "HAIER_IMAGE_ALLOW_PRIVATE_HOSTS"),
        image_rate_limit=_optional_number(env, "HAIER_IMAGE_RATE_LIMIT", float, 0.1, 10_000),
        image_concurrency=int(_number(env, "HAIER_IMAGE_CONCURRENCY", 32, int, 1, 128)),
        image_processes=int(_number(env, "HAIER_IMAGE_PROCESSES", 2, int, 0, 16)),
        balance_alert_threshold=_amount(env, "HAIER_BALANCE_ALERT_THRESHOLD", Decimal("10000")),
        sandbox_products=int(_number(env, "HAIER_SANDBOX_PRODUCTS", 500, int, 0, 10_000_000)),
        sync_lock_wait=_number(env, "HAIER_SYNC_LOCK_WAIT", 1800.0, float, 0, 86_400),
        dead_run_confirm=_number(env, "HAIER_DEAD_RUN_CONFIRM_SECONDS", CONFIRM_DEAD, float, 0, 600),
        media_timezone=_timezone(env, "HAIER_MEDIA_TIMEZONE"),
        stock_refresh=_stock_refresh(env),
        **_health(env),
        **_shop_settings(env, media_root),
    )


def _stock_refresh(env: Mapping[str, str]) -> StockRefreshSettings:
    """The ``HAIER_STOCK_*`` settings; the budget defaults to window × ``HAIER_RATE_LIMIT`` × the budget share."""
    window = _number(env, "HAIER_STOCK_WINDOW_MINUTES", 30.0, float, 0.1, 10_080) * 60
    max_age = _number(env, "HAIER_STOCK_MAX_AGE_HOURS", 24.0, float, 0, 8_760) * 3600
    if max_age <= window:
        raise SettingsError(f"HAIER_STOCK_MAX_AGE_HOURS: {max_age / 3600:g} h is not longer than one window "
                            f"({window / 60:g} min, HAIER_STOCK_WINDOW_MINUTES)")
    share = _number(env, "HAIER_STOCK_BUDGET_SHARE", 0.8, float, 0.01, 1)
    calls = _number(env, "HAIER_STOCK_CALLS_PER_WINDOW", 0, int, 0, 100_000_000)
    rate_limit = _number(env, "HAIER_RATE_LIMIT", 100.0, float, 0.1, 10_000)
    return StockRefreshSettings(
        window_seconds=window, max_age_seconds=max_age,
        calls_per_window=int(calls) or max(int(window * rate_limit * share), 1),
        weight=_number(env, "HAIER_STOCK_WEIGHT", 1.0, float, 0, 1_000_000),
        low_stock_boost=_number(env, "HAIER_STOCK_LOW_STOCK_BOOST", 1.0, float, 0, 1_000_000),
    )


def _shop_settings(env: Mapping[str, str], media_root: Path) -> dict:
    """The ``HAIER_SHOP_*`` settings: where (and whether) the catalogue is published into a Django shop."""
    url = _text(env, "HAIER_SHOP_DB_URL")
    names = dict(SHOP_TABLE_DEFAULTS)
    for field_name, variable in SHOP_TABLE_SETTINGS.items():
        value = _text(env, variable)
        if value is not None and not re.match(SHOP_TABLE_NAME, value):
            raise SettingsError(f"{variable}: {value!r} is not a plain SQL table name (letters, digits, _)")
        names[field_name] = value or names[field_name]
    shop_root = _text(env, "HAIER_SHOP_MEDIA_ROOT")
    root = Path(shop_root).resolve() if shop_root else media_root
    if root.exists() and not root.is_dir():
        raise SettingsError("HAIER_SHOP_MEDIA_ROOT: exists and is not a folder")
    media_url = _text(env, "HAIER_SHOP_MEDIA_URL") or "/media/"
    if not media_url.endswith("/") or any(ch.isspace() for ch in media_url):
        raise SettingsError(f"HAIER_SHOP_MEDIA_URL: {media_url!r} must end with '/' (e.g. /media/ or "
                            "https://cdn.example.com/media/) and hold no spaces")
    return {
        "shop_db_url": _database_url(url, "HAIER_SHOP_DB_URL") if url else None,
        "shop_tables": names,
        "shop_media_root": root,
        "shop_media_url": media_url,
        "shop_parent_category": _category_path(env, "HAIER_SHOP_PARENT_CATEGORY"),
    }


def _category_path(env: Mapping[str, str], name: str) -> tuple[str, str]:
    raw = _text(env, name)
    if raw is None:
        return DEFAULT_SHOP_PARENT_CATEGORY
    parts = [part.strip() for part in raw.split("/")]
    if len(parts) != 2 or not all(parts) or any(len(part) > 100 for part in parts):
        raise SettingsError(f"{name}: {raw!r} must be 'major/minor' (two category names of at most 100 characters, "
                            "e.g. 家电/海尔)")
    return parts[0], parts[1]


def _require_sandbox_consent(env: Mapping[str, str], base_url: str | None) -> None:
    """The built-in sandbox writes demo data: with a real catalogue or media folder configured, only when asked.

    An environment that lost ``HAIER_BASE_URL`` but kept ``HAIER_CATALOG_DB_URL`` would otherwise
    sync ~500 demo products into the real catalogue.
    """
    asked = _flag(env, "HAIER_SANDBOX")
    if base_url is not None:
        if asked:
            raise SettingsError("HAIER_SANDBOX: set together with HAIER_BASE_URL; unset one of them")
        return
    named = ("HAIER_CATALOG_DB_URL", "HAIER_MEDIA_ROOT", "HAIER_SHOP_DB_URL")
    configured = [name for name in named if _text(env, name)]
    if configured and not asked:
        raise SettingsError(
            f"HAIER_BASE_URL: unset while {' and '.join(configured)} "
            f"{'is' if len(configured) == 1 else 'are'} set; the built-in sandbox would write demo data "
            "there. Set HAIER_BASE_URL, or HAIER_SANDBOX=1 to run the sandbox into them on purpose"
        )


def _database_url(value: str, name: str = "HAIER_CATALOG_DB_URL") -> str:
    """A SQLAlchemy URL of a supported database; the complaint never repeats the URL (it may hold a password)."""
    usage = "must be a SQLAlchemy URL such as sqlite:///path or postgresql+psycopg://user@host/db"
    if "://" not in value:
        raise SettingsError(f"{name}: {usage}")
    try:
        url = make_url(value)
        url.port  # noqa: B018 - parsed lazily: a port that is not a number fails here
    except (ValueError, TypeError):
        raise SettingsError(f"{name}: not a valid URL ({usage})") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise SettingsError(f"{name}: {url.get_backend_name()!r} is not supported (sqlite or postgresql)")
    return value


def _health(env: Mapping[str, str]) -> dict[str, Any]:
    """The health thresholds and alert channels (Slack, e-mail)."""
    slack_channel = _text(env, "HAIER_SLACK_CHANNEL")
    if slack_channel and not _text(env, "HAIER_SLACK_TOKEN"):
        raise SettingsError("HAIER_SLACK_TOKEN: required when HAIER_SLACK_CHANNEL is set")
    return {
        "media_min_free_bytes": int(_number(env, "HAIER_MEDIA_MIN_FREE_BYTES", DEFAULT_MIN_FREE_BYTES, int, 0,
                                            1 << 50)),
        "slow_call_seconds": _number(env, "HAIER_SLOW_CALL_SECONDS", 10.0, float, 0.001, 3600),
        "api_health_failures": int(_number(env, "HAIER_API_HEALTH_FAILURES", 3, int, 1, 1000)),
        "api_health_interval_seconds": int(_number(env, "HAIER_API_HEALTH_INTERVAL_SECONDS", 300, int, 30, 86_400)),
        "slack_token": _text(env, "HAIER_SLACK_TOKEN") if slack_channel else None,
        "slack_channel": slack_channel,
        "slack_api_url": _url(env, "HAIER_SLACK_API_URL"),
        "email": _email(env),
        "smtp_password": _text(env, "HAIER_SMTP_PASSWORD"),
    }


def _email(env: Mapping[str, str]) -> EmailSettings | None:
    to = tuple(address.strip() for address in (env.get("HAIER_ALERT_EMAIL_TO") or "").split(",") if address.strip())
    if not to:
        return None
    for name in ("HAIER_ALERT_EMAIL_FROM", "HAIER_SMTP_HOST", "HAIER_SMTP_PASSWORD"):
        if not _text(env, name):
            raise SettingsError(f"{name}: required when HAIER_ALERT_EMAIL_TO is set")
    smtp_type = (_text(env, "HAIER_SMTP_TYPE") or "SSL").upper()
    if smtp_type not in SMTP_TYPES:
        raise SettingsError(f"HAIER_SMTP_TYPE: {smtp_type!r} is not one of {', '.join(SMTP_TYPES)}")
    return EmailSettings(
        email_from=_text(env, "HAIER_ALERT_EMAIL_FROM") or "",
        email_to=to,
        smtp_host=_text(env, "HAIER_SMTP_HOST") or "",
        smtp_port=int(_number(env, "HAIER_SMTP_PORT", 0, int, 1, 65535)) if _text(env, "HAIER_SMTP_PORT") else None,
        smtp_type=smtp_type,
        smtp_user=_text(env, "HAIER_SMTP_USER"),
    )
