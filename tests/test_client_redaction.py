"""Redaction catches a secret however it is written, masks before it shortens, and masks an error's batch.

Secrets here hold the characters that change under escaping (quote, backslash, slash, ampersand,
space, non-ASCII). Against a real gateway on 127.0.0.1 that echoes them back.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, quote_plus, urlencode

import pytest

from haier_pipeline.haier_api import (
    ClientConfig,
    HaierApiError,
    HaierApplicationError,
    HaierAuthError,
    HaierClient,
    endpoints,
)
from haier_pipeline.haier_api.redact import Redactor
from support.hostile_server import TOKEN, Scripted, hostile_server

SECRET = 'cs-S3cr"et\\ /&密钥 end'
PASSWORD = "pw-plain-but-long-enough"


def fragments(secret: str, size: int = 6) -> list[str]:
    return [secret[i:i + size] for i in range(len(secret) - size + 1)]


def assert_no_secret(text: str) -> None:
    for form in (SECRET, json.dumps(SECRET)[1:-1], quote(SECRET), quote_plus(SECRET), repr(SECRET)[1:-1]):
        assert form not in text, text
    assert not [piece for piece in fragments(SECRET) if piece in text], text


@pytest.mark.parametrize("written", [
    json.dumps({"echo": SECRET}),
    json.dumps({"echo": SECRET}, ensure_ascii=False),
    json.dumps(json.dumps({"echo": SECRET})),  # a JSON document inside a JSON string
    urlencode({"echo": SECRET}),
    f"https://gw.example.com/x?s={quote(SECRET, safe='')}",
    f"https://gw.example.com/x/{quote(SECRET)}",
    repr({"echo": SECRET}),
    repr(("echo", SECRET)),
])
def test_escaped_forms_of_a_secret_are_masked(written: str) -> None:
    masked = Redactor([SECRET]).text(written)
    assert_no_secret(masked)
    assert "***" in masked


def test_credential_shaped_values_are_masked_inside_escaped_json() -> None:
    text = json.dumps(json.dumps({"password": "unknown-to-us", "client_secret": "also-unknown", "code": "E1"}))
    masked = Redactor().text(text)
    assert "unknown-to-us" not in masked and "also-unknown" not in masked and "E1" in masked


def client_for(gateway) -> HaierClient:
    return HaierClient(ClientConfig(
        base_url=gateway.base_url, client_id="shop", client_secret=SECRET, customer_code="8800123456",
        send_to_code="8800123457", password=PASSWORD, max_attempts=2, deadline=10.0, backoff_initial=0.01,
        backoff_max=0.05,
    ))


@pytest.mark.parametrize("padding", [470, 480, 488, 495])
def test_a_secret_echoed_where_the_message_is_shortened_is_masked_not_cut(padding: int) -> None:
    answer = {"success": False, "code": "E500", "message": "x" * padding + SECRET + " and more text after it"}
    with hostile_server() as gateway:
        gateway.script(endpoints.TOKEN_AUTH_PATH, TOKEN)
        gateway.script(endpoints.PATHS[endpoints.BALANCES], Scripted(200, json.dumps(answer).encode()))
        with client_for(gateway) as client, pytest.raises(HaierApplicationError) as caught:
            client.fetch_balances()
    assert_no_secret(str(caught.value))
    assert "***" in str(caught.value)


@pytest.mark.parametrize("padding", [180, 190, 195])
def test_a_secret_echoed_by_the_token_endpoint_is_masked_not_cut(padding: int) -> None:
    refusal = Scripted(
        401, json.dumps({"error": "invalid_client", "error_description": "y" * padding + SECRET}).encode()
    )
    with hostile_server() as gateway:
        gateway.script(endpoints.TOKEN_AUTH_PATH, refusal)
        gateway.script(endpoints.TOKEN_FALLBACK_PATH, refusal)
        with client_for(gateway) as client, pytest.raises(HaierAuthError) as caught:
            client.fetch_balances()
    assert_no_secret(str(caught.value))


def test_the_batch_of_an_error_is_masked_in_the_error_and_the_retry_log(caplog: pytest.LogCaptureFixture) -> None:
    with hostile_server() as gateway:
        gateway.script(endpoints.TOKEN_AUTH_PATH, TOKEN)
        gateway.script(endpoints.PATHS[endpoints.PRICES], Scripted(503, b"busy"))
        with caplog.at_level(logging.DEBUG, logger="haier_pipeline"), client_for(gateway) as client:
            [result] = list(client.fetch_prices(["GA0SZC00U", SECRET]))
    assert result.error is not None and "GA0SZC00U" in str(result.error)
    assert_no_secret(str(result.error))
    assert SECRET not in result.error.batch and "***" in result.error.batch
    assert "retrying prices" in caplog.text
    assert_no_secret(caplog.text)


def test_masking_an_error_masks_its_batch_then_clips_its_message() -> None:
    error = HaierApiError("prices", ("GA0SZC00U", SECRET), "z" * 1990 + SECRET)
    masked = error.masked(Redactor([SECRET]).text)
    assert masked.batch == ("GA0SZC00U", "***")
    assert_no_secret(str(masked))
    assert masked.message.endswith("***")
