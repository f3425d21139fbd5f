"""No secret reaches a log line, an exception, a repr or the stats: checked value by value."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from haier_pipeline.haier_api import (
    ClientConfig,
    HaierApiError,
    HaierApplicationError,
    HaierAuthError,
    HaierClient,
    HaierRequestRejected,
)
from haier_pipeline.sandbox import FaultProfile, SandboxOptions, run_sandbox
from support.http_server import JsonHandler, QuietServer, serving

STUB_TOKEN = "stub-token-8f3e1c2d9a7b"


class HeaderRecordingSession(requests.Session):
    """A real session that remembers every Authorization header it sent (to learn the tokens used)."""

    def __init__(self) -> None:
        super().__init__()
        self.authorizations: set[str] = set()
        self._lock = threading.Lock()

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        header = (kwargs.get("headers") or {}).get("Authorization")
        if header:
            with self._lock:
                self.authorizations.add(header)
        return super().request(method, url, *args, **kwargs)


class _Echoing(JsonHandler):
    """A careless gateway: it refuses business calls and echoes the request, secrets and all."""

    def do_POST(self) -> None:
        body = self.read_body().decode()
        if self.path.startswith("/oauth2/"):
            status, payload = 200, {"access_token": STUB_TOKEN, "token_type": "Bearer", "expires_in": 3600}
        elif "balance" in self.path:  # an application error under 200 that quotes the password it was sent
            status, payload = (
                200,
                {"success": False, "code": "E01", "message": f"密码 {json.loads(body)['customerPassword']} 错误"},
            )
        else:
            token = (self.headers.get("Authorization") or "").split()[-1]
            values = " / ".join(str(value) for value in json.loads(body).values())
            authorization = self.headers.get("Authorization")
            echo = f"forbidden: request {body} with Authorization {authorization}; saw {values} / {token}"
            status, payload = 403, {"success": False, "code": "403", "message": echo}
        self.send_json(status, payload)


@contextmanager
def echoing_gateway() -> Iterator[str]:
    with serving(QuietServer(_Echoing)) as base_url:
        yield base_url


def test_secrets_never_appear_in_logs_errors_reprs_or_stats(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    errors: list[HaierApiError] = []
    secrets: set[str] = set()
    faults = FaultProfile(
        error_rate=0.1, drop_rate=0.05, html_error_rate=0.05, app_error_rate=0.05, burst_429_rate=0.02, seed=5
    )
    with run_sandbox(SandboxOptions(products=80, faults=faults)) as sandbox:
        env = sandbox.env()
        secrets |= {
            env[name]
            for name in ("HAIER_CLIENT_SECRET", "HAIER_PASSWORD", "HAIER_SELLER_PASSWORD", "HAIER_CUSTOMER_PASSWORD")
        }
        codes = list(sandbox.catalogue.expected_prices())
        session = HeaderRecordingSession()
        config = ClientConfig.from_env(env, max_attempts=2, backoff_initial=0.01)
        with HaierClient(config, session=session) as client:
            results = list(client.fetch_prices(codes))
            for number, result in enumerate(client.fetch_stock((code, "110101") for code in codes)):
                results.append(result)
                if number == 20:
                    sandbox.expire_tokens()  # a 401 and a refresh, with their log lines
            try:
                client.fetch_balances()
            except HaierApiError as error:
                errors.append(error)
            texts += [repr(config), repr(client.tokens.current()), str(client.stats.snapshot())]
        errors += [result.error for result in results if result.error]
        texts += [repr(result) for result in results]
        secrets |= {header.split()[-1] for header in session.authorizations}

        sandbox.set_faults(FaultProfile())
        wrong_seller = "wrong-seller-password-77"
        with HaierClient(
            ClientConfig.from_env({**env, "HAIER_SELLER_PASSWORD": wrong_seller}, max_attempts=1)
        ) as client:
            rejected = [r.error for r in client.fetch_stock([(codes[0], "110101")]) if r.error]
        assert rejected and "sellerPassword" in str(rejected[0])
        errors += rejected
        secrets.add(wrong_seller)

        wrong_secret = "wrong-client-secret-42"
        with HaierClient(ClientConfig.from_env({**env, "HAIER_CLIENT_SECRET": wrong_secret})) as client:
            with pytest.raises(HaierAuthError) as refused:
                client.fetch_balances()
        errors.append(refused.value)
        secrets.add(wrong_secret)

    with echoing_gateway() as base_url:
        echo_config = ClientConfig(base_url=base_url, client_id="id", client_secret="echo-client-secret-1",
                                   customer_code="c", send_to_code="t", password="echo-password-2")
        with HaierClient(echo_config) as client:
            [echoed] = list(client.fetch_prices(["P1"]))
            with pytest.raises(HaierApplicationError, match="错误") as quoted:
                client.fetch_balances()
        errors.append(quoted.value)
        assert isinstance(echoed.error, HaierRequestRejected) and echoed.error.status == 403
        assert "forbidden: request" in str(echoed.error)  # the message is kept, only the secrets are masked
        errors.append(echoed.error)
        secrets |= {"echo-client-secret-1", "echo-password-2", STUB_TOKEN}

    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    texts += (
        [str(error) for error in errors] + [repr(error) for error in errors] + [str(error.args) for error in errors]
    )
    # the run really logged requests with bodies, retries, 401s and errors (so the check below means something)
    log = caplog.text
    assert "POST prices" in log and '"passWord":"***"' in log and '"sellerPassword":"***"' in log
    assert "retrying" in log and "HTTP 401" in log
    assert len(secrets) >= 9 and all(len(secret) >= 8 for secret in secrets)
    for secret in secrets:
        for text in texts:
            assert secret not in text
