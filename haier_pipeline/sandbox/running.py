"""Starting and stopping a sandbox: in-process on a background thread, or as a separate process.

``run_sandbox`` suits tests (same process, direct access to the catalogue and stats);
``start_sandbox_process`` suits benchmarks that must not share the GIL with the client. Both yield
an object with the same surface: ``base_url``, ``token_url``, ``options``, ``catalogue``, ``stats()``,
``reset_stats()``, ``advance()``, ``set_faults()``, ``expire_tokens()``, ``env()`` and ``url()``.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from .catalogue import Catalogue
from .endpoints import PATH_OF
from .options import CREDENTIAL_ENV, FaultProfile, SandboxOptions
from .server import SandboxHTTPServer, make_server
from .stats import SandboxStats

START_TIMEOUT = 30.0


class _SandboxAddress:
    """What both kinds of sandbox share: where they listen and how to point the project at them."""

    base_url: str
    options: SandboxOptions

    @property
    def token_url(self) -> str:
        """Haier's documented token URL on this sandbox (``/oauth2/auth``)."""
        return f"{self.base_url}/oauth2/auth"

    def url(self, endpoint: str) -> str:
        """Full URL of a business endpoint by name: products, prices, stock, logistics, balance."""
        return self.base_url + PATH_OF[endpoint]

    def env(self) -> dict[str, str]:
        """All ``HAIER_*`` settings that point the project at this sandbox (secrets included)."""
        return self.options.env(self.base_url)


class RunningSandbox(_SandboxAddress):
    """A sandbox served by a thread of this process."""

    def __init__(self, server: SandboxHTTPServer) -> None:
        self._server = server
        self.base_url = server.base_url
        self.options = server.app.options

    @property
    def catalogue(self) -> Catalogue:
        """The catalogue generation being served now."""
        return self._server.app.catalogue

    def stats(self) -> SandboxStats:
        return self._server.app.stats.snapshot()

    def reset_stats(self) -> None:
        self._server.app.stats.reset()

    def advance(self) -> Catalogue:
        return self._server.app.advance()

    def set_faults(self, profile: FaultProfile) -> None:
        self._server.app.set_faults(profile)

    def expire_tokens(self) -> int:
        """Kill every issued token now (the next business call with one gets 401)."""
        return self._server.app.tokens.expire_all()


@contextmanager
def run_sandbox(options: SandboxOptions | None = None) -> Iterator[RunningSandbox]:
    """Serve a sandbox on a background thread for the duration of the ``with`` block."""
    server = make_server(options or SandboxOptions())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="haier-sandbox", daemon=True)
    thread.start()
    try:
        yield RunningSandbox(server)
    finally:
        server.shutdown()
        server.close()
        thread.join(timeout=10)


class SandboxProcess(_SandboxAddress):
    """A sandbox in a child process, driven through its ``/_sandbox/`` admin endpoints."""

    def __init__(self, process: subprocess.Popen[str], base_url: str, options: SandboxOptions) -> None:
        self.process = process
        self.base_url = base_url
        self.options = options
        self._generation = options.generation
        self._admin = requests.Session()

    @property
    def catalogue(self) -> Catalogue:
        """A local copy of the child's current catalogue (same arguments, so the same data)."""
        return Catalogue(self.options.products, self.options.seed, self._generation,
                         self.options.image_host or self.base_url, self.options.changes, self.options.style)

    def _post(self, action: str, payload: dict | None = None) -> dict:
        response = self._admin.post(f"{self.base_url}/_sandbox/{action}", json=payload or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> SandboxStats:
        response = self._admin.get(f"{self.base_url}/_sandbox/stats", timeout=30)
        response.raise_for_status()
        return SandboxStats.from_dict(response.json())

    def reset_stats(self) -> None:
        self._post("reset-stats")

    def advance(self) -> Catalogue:
        self._generation = self._post("advance")["generation"]
        return self.catalogue

    def set_faults(self, profile: FaultProfile) -> None:
        self._post("faults", profile.to_dict())

    def expire_tokens(self) -> int:
        return self._post("expire-tokens")["expired"]

    def close(self) -> None:
        self._admin.close()


def cli_arguments(options: SandboxOptions) -> list[str]:
    """Command-line flags reproducing ``options`` (credentials excluded: they travel in the environment)."""
    faults = options.faults
    args = [
        "--host", options.host, "--port", str(options.port), "--products", str(options.products),
        "--seed", str(options.seed), "--generation", str(options.generation), "--latency", str(options.latency),
        "--rate-limit", str(options.rate_limit or 0), "--token-lifetime", str(options.token_lifetime),
        "--token-path", options.token_path, "--token-shape", options.token_shape, "--envelope", options.envelope,
        "--error-rate", str(faults.error_rate), "--drop-rate", str(faults.drop_rate),
        "--html-error-rate", str(faults.html_error_rate), "--app-error-rate", str(faults.app_error_rate),
        "--burst-429-rate", str(faults.burst_429_rate), "--slow-rate", str(faults.slow_rate),
        "--slow-seconds", str(faults.slow_seconds), "--fault-seed", str(faults.seed),
        "--changes", options.changes,
        "--numbers", options.style.numbers, "--discount", options.style.discount, "--flags", options.style.flags,
        "--rounding", options.style.rounding,
    ]
    args += [flag for endpoint in faults.endpoints for flag in ("--fault-endpoint", endpoint)]
    args += ["--image-host", options.image_host] if options.image_host else []
    args += options.wire.cli_arguments() if options.wire.active else []
    args += ["--faults-on-images"] if faults.include_images else []
    return args + (["--faults-on-token"] if faults.include_token else [])


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                return process.stdout.readline().strip()
    raise TimeoutError("the sandbox process did not print its URL in time")


@contextmanager
def start_sandbox_process(options: SandboxOptions | None = None) -> Iterator[SandboxProcess]:
    """Run ``haier-sandbox --port 0`` in a child process; its first stdout line is its base URL."""
    options = options or SandboxOptions()
    env = {**os.environ, **{var: getattr(options, name) for name, var in CREDENTIAL_ENV.items()}}
    command = [sys.executable, "-m", "haier_pipeline.sandbox.cli", *cli_arguments(options)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    handle = None
    try:
        base_url = _first_line(process, START_TIMEOUT)
        if not base_url.startswith("http://"):
            raise RuntimeError(f"the sandbox process failed to start (exit code {process.poll()})")
        handle = SandboxProcess(process, base_url, options)
        yield handle
    finally:
        if handle is not None:
            handle.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
