"""The Dagster resources that hand assets a ready :class:`HaierClient`: Haier's gateway, or the built-in sandbox.

``build_resources`` picks one class per deployment (as Dagster's example projects pick a real or an
offline client): :class:`HaierApiResource` when ``HAIER_BASE_URL`` is set, :class:`SandboxApiResource`
when the settings ask for the sandbox. Neither falls back to the other at run time.

Where the gateway is and who we are come from the settings only. ``settings`` is a resource
dependency — a plain Python object given by the definitions, not a run-config field — so the
Launchpad can tune the client (``max_attempts``, ``timeout``…) but cannot redirect it or read a
secret into it: run config naming ``base_url``, ``token_url`` or a credential is refused by
Dagster's config check ("unexpected config entry") before any step runs, and no secret ever
appears in run config or in the UI.
"""


import logging
import threading
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from haier_pipeline.haier_api.client import HaierClient
from haier_pipeline.haier_api.config import MAX_RESPONSE_BYTES, ClientConfig
from haier_pipeline.settings import Settings

log = logging.getLogger("haier_pipeline.haier_api")

SANDBOX_WARNING = "using the built-in sandbox, not Haier: HAIER_BASE_URL is unset, so no real data is fetched"
CREDENTIALS = ("client_id", "client_secret", "customer_code", "send_to_code", "supplier_code", "password",
               "seller_password", "customer_password")


class HaierApiResource(dg.ConfigurableResource):
    """Haier API access for assets: ``get_client()`` returns one shared, thread-safe client per run."""

    settings: dg.ResourceDependency[Settings] = Field(description="The validated HAIER_* settings (not run config).")
    rate_limit: float = Field(
        default=100.0, description="client-side calls per second, evenly spaced (Haier allows 100)"
    )
    max_concurrency: int = Field(
        default=64, description="ceiling of calls in flight per endpoint (the limit adapts to answer times below it)"
    )
    latency_target: float = Field(
        default=0.0, description="seconds an answer may take before in-flight is cut; 0: 1.5 x the answer-time baseline"
    )
    timeout: float = Field(default=30.0, description="seconds per HTTP attempt")
    max_attempts: int = Field(default=4, description="attempts per call (1 + at most 3 retries)")
    deadline: float = Field(
        default=120.0, description="seconds per call, retries included; an answer still arriving then is cut off"
    )
    max_response_bytes: int = Field(
        default=MAX_RESPONSE_BYTES, description="largest answer read (~300 bytes per listed product); larger: refused"
    )

    _client: HaierClient | None = PrivateAttr(default=None)
    _probe: HaierClient | None = PrivateAttr(default=None)
    _stack: ExitStack | None = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def uses_sandbox(self) -> bool:
        """True for the built-in sandbox (:class:`SandboxApiResource`)."""
        return False

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._start(context.log)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def get_client(self) -> HaierClient:
        """The run's client (created on first use)."""
        return self._start(None)

    def get_probe_client(self, timeout: float) -> HaierClient:
        """A client of its own that tries each call once within ``timeout`` seconds (health checks must not hang)."""
        with self._lock:
            if self._probe is None:
                config = self._client.config if self._client is not None else self._config(ExitStack(), None)
                self._probe = HaierClient(replace(config, max_attempts=1, timeout=timeout, deadline=timeout))
            return self._probe

    def close(self) -> None:
        """Close the clients (and stop the sandbox, if this resource started one)."""
        with self._lock:
            client, self._client = self._client, None
            probe, self._probe = self._probe, None
            stack, self._stack = self._stack, None
        for open_client in (client, probe):
            if open_client is not None:
                open_client.close()
        if stack is not None:
            stack.close()

    def _start(self, dagster_log: Any) -> HaierClient:
        with self._lock:
            if self._client is None:
                stack = ExitStack()
                try:
                    self._client = HaierClient(self._config(stack, dagster_log))
                except BaseException:
                    stack.close()
                    raise
                self._stack = stack
            return self._client

    def _tuning(self) -> dict[str, Any]:
        return {
            "rate_limit": self.rate_limit,
            "max_concurrency": self.max_concurrency,
            "latency_target": self.latency_target,
            "timeout": self.timeout,
            "max_attempts": self.max_attempts,
            "deadline": self.deadline,
            # One budget per account, shared by every run of this catalogue (haier_api/ratelimit.py).
            "rate_limit_store": self.settings.catalog_db_url,
            "max_response_bytes": self.max_response_bytes,
        }

    def _credentials(self) -> dict[str, Any]:
        """The credential settings that hold a value."""
        values = {name: getattr(self.settings, name) for name in CREDENTIALS}
        return {name: value for name, value in values.items() if value}

    def _config(self, stack: ExitStack, dagster_log: Any) -> ClientConfig:
        base_url = self.settings.base_url or ""  # ClientConfig names HAIER_BASE_URL when it is missing
        values: dict[str, Any] = {
            "client_id": "",
            "client_secret": "",
            "customer_code": "",
            "password": "",
            **self._credentials(),
        }
        return ClientConfig(base_url=base_url, token_url=self.settings.token_url, **values, **self._tuning())


class SandboxApiResource(HaierApiResource):
    """The built-in sandbox gateway, started in-process for the life of the run, and said so loudly.

    Chosen by ``build_resources`` when no gateway is configured (and, with a catalogue or media
    folder configured, only when ``HAIER_SANDBOX=1`` asks for it), so a demo works out of the box
    and is never mistaken for Haier. Credentials set in the settings are the sandbox's too.
    """

    _sandbox: Any = PrivateAttr(default=None)

    @property
    def uses_sandbox(self) -> bool:
        return True

    @property
    def sandbox(self) -> Any:
        """The running sandbox (``RunningSandbox``) once the client exists, else ``None``."""
        return self._sandbox

    def _config(self, stack: ExitStack, dagster_log: Any) -> ClientConfig:
        from haier_pipeline.sandbox import SandboxOptions, run_sandbox  # only demo runs pay for the sandbox import

        (dagster_log or log).warning(SANDBOX_WARNING)  # once: the run's log reaches the console too
        options = SandboxOptions(products=self.settings.sandbox_products, **self._credentials())
        self._sandbox = stack.enter_context(run_sandbox(options))
        return ClientConfig.from_env(self._sandbox.env(), **self._tuning())
