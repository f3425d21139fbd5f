"""The Dagster resource that hands assets a ready :class:`HaierClient`.

With ``base_url`` set it talks to that gateway; with ``base_url`` unset it
starts the project's built-in sandbox in-process for the life of the run and
says so loudly, so a demo works out of the box and is never mistaken for Haier.
Secrets are bound by the project's definitions with ``dg.EnvVar(...)`` only,
never typed into run config.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import replace
from typing import Any, Optional

import dagster as dg
from pydantic import Field, PrivateAttr

from .client import HaierClient
from .config import SETTING_NAMES, ClientConfig, ConfigError

log = logging.getLogger("haier_pipeline.haier_api")

SANDBOX_WARNING = "using the built-in sandbox, not Haier: HAIER_BASE_URL is unset, so no real data is fetched"
DEFAULT_SANDBOX_PRODUCTS = 500

_CREDENTIALS = (
    "client_id",
    "client_secret",
    "customer_code",
    "send_to_code",
    "supplier_code",
    "password",
    "seller_password",
    "customer_password",
)


def sandbox_products(env: Optional[Mapping[str, str]] = None) -> int:
    """Catalogue size of the built-in sandbox: ``HAIER_SANDBOX_PRODUCTS`` (default 500)."""
    raw = ((env if env is not None else os.environ).get("HAIER_SANDBOX_PRODUCTS") or "").strip()
    if not raw:
        return DEFAULT_SANDBOX_PRODUCTS
    if not raw.isdigit():
        raise ConfigError("HAIER_SANDBOX_PRODUCTS: must be a whole number >= 0")
    return int(raw)


class HaierApiResource(dg.ConfigurableResource):
    """Haier API access for assets: ``get_client()`` returns one shared, thread-safe client per run."""

    base_url: Optional[str] = Field(default=None, description="HAIER_BASE_URL; unset starts the built-in sandbox")
    token_url: Optional[str] = Field(default=None, description="HAIER_TOKEN_URL; default <base_url>/oauth2/auth")
    client_id: Optional[str] = Field(default=None, description="HAIER_CLIENT_ID")
    client_secret: Optional[str] = Field(default=None, description="HAIER_CLIENT_SECRET (bind with dg.EnvVar)")
    customer_code: Optional[str] = Field(default=None, description="HAIER_CUSTOMER_CODE (sold-to)")
    send_to_code: Optional[str] = Field(default=None, description="HAIER_SEND_TO_CODE (ship-to)")
    supplier_code: str = Field(default="1001", description="HAIER_SUPPLIER_CODE")
    password: Optional[str] = Field(default=None, description="HAIER_PASSWORD (bind with dg.EnvVar)")
    seller_password: Optional[str] = Field(default=None, description="HAIER_SELLER_PASSWORD (bind with dg.EnvVar)")
    customer_password: Optional[str] = Field(default=None, description="HAIER_CUSTOMER_PASSWORD; default HAIER_PASSWORD")
    rate_limit: float = Field(default=100.0, description="client-side calls per second, evenly spaced (Haier allows 100)")
    max_concurrency: int = Field(default=8, description="calls in flight at once")
    timeout: float = Field(default=30.0, description="seconds per HTTP attempt")
    max_attempts: int = Field(default=4, description="attempts per call (1 + at most 3 retries)")
    deadline: float = Field(default=120.0, description="seconds per call, retries included")

    _client: Optional[HaierClient] = PrivateAttr(default=None)
    _probe: Optional[HaierClient] = PrivateAttr(default=None)
    _sandbox: Any = PrivateAttr(default=None)
    _stack: Optional[ExitStack] = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, **options: Any) -> HaierApiResource:
        """A resource bound with ``dg.EnvVar`` to every ``HAIER_*`` setting that is set (and only those).

        Dagster refuses an ``EnvVar`` whose variable is unset, and the demo runs with none set, so
        definitions should build the resource this way. Values are read at run time, never stored in
        run config. ``options`` are the plain tuning fields (``rate_limit``, ``max_concurrency``...).
        """
        env = os.environ if env is None else env
        bound: dict[str, Any] = {name: dg.EnvVar(variable) for name, variable in SETTING_NAMES.items() if (env.get(variable) or "").strip()}
        return cls(**bound, **options)

    @property
    def uses_sandbox(self) -> bool:
        """True when no gateway is configured and the built-in sandbox answers instead."""
        return not (self.base_url or "").strip()

    @property
    def sandbox(self) -> Any:
        """The running built-in sandbox (``RunningSandbox``), or ``None``."""
        return self._sandbox

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._start(context.log)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def get_client(self) -> HaierClient:
        """The run's client (created, and the sandbox started, on first use)."""
        return self._start(None)

    def get_probe_client(self, timeout: float) -> HaierClient:
        """A client of its own that tries each call once within ``timeout`` seconds (health checks must not hang)."""
        with self._lock:
            if self._probe is None:
                config = self._client.config if self._client is not None else self._config(None)
                self._probe = HaierClient(replace(config, max_attempts=1, timeout=timeout, deadline=timeout))
            return self._probe

    def close(self) -> None:
        """Close the client and stop the sandbox, if this resource started one."""
        with self._lock:
            client, self._client = self._client, None
            probe, self._probe = self._probe, None
            stack, self._stack = self._stack, None
            self._sandbox = None
        for open_client in (client, probe):
            if open_client is not None:
                open_client.close()
        if stack is not None:
            stack.close()

    def _start(self, dagster_log: Any) -> HaierClient:
        with self._lock:
            if self._client is None:
                self._client = HaierClient(self._config(dagster_log))
            return self._client

    def _tuning(self) -> dict[str, Any]:
        return {
            "rate_limit": self.rate_limit,
            "max_concurrency": self.max_concurrency,
            "timeout": self.timeout,
            "max_attempts": self.max_attempts,
            "deadline": self.deadline,
        }

    def _given(self) -> dict[str, Any]:
        """The credential settings that hold a value (blank counts as unset)."""
        values = {name: (getattr(self, name) or "").strip() for name in _CREDENTIALS}
        return {name: value for name, value in values.items() if value}

    def _config(self, dagster_log: Any) -> ClientConfig:
        if self.base_url is not None and not self.uses_sandbox:
            values = self._given()
            for name in ("client_id", "client_secret", "customer_code", "password"):
                values.setdefault(name, "")  # ClientConfig names the missing HAIER_* setting
            token_url = (self.token_url or "").strip().rstrip("/") or None
            return ClientConfig(base_url=self.base_url.strip().rstrip("/"), token_url=token_url, **values, **self._tuning())
        if (os.environ.get("HAIER_BASE_URL") or "").strip():
            # Run config for a resource replaces all of its settings: a partial one (say, only max_attempts)
            # drops the HAIER_* bindings, and falling back to the sandbox would write demo data into a real catalogue.
            raise ConfigError("HAIER_BASE_URL is set, but this run's haier_api resource has no base_url: its run config "
                              "replaced the project's settings. Start from the Launchpad's scaffolded config (it binds "
                              "every HAIER_* variable) and change only what you need.")
        from ..sandbox import SandboxOptions, run_sandbox  # only demo runs pay for the sandbox import

        given = self._given()
        if "password" in given and "customer_password" not in given:
            given["customer_password"] = given["password"]
        options = SandboxOptions(products=sandbox_products(), **given)
        for target in (log, dagster_log):
            if target is not None:
                target.warning(SANDBOX_WARNING)
        stack = ExitStack()
        try:
            running = stack.enter_context(run_sandbox(options))
            config = ClientConfig.from_env(running.env(), **self._tuning())
        except BaseException:
            stack.close()
            raise
        self._sandbox, self._stack = running, stack
        return config
