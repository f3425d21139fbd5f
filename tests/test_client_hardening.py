"""A hostile or broken gateway cannot take the client's secrets elsewhere or hold a call for ever.

Against a real HTTP server on 127.0.0.1 (``support/hostile_server.py``): redirects of the token
request and of business calls are refused by name and nothing reaches the other host; plain
http to a host off this machine is refused naming the setting; an answer that drips one byte
every 100 ms (body or headers) is cut at the call's deadline; an answer over the byte ceiling
is refused.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from haier_pipeline.haier_api import (
    ClientConfig,
    ConfigError,
    HaierAnswerRefused,
    HaierAuthError,
    HaierClient,
    HaierUnavailable,
    endpoints,
)
from haier_pipeline.haier_api.config import MAX_RESPONSE_BYTES, SETTING_NAMES
from haier_pipeline.haier_api.deadline import hard_deadline
from haier_pipeline.sandbox import Catalogue
from haier_pipeline.settings import SettingsError, load_settings
from support.hostile_server import TOKEN, HostileServer, Scripted, hostile_server

SECRET = "cs-Sup3r$ecret&key"
PASSWORD = "pw-4Nother/one"
BALANCES_PATH = endpoints.PATHS[endpoints.BALANCES]
BALANCES = json.dumps({"success": True, "code": "200", "data": [
    {"saleGroupCode": "G1", "saleGroupName": "华北", "payerAccountCode": "P1", "balance": "1200.50"}]}).encode()


def config(gateway: HostileServer, **options) -> ClientConfig:
    values = {
        "base_url": gateway.base_url, "client_id": "shop", "client_secret": SECRET, "customer_code": "8800123456",
        "send_to_code": "8800123457", "password": PASSWORD, "max_attempts": 2, "deadline": 10.0, "timeout": 5.0,
        "backoff_initial": 0.01, "backoff_max": 0.05, **options,
    }
    return ClientConfig(**values)


def secrets_in(seen) -> bool:
    return any(SECRET.encode() in request.body or PASSWORD.encode() in request.body for request in seen)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_token_request_is_refused_and_nothing_reaches_the_other_host(status: int) -> None:
    with hostile_server() as gateway, hostile_server() as elsewhere:
        elsewhere.script("/collect", TOKEN)  # followed, it would even hand out a token
        for path in (endpoints.TOKEN_AUTH_PATH, endpoints.TOKEN_FALLBACK_PATH):
            gateway.script(path, Scripted(status, headers={"Location": elsewhere.base_url + "/collect"}))
        with HaierClient(config(gateway)) as client, pytest.raises(HaierAuthError) as caught:
            client.fetch_balances()
        assert elsewhere.received() == []
        message = str(caught.value)
        assert f"HTTP {status} redirect to 127.0.0.1:{elsewhere.server.server_address[1]} refused" in message
        assert "follow no redirects" in message and SECRET not in message
        assert [r.path for r in gateway.received()] == [endpoints.TOKEN_AUTH_PATH, endpoints.TOKEN_FALLBACK_PATH]


def test_a_redirected_business_call_is_refused_by_name_and_not_repeated() -> None:
    with hostile_server() as gateway, hostile_server() as elsewhere:
        gateway.script(endpoints.TOKEN_AUTH_PATH, TOKEN)
        gateway.script(BALANCES_PATH, Scripted(307, headers={"Location": elsewhere.base_url + BALANCES_PATH}))
        with HaierClient(config(gateway)) as client, pytest.raises(HaierAnswerRefused, match="HTTP 307 redirect"):
            client.fetch_balances()
        assert elsewhere.received() == [] and not secrets_in(elsewhere.received())
        assert [r.path for r in gateway.received()].count(BALANCES_PATH) == 1


@pytest.mark.parametrize("name", ["base_url", "token_url"])
def test_plain_http_to_a_remote_gateway_is_refused_naming_the_setting(name: str) -> None:
    values = {"base_url": "https://openplat.example.com", "token_url": "https://openplat.example.com/oauth2/auth",
              name: "http://openplat.example.com/oauth2/auth"}
    with pytest.raises(ConfigError, match=f"^{SETTING_NAMES[name]}: must be an https URL"):
        ClientConfig(client_id="a", client_secret=SECRET, customer_code="c", password=PASSWORD, **values)
    env = {"HAIER_BASE_URL": values["base_url"], "HAIER_TOKEN_URL": values["token_url"], "HAIER_CLIENT_ID": "a",
           "HAIER_CLIENT_SECRET": SECRET, "HAIER_CUSTOMER_CODE": "c", "HAIER_PASSWORD": PASSWORD,
           "HAIER_SEND_TO_CODE": "s"}
    with pytest.raises(SettingsError, match=f"^{SETTING_NAMES[name]}: must be an https URL") as caught:
        load_settings(env)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1:8900", "localhost:8900", "[::1]:8900", "127.8.9.10"])
def test_plain_http_stays_allowed_on_loopback(host: str) -> None:
    config = ClientConfig(base_url=f"http://{host}", client_id="a", client_secret=SECRET, customer_code="c",
                          password=PASSWORD)
    assert config.resolved_token_url == f"http://{host}/oauth2/auth"


@pytest.mark.parametrize("where", ["body", "headers"])
def test_an_answer_dripping_a_byte_every_100_ms_is_cut_at_the_deadline(where: str) -> None:
    with hostile_server() as gateway:
        gateway.script(endpoints.TOKEN_AUTH_PATH, TOKEN)
        gateway.script(BALANCES_PATH, Scripted(200, BALANCES, {"Content-Type": "application/json"},
                                               drip_body=where == "body", drip_headers=where == "headers"))
        # Each byte comes well within the 5 s read time-out: only a wall-clock limit can stop this.
        with HaierClient(config(gateway, deadline=1.5, timeout=5.0)) as client:
            started = time.monotonic()
            with pytest.raises(HaierUnavailable, match="cut off at the call's deadline") as caught:
                client.fetch_balances()
            elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 3.0, elapsed  # the answer alone would take len(BALANCES) / 10 s
    assert len(BALANCES) / 10 > 10 and "balances [all]" in str(caught.value)


def test_a_shorter_deadline_opened_after_a_longer_one_is_still_cut_on_time() -> None:
    """The watchdog is woken only by a new earliest deadline: a short one behind a long one must wake it."""
    long_open, done = threading.Event(), threading.Event()

    def hold_a_long_exchange() -> None:
        with hard_deadline(time.monotonic() + 60):
            long_open.set()
            done.wait(30)

    holder = threading.Thread(target=hold_a_long_exchange)
    holder.start()
    try:
        assert long_open.wait(10)
        with hard_deadline(time.monotonic() + 0.3) as short:
            later = time.monotonic() + 0.6
            with hard_deadline(later) as after:  # behind the short one: no wake needed, still cut
                deadline = time.monotonic() + 10
                while not (short.expired and after.expired) and time.monotonic() < deadline:
                    time.sleep(0.01)
                cut_at = time.monotonic()
        assert short.expired and after.expired
        assert cut_at < later + 1.0  # cut near its own deadline, not the long exchange's 60 s
    finally:
        done.set()
        holder.join()


def test_an_answer_over_the_byte_ceiling_is_refused_and_not_repeated() -> None:
    big = json.dumps({"success": True, "data": [{"saleGroupCode": "G", "balance": "1", "pad": "x" * 1000}] * 300})
    with hostile_server() as gateway:
        gateway.script(endpoints.TOKEN_AUTH_PATH, TOKEN)
        gateway.script(BALANCES_PATH, Scripted(200, big.encode(), {"Content-Type": "application/json"}))
        with HaierClient(config(gateway, max_response_bytes=100_000)) as client:
            with pytest.raises(HaierAnswerRefused, match="answer larger than 100000 bytes"):
                client.fetch_balances()
        assert [r.path for r in gateway.received()].count(BALANCES_PATH) == 1


def test_the_byte_ceiling_leaves_room_for_a_100k_product_listing() -> None:
    per_product = len(Catalogue(2000, seed=7, image_base="https://img.example").listing_json()) / 2000
    assert MAX_RESPONSE_BYTES > 100_000 * per_product * 4  # 4x headroom over the 100,000-product listing
