"""The sandbox's token endpoint and token checks, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from haier_pipeline.sandbox import RunningSandbox, SandboxOptions, run_sandbox
from support.sandbox import fetch_token, valid_body


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(SandboxOptions(products=30)) as running:
        yield running


def _token_request(sandbox: RunningSandbox, path: str, **overrides: str) -> requests.Response:
    body = {"client_id": sandbox.options.client_id, "client_secret": sandbox.options.client_secret,
            "grant_type": "client_credentials", **overrides}
    return requests.post(sandbox.base_url + path, json=body, timeout=10)


def _balance(sandbox: RunningSandbox, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.post(sandbox.url("balances"), json=valid_body(sandbox, "balances"), headers=headers, timeout=10)


@pytest.mark.parametrize("path", ["/oauth2/auth", "/oauth2/token"])
def test_both_token_paths_issue_standard_tokens(sandbox: RunningSandbox, path: str) -> None:
    response = _token_request(sandbox, path)
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"access_token", "token_type", "expires_in"}
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    assert _balance(sandbox, f"Bearer {answer['access_token']}").status_code == 200


def test_token_path_option_hides_the_other_path() -> None:
    with run_sandbox(SandboxOptions(products=10, token_path="token")) as running:
        assert _token_request(running, "/oauth2/auth").status_code == 404
        assert _token_request(running, "/oauth2/token").status_code == 200
        assert running.token_url.endswith("/oauth2/auth")  # the client must find /oauth2/token itself
    with run_sandbox(SandboxOptions(products=10, token_path="auth")) as running:
        assert _token_request(running, "/oauth2/token").status_code == 404
        assert _token_request(running, "/oauth2/auth").status_code == 200


def test_nested_and_bare_token_shapes() -> None:
    with run_sandbox(SandboxOptions(products=10, token_shape="data")) as running:
        answer = _token_request(running, "/oauth2/auth").json()
        assert "access_token" not in answer and "token_type" not in answer and "expires_in" not in answer
        assert _balance(running, answer["data"]["token"]).status_code == 200
    with run_sandbox(SandboxOptions(products=10, token_shape="token")) as running:
        answer = _token_request(running, "/oauth2/auth").json()
        assert set(answer) == {"token", "expires_in"}
        assert _balance(running, f"Bearer {answer['token']}").status_code == 200


@pytest.mark.parametrize("field,value,status", [
    ("client_secret", "not-the-secret", 401),
    ("client_id", "someone-else", 401),
    ("grant_type", "password", 400),
])
def test_wrong_credentials_are_refused(sandbox: RunningSandbox, field: str, value: str, status: int) -> None:
    response = _token_request(sandbox, "/oauth2/auth", **{field: value})
    assert response.status_code == status
    assert sandbox.options.client_secret not in response.text
    assert sandbox.stats().tokens_issued == 0


def test_bearer_and_bare_tokens_are_accepted_others_refused(sandbox: RunningSandbox) -> None:
    token = fetch_token(sandbox)
    assert _balance(sandbox, f"Bearer {token}").status_code == 200
    assert _balance(sandbox, f"bearer {token}").status_code == 200
    assert _balance(sandbox, token).status_code == 200
    assert _balance(sandbox, None).status_code == 401
    assert _balance(sandbox, "Bearer not-a-token").status_code == 401
    assert _balance(sandbox, f"Basic {token} extra").status_code == 401
    assert sandbox.stats().answered_401 == 3


def test_expired_tokens_get_401() -> None:
    with run_sandbox(SandboxOptions(products=10, token_lifetime=0.3)) as running:
        answer = _token_request(running, "/oauth2/auth").json()
        issued = time.monotonic()
        assert answer["expires_in"] == 0.3
        assert _balance(running, answer["access_token"]).status_code == 200
        deadline = issued + 10
        while (status := _balance(running, answer["access_token"]).status_code) == 200 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a clock-driven condition, bounded by the deadline
        assert status == 401
        assert time.monotonic() - issued >= 0.3
        assert _balance(running, fetch_token(running)).status_code == 200


def test_tokens_killed_early_get_401(sandbox: RunningSandbox) -> None:
    token = fetch_token(sandbox)
    assert _balance(sandbox, token).status_code == 200
    assert requests.post(f"{sandbox.base_url}/_sandbox/expire-tokens", timeout=10).json() == {"expired": 1}
    response = _balance(sandbox, token)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["success"] is False
