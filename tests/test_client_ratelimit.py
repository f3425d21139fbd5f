"""The client's own rate limit against the sandbox's 100 calls/s token bucket: never a 429, never a burst."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from haier_pipeline.haier_api import ClientConfig, HaierClient
from haier_pipeline.haier_api.ratelimit import LATE_LIMIT, RateLimiter
from haier_pipeline.sandbox import SandboxOptions, run_sandbox


@pytest.mark.parametrize(("rate", "calls", "latency"), [(100.0, 300, 0.01), (37.5, 90, 0.05)])
def test_full_concurrency_at_the_configured_rate_trips_no_429(rate: float, calls: int, latency: float) -> None:
    # the gateway allows 100/s; its latency makes the eight threads' calls overlap
    with run_sandbox(SandboxOptions(products=calls, latency=latency)) as sandbox:
        pairs = [(code, "110101") for code in list(sandbox.catalogue.expected_stock("110101"))[:calls]]
        with HaierClient(ClientConfig.from_env(sandbox.env(), rate_limit=rate, max_concurrency=8)) as client:
            client.tokens.current()  # the token call is rate limited too; keep it out of the timing
            started = time.monotonic()
            results = list(client.fetch_stock(pairs))
            elapsed = time.monotonic() - started
        seen = sandbox.stats()
    assert len(results) == calls and all(result.ok for result in results)
    assert seen.answered_429 == 0 and seen.calls["stock"] == calls
    assert elapsed >= (calls - 1) / rate
    # and the limiter does not throttle far below the rate (loose: shared CPU)
    assert elapsed < (calls - 1) / rate * 1.5 + 1
    assert seen.max_in_flight >= 2  # the calls really overlapped


def test_without_the_limit_the_same_load_is_throttled() -> None:
    """Control: the sandbox does catch a client that bursts above 100 calls/s, so 0 above means something."""
    with run_sandbox(SandboxOptions(products=300)) as sandbox:
        pairs = [(code, "110101") for code in sandbox.catalogue.expected_stock("110101")]
        config = ClientConfig.from_env(sandbox.env(), rate_limit=100_000.0, max_concurrency=8, backoff_initial=0.05)
        with HaierClient(config) as client:
            results = list(client.fetch_stock(pairs))
            stats = client.stats.snapshot()
        seen = sandbox.stats()
    assert seen.answered_429 > 0 and stats["throttled_429"] == seen.answered_429
    assert all(result.ok for result in results)  # 429s were waited out (Retry-After) and retried


def test_limiter_spaces_calls_evenly_across_threads() -> None:
    """No bursts: a "200 per second" bucket could release 200 at once; spaced slots cannot."""
    rate = 200.0
    limiter = RateLimiter(rate)
    stamps: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(20):
            assert limiter.acquire(timeout=10)
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    limiter.close()
    stamps.sort()
    assert len(stamps) == 160
    assert stamps[-1] - stamps[0] >= (len(stamps) - 1) / rate - 0.002
    # any 20 consecutive slots span at least ~19 spacings (a late thread may use up one missed slot)
    tightest = min(later - earlier for earlier, later in zip(stamps, stamps[20:], strict=False))
    assert tightest >= 17 / rate


def test_a_slot_is_not_handed_out_early() -> None:
    with_one_per_second = RateLimiter(1.0)
    assert with_one_per_second.acquire(timeout=0)  # the first slot is free
    assert not with_one_per_second.acquire(timeout=0)  # the next is a second away
    assert not with_one_per_second.acquire(timeout=0.2)
    with_one_per_second.close()


def test_a_caller_stalled_past_its_slot_lets_it_go_and_the_client_counts_it() -> None:
    with run_sandbox(SandboxOptions(products=5)) as sandbox:
        with HaierClient(ClientConfig.from_env(sandbox.env(), rate_limit=50.0)) as client:
            limiter = client._limiter
            assert limiter.acquire() and limiter.on_time()  # sent right after its slot: used
            assert limiter.acquire()
            time.sleep(LATE_LIMIT * 3)  # the stall under test: the thread is descheduled between slot and send
            assert not limiter.on_time()  # too late: sent now it could crowd into the next calls' second
            assert not limiter.on_time()  # one send per slot, never two
            assert client.slots_missed == limiter.late_slots == 2


class _StallBeforeTheWire(requests.Session):
    """A plain session (the client mounts its own adapters on it) whose every request stalls inside ``requests``."""

    def send(self, request: Any, **kwargs: Any) -> Any:
        time.sleep(LATE_LIMIT * 2)  # the stall under test: a thread descheduled after its slot, before the wire
        return super().send(request, **kwargs)


def test_a_slot_gone_stale_inside_requests_is_replaced_at_the_wire() -> None:
    """The last check is made by the connection right before the first byte, not before ``requests`` starts."""
    with run_sandbox(SandboxOptions(products=5)) as sandbox, _StallBeforeTheWire() as session:
        config = ClientConfig.from_env(sandbox.env(), rate_limit=50.0, max_concurrency=1)
        with HaierClient(config, session=session) as client:
            client.tokens.current()
            missed_before = client.slots_missed
            pairs = [(code, "110101") for code in list(sandbox.catalogue.expected_stock("110101"))[:4]]
            results = list(client.fetch_stock(pairs))
            missed = client.slots_missed - missed_before
        seen = sandbox.stats()
    assert [result.ok for result in results] == [True] * 4 and seen.calls["stock"] == 4
    # Each call's first slot went stale in the stall and each left on a fresh one; on a loaded machine (CI runs
    # both passes at once) a thread may also wake too late for its fresh slot, which is missed and counted too.
    assert missed >= 4
