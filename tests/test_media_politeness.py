"""Adaptive image politeness: the pace grows on a willing host, settles below a throttling host's limit, obeys
Retry-After.

The host is a real HTTP server on 127.0.0.1 that answers 429 (with ``Retry-After``) as soon as more
than its threshold of requests arrived in the trailing second, as a CDN's throttle does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from test_media_support import (  # noqa: F401 - fixtures
    Catalog,
    ImageHost,
    add_products,
    catalog_engine,
    image_host,
    make_image,
)

from haier_pipeline.media.fetch import FetchLimits
from haier_pipeline.media.localise import localise_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.politeness import MAX_RETRY_AFTER_S, START_RATE, AdaptivePoliteness, retry_after_seconds
from haier_pipeline.media.store import MediaStore
from haier_pipeline.media.urls import UrlPolicy

THRESHOLD = 60  # requests per trailing second the host serves before it answers 429
RETRY_AFTER_S = 1.0
ADAPTIVE = ImageOptions(policy=UrlPolicy(allow_loopback=True), limits=FetchLimits(), rate_per_host=None, concurrency=8)


def publish_images(host: ImageHost, engine: Engine, count: int) -> list[str]:
    """``count`` distinct small PNGs, three per product (a main image and two page images)."""
    urls = [host.add(f"/img/{n}.png", make_image("PNG", (8, 8), (n % 256, n // 256 % 256, 7))) for n in range(count)]
    add_products(engine, [(f"P{n:04d}", urls[n], urls[n + 1:n + 3]) for n in range(0, count, 3)])
    return urls


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_pace_settles_below_a_throttling_hosts_limit_and_every_image_lands(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path
) -> None:
    image_host.throttle = (THRESHOLD, f"{RETRY_AFTER_S:g}")
    urls = publish_images(image_host, catalog_engine, 600)

    report = localise_images(Catalog(catalog_engine), MediaStore(tmp_path / "media"), ADAPTIVE)

    assert report.rejected == [] and report.downloaded == len(urls)  # every image landed despite the 429s
    pace = report.host_pace["127.0.0.1"]
    assert image_host.throttled_at, "the pace never grew past the host's limit: it did not adapt upwards"
    assert pace["throttled"] == len(image_host.throttled_at)
    assert pace["pace"] < THRESHOLD, pace  # converged below the threshold …
    assert pace["mean_rate"] > THRESHOLD / 3, pace  # … without collapsing
    assert report.rate_reached == pace["mean_rate"] <= THRESHOLD
    # Throttling is the exception, not the way of working: most requests were served at the first try.
    assert len(image_host.throttled_at) <= len(urls) // 10, (len(image_host.throttled_at), pace)


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_retry_after_is_honoured(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path) -> None:
    image_host.throttle = (THRESHOLD, f"{RETRY_AFTER_S:g}")
    publish_images(image_host, catalog_engine, 300)

    localise_images(Catalog(catalog_engine), MediaStore(tmp_path / "media"), ADAPTIVE)

    assert image_host.throttled_at
    arrivals = sorted(image_host.served_at + image_host.throttled_at)
    for throttled in image_host.throttled_at:
        # Requests already on the wire may land just after a 429; nothing new is sent until Retry-After passed.
        quiet = [at for at in arrivals if throttled + 0.2 < at < throttled + RETRY_AFTER_S - 0.05]
        assert quiet == [], f"{len(quiet)} request(s) within Retry-After of a 429"


def test_pace_grows_on_a_willing_host_and_never_passes_the_ceiling() -> None:
    clock = [0.0]
    free = AdaptivePoliteness(max_window=8, clock=lambda: clock[0])
    capped = AdaptivePoliteness(max_window=8, ceiling=25.0, clock=lambda: clock[0])
    for politeness in (free, capped):
        for _ in range(600):
            clock[0] += politeness.wait_time("cdn.example")  # the host's next slot, at once
            assert politeness.acquire("cdn.example", deadline=clock[0])
            clock[0] += 0.0005
            politeness.answered("cdn.example", 0.002, 200)
    assert free.figures()["cdn.example"]["pace"] > 4 * START_RATE
    assert free.figures()["cdn.example"]["window"] == 8
    assert capped.figures()["cdn.example"]["pace"] == 25.0


def test_a_429_halves_the_pace_and_pauses_the_host_for_its_retry_after() -> None:
    clock = [0.0]
    politeness = AdaptivePoliteness(max_window=4, clock=lambda: clock[0])
    for _ in range(50):
        assert politeness.acquire("cdn.example", deadline=clock[0] + 10)
        clock[0] += 0.5
        politeness.answered("cdn.example", 0.002, 200)
    before = politeness.figures()["cdn.example"]["pace"]
    assert politeness.wait_time("cdn.example") == 0.0
    assert politeness.acquire("cdn.example", deadline=clock[0] + 10)
    politeness.answered("cdn.example", 0.002, 429, retry_after=3.0)
    assert politeness.figures()["cdn.example"]["pace"] <= before / 2
    assert politeness.figures()["cdn.example"]["throttled"] == 1
    assert politeness.wait_time("cdn.example") == 3.0
    assert politeness.wait_time("other.example") == 0.0  # one host's throttle does not slow another
    clock[0] += 3.0
    assert politeness.wait_time("cdn.example") == 0.0


def test_retry_after_is_capped() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("86400") == MAX_RETRY_AFTER_S  # a host cannot park the pass for a day
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None


def test_random_faults_are_retried_without_slowing_the_host(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path
) -> None:
    """One request in ten fails at random (500, 503 without Retry-After, a dropped connection): not congestion.

    Before, every 503 halved the pace and paused the host, and a 500 or a drop rejected the image.
    """
    image_host.fault_rate = 0.1
    urls = publish_images(image_host, catalog_engine, 300)

    report = localise_images(Catalog(catalog_engine), MediaStore(tmp_path / "media"), ADAPTIVE)

    assert report.rejected == [] and report.downloaded == len(urls)  # every fault was asked again
    pace = report.host_pace["127.0.0.1"]
    assert image_host.faulted >= 10 and pace["faults"] >= 10, pace
    assert pace["throttled"] == 0, pace  # no fault counted as a throttle …
    assert pace["pace"] >= START_RATE, pace  # … so the pace was never cut


def test_503s_that_rise_with_the_pace_slow_the_host_but_a_lone_one_does_not() -> None:
    now = [0.0]
    politeness = AdaptivePoliteness(clock=lambda: now[0])
    for n in range(100):  # 40 answers a second, one 503 in ten: faults
        assert politeness.acquire("cdn", deadline=now[0])
        politeness.answered("cdn", 0.02, 503 if n % 10 == 0 else 200)
        now[0] += 0.025
    figures = politeness.figures()["cdn"]
    assert figures["throttled"] == 0 and figures["faults"] == 10 and figures["pace"] >= START_RATE
    before = figures["pace"]
    for _ in range(10):  # then half the answers are 503: the host is overloaded
        politeness.answered("cdn", 0.02, 503)
        politeness.answered("cdn", 0.02, 200)
        now[0] += 0.025
    figures = politeness.figures()["cdn"]
    assert figures["throttled"] >= 1 and figures["pace"] < before
    assert figures["pace"] >= 0.5 * figures["peak_rate"]  # a cut on 503s stops at the floor
