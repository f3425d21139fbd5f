"""Rate limit, injected faults, latency and connection handling of the sandbox, over real HTTP."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from haier_pipeline.sandbox import FaultProfile, RunningSandbox, SandboxOptions, run_sandbox
from haier_pipeline.sandbox.app import Request
from haier_pipeline.sandbox.stats import StatsRecorder
from support.sandbox import fetch_token, valid_body


def _outcomes(running: RunningSandbox, calls: int, endpoint: str = "balances") -> Counter[str]:
    """Make ``calls`` sequential business calls; count answers by status (``drop`` when none came)."""
    token = fetch_token(running)
    seen: Counter[str] = Counter()
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        for _ in range(calls):
            try:
                response = session.post(running.url(endpoint), json=valid_body(running, endpoint), timeout=10)
            except requests.ConnectionError:
                seen["drop"] += 1
                continue
            kind = str(response.status_code)
            if response.status_code == 200 and "text/html" in response.headers["Content-Type"]:
                kind = "html"
            elif (
                response.status_code == 200
                and isinstance(response.json(), dict)
                and response.json().get("success") is False
            ):
                kind = "app_error"
            seen[kind] += 1
    return seen


def test_over_the_rate_limit_answers_429_with_retry_after() -> None:
    with run_sandbox(SandboxOptions(products=10, rate_limit=10)) as running:
        started = time.monotonic()
        seen = _outcomes(running, 40)
        refilled = (time.monotonic() - started) * 10  # the bucket starts full (10) and refills 10 a second
        assert 10 <= seen["200"] <= 10 + refilled + 1 and seen["429"] == 40 - seen["200"] > 0
        assert running.stats().answered_429 == seen["429"]
        token = fetch_token(running)  # token calls are not throttled
        body = valid_body(running, "balances")
        # The bucket refills while the token is fetched (slowly, on a loaded machine): drain it again.
        answers = (requests.post(running.url("balances"), json=body, headers={"Authorization": token}, timeout=10)
                   for _ in range(60))
        throttled = next((answer for answer in answers if answer.status_code == 429), None)
        assert throttled is not None and throttled.json()["code"] == "429"
        wait = throttled.headers["Retry-After"]
        assert wait.isdigit() and int(wait) >= 1
        time.sleep(int(wait))  # honouring the gateway's own Retry-After is the behaviour under test
        assert (
            requests.post(running.url("balances"), json=body, headers={"Authorization": token}, timeout=10).status_code
            == 200
        )


def test_images_and_tokens_are_not_throttled() -> None:
    with run_sandbox(SandboxOptions(products=20, rate_limit=2)) as running:
        _outcomes(running, 5)
        url = running.catalogue.expected_products()[running.catalogue.listing_codes()[0]].image_url
        assert all(requests.get(url, timeout=10).status_code in (200, 404) for _ in range(10))
        assert all(fetch_token(running) for _ in range(5))
        assert running.stats().image_requests == 10 and running.stats().calls == {"balances": 5}


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_fault_profile_rates_are_met_and_reproducible() -> None:
    profile = FaultProfile(error_rate=0.2, drop_rate=0.1, html_error_rate=0.05, app_error_rate=0.05, seed=42)
    results = []
    for _ in range(2):
        with run_sandbox(SandboxOptions(products=10, rate_limit=None, faults=profile)) as running:
            seen = _outcomes(running, 400)
            stats = running.stats()
            fives = sum(seen[str(status)] for status in (500, 502, 503, 504))
            assert fives == stats.injected_5xx and seen["drop"] == stats.drops
            assert seen["html"] == stats.html_errors and seen["app_error"] == stats.app_errors
            assert stats.calls["balances"] == 400
            assert 0.13 < fives / 400 < 0.27 and 0.05 < seen["drop"] / 400 < 0.15
            assert 0.02 < seen["html"] / 400 < 0.09 and 0.02 < seen["app_error"] / 400 < 0.09
            assert len({s for s in seen if s.startswith("5")}) >= 3  # a mix of 500/502/503/504
            results.append(seen)
    assert results[0] == results[1]


def test_faults_set_at_runtime_and_burst_429() -> None:
    with run_sandbox(SandboxOptions(products=10, rate_limit=None)) as running:
        assert _outcomes(running, 20) == Counter({"200": 20})
        answer = requests.post(f"{running.base_url}/_sandbox/faults", json={"burst_429_rate": 1.0}, timeout=10)
        assert answer.status_code == 200 and answer.json()["faults"]["burst_429_rate"] == 1.0
        assert _outcomes(running, 5) == Counter({"429": 5})
        refused = requests.post(
            f"{running.base_url}/_sandbox/faults", json={"error_rate": 0.8, "drop_rate": 0.5}, timeout=10
        )
        assert refused.status_code == 400
        running.set_faults(FaultProfile())
        assert _outcomes(running, 5) == Counter({"200": 5})


def test_token_endpoint_faults_only_when_included() -> None:
    with run_sandbox(SandboxOptions(products=10, faults=FaultProfile(error_rate=1.0))) as running:
        assert fetch_token(running)
        running.set_faults(FaultProfile(error_rate=1.0, include_token=True))
        with pytest.raises(requests.HTTPError):
            fetch_token(running)


def test_slow_calls_take_slow_seconds() -> None:
    with run_sandbox(SandboxOptions(products=10, faults=FaultProfile(slow_rate=1.0, slow_seconds=0.3))) as running:
        token = fetch_token(running)
        started = time.monotonic()
        response = requests.post(running.url("balances"), json=valid_body(running, "balances"),
                                 headers={"Authorization": token}, timeout=10)
        assert response.status_code == 200 and time.monotonic() - started >= 0.3
        assert running.stats().slow_calls == 1


def test_latency_is_served_concurrently() -> None:
    with run_sandbox(SandboxOptions(products=10, latency=0.2, rate_limit=None)) as running:
        token = fetch_token(running)
        body, local = valid_body(running, "balances"), threading.local()

        def call(_: int) -> int:
            local.session = getattr(local, "session", None) or requests.Session()
            return local.session.post(running.url("balances"), json=body, headers={"Authorization": token},
                                      timeout=10).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(call, range(40)))
        elapsed = time.monotonic() - started
        assert statuses == [200] * 40
        assert elapsed < 4.0  # 40 calls × 0.2 s would take 8 s one after another; 20 at a time take ~0.4 s
        assert running.stats().max_in_flight >= 10


def test_keep_alive_serves_many_requests_on_one_connection() -> None:
    with run_sandbox(SandboxOptions(products=10)) as running:
        token = fetch_token(running)
        parts = urlsplit(running.base_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        body = json.dumps(valid_body(running, "balances"))
        headers = {"Authorization": token, "Content-Type": "application/json"}
        for _ in range(3):
            connection.request("POST", urlsplit(running.url("balances")).path, body=body, headers=headers)
            response = connection.getresponse()
            assert response.status == 200 and response.getheader("Content-Length") == str(len(response.read()))
            assert not response.will_close
        first_socket = connection.sock
        connection.request("GET", "/_sandbox/health")
        assert json.loads(connection.getresponse().read())["status"] == "ok"
        assert connection.sock is first_socket
        connection.close()


def test_stats_reset_and_admin_is_loopback_only() -> None:
    with run_sandbox(SandboxOptions(products=10)) as running:
        _outcomes(running, 3)
        stats = requests.get(f"{running.base_url}/_sandbox/stats", timeout=10).json()
        assert stats["calls"] == {"balances": 3} and stats["tokens_issued"] == 1 and stats["statuses"] == {"200": 3}
        assert requests.post(f"{running.base_url}/_sandbox/reset-stats", timeout=10).status_code == 200
        assert running.stats().total_calls == 0 and running.stats().tokens_issued == 0
        app = running._server.app  # the HTTP layer always sees 127.0.0.1, so ask the app as a remote host would
        remote = app.handle(Request("GET", "/_sandbox/stats", {}, b"", "10.1.2.3"))
        assert remote.status == 403


def test_stopped_sandbox_closes_idle_connections() -> None:
    with run_sandbox(SandboxOptions(products=10)) as running, requests.Session() as session:
        token = fetch_token(running, session)
        url, body = running.url("balances"), valid_body(running, "balances")
        assert session.post(url, json=body, headers={"Authorization": token}, timeout=10).status_code == 200
    with pytest.raises(requests.ConnectionError):
        session.post(url, json=body, headers={"Authorization": token}, timeout=10)


def test_the_busiest_one_second_window_is_counted_sliding() -> None:
    """Calls received in any one-second window, wherever it starts: a burst counts whole, spread calls do not add up."""
    with run_sandbox(SandboxOptions(products=10, rate_limit=None)) as running:
        _outcomes(running, 10)  # back to back: well inside one second
        assert running.stats().max_calls_in_one_second == 10
        running.reset_stats()
        for _ in range(3):  # three calls more than a second apart: no window holds two of them
            _outcomes(running, 1)
            time.sleep(1.2)  # spacing the calls is what is measured, not a synchronisation
        stats = running.stats()
        assert stats.total_calls == 3 and stats.max_calls_in_one_second == 1


def test_calls_count_in_the_second_they_arrived_even_when_reported_late() -> None:
    """A handler that reaches the stats late (GIL, a busy core) still counts at its arrival stamp."""
    recorder = StatsRecorder()
    evenly = [100.0 + i * 0.0105 for i in range(200)]  # 95 calls a second, perfectly spaced
    reported = evenly[:]
    reported[50], reported[60] = reported[60], reported[50]  # two handlers swapped by the scheduler
    for stamp in reported:
        recorder.call_started("stock", stamp)
    assert recorder.snapshot().max_calls_in_one_second == 96
    burst = StatsRecorder()
    for stamp in sorted(evenly[:150] + [evenly[10] + 0.001 * i for i in range(1, 6)], reverse=True):
        burst.call_started("stock", stamp)  # every stamp reported after the ones that followed it
    assert burst.snapshot().max_calls_in_one_second == 101
