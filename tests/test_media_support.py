"""Shared pieces for the media tests (no tests here): a scriptable image host on 127.0.0.1 and catalog helpers.

The host is a real ``ThreadingHTTPServer`` on a free port. Each path answers with a fixed body,
a redirect, or a body cut off half-way (optionally holding the connection open until the test
releases it), and every request is counted, so tests can assert exactly what was fetched.
"""

from __future__ import annotations

import io
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from http.server import BaseHTTPRequestHandler

import pytest
from PIL import Image
from sqlalchemy import Engine, insert

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database
from support.catalog_db import migrated_catalog_url_for_tests
from support.http_server import QuietServer, serving


def make_image(
    fmt: str = "PNG", size: tuple[int, int] = (40, 30), colour: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    image = Image.new("RGB", size, colour)
    out = io.BytesIO()
    if fmt == "GIF":
        image = image.convert("P")
    image.save(out, fmt)
    return out.getvalue()


@dataclass
class Route:
    """How one path answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None  # send only this many body bytes, then close (Content-Length stays full)
    hold: threading.Event | None = None  # with cut_after: wait for this before closing
    sent_part: threading.Event = field(default_factory=threading.Event)
    then: Route | None = None  # how the path answers from its second request on (a transient fault)


class ImageHost:
    """A real HTTP server whose answers the test scripts path by path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.fallback = Route(404, b"not found")  # the answer for paths without a route
        self.gate: tuple[int, threading.Event] | None = None  # requests after the n-th wait for the event
        self.hits: Counter[str] = Counter()
        # (requests per trailing second, Retry-After): above it the host answers 429, like a CDN's throttle
        self.throttle: tuple[int, str] | None = None
        self.served_at: list[float] = []  # monotonic arrival times of requests answered normally
        self.throttled_at: list[float] = []  # … and of those answered 429
        self.fault_rate = 0.0  # share of requests answered 500 or 503 (no Retry-After) or dropped, at random
        self.faulted = 0
        self._dice = random.Random(7)
        self._lock = threading.Condition()
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with host._lock:
                    host.hits[self.path] += 1
                    number = sum(host.hits.values())
                    host._lock.notify_all()
                if host.gate is not None and number > host.gate[0]:
                    host.gate[1].wait(30)
                route = host.routes.get(self.path, host.fallback)
                if route.then is not None and host.hits[self.path] > 1:
                    route = route.then
                route = host._throttled() or route
                fault = host._fault()
                if fault == 0:  # drop the connection unanswered
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault:
                    route = Route(fault, b"unavailable")
                self.send_response(route.status)
                for name, value in route.headers.items():
                    if value:  # an empty value leaves the header out (e.g. no Content-Length)
                        self.send_header(name, value)
                if "Content-Length" not in route.headers:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if route.cut_after is None:
                    self.wfile.write(route.body)
                    return
                self.wfile.write(route.body[: route.cut_after])
                self.wfile.flush()
                route.sent_part.set()
                if route.hold is not None:
                    route.hold.wait(30)
                self.close_connection = True

        self.server = QuietServer(Handler)

    def _fault(self) -> int | None:
        """``None``: answer normally; 0: drop the connection; else the 5xx status to answer."""
        with self._lock:
            if self._dice.random() >= self.fault_rate:
                return None
            self.faulted += 1
            return self._dice.choice((0, 500, 503))

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: bytes = b"", status: int = 200, **kwargs: object) -> str:
        self.routes[path] = Route(status, body, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def _throttled(self) -> Route | None:
        """Record this request's arrival; a 429 route when it is over the throttle's threshold."""
        now = time.monotonic()
        with self._lock:
            if self.throttle is not None:
                limit, retry_after = self.throttle
                recent = sum(1 for at in self.served_at[-limit:] if at > now - 1.0)
                if recent >= limit:
                    self.throttled_at.append(now)
                    return Route(429, b"slow down", headers={"Retry-After": retry_after})
            self.served_at.append(now)
        return None

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.add(path, b"", status, headers={"Location": location})

    def hit_count(self, prefix: str = "/") -> int:
        with self._lock:
            return sum(count for path, count in self.hits.items() if path.startswith(prefix))

    def hold_requests_after(self, count: int) -> threading.Event:
        """Requests after the ``count``-th stall until the returned event is set."""
        self.gate = (count, threading.Event())
        return self.gate[1]

    def wait_for_hits(self, count: int, timeout: float = 30.0) -> bool:
        """Block until at least ``count`` requests have arrived (False on timeout)."""
        with self._lock:
            return self._lock.wait_for(lambda: sum(self.hits.values()) >= count, timeout)


@pytest.fixture
def image_host() -> Iterator[ImageHost]:
    host = ImageHost()
    with serving(host.server):
        yield host


@pytest.fixture
def catalog_engine(tmp_path, request) -> Engine:
    return prepare_database(migrated_catalog_url_for_tests(tmp_path, request))


class Catalog:
    """The ``begin()`` that ``localise_images`` needs, over a test engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def begin(self):  # type: ignore[no-untyped-def]
        return self.engine.begin()


def load_sandbox_products(engine: Engine, catalogue) -> None:  # type: ignore[no-untyped-def]
    """Write a sandbox catalogue's products with the catalog layer's own writers."""
    from datetime import datetime

    from haier_pipeline.catalog.writes import (
        ensure_brands,
        ensure_categories,
        upsert_products,
    )

    records = list(catalogue.expected_products().values())
    with engine.begin() as conn:
        brands = ensure_brands(conn, {r.brand_name for r in records})
        categories = ensure_categories(conn, {r.product_group for r in records})
        upsert_products(conn, records, brands, categories, datetime.now(UTC))


def add_products(engine: Engine, items: Sequence[tuple[str, str | None, Sequence[str]]], source: str = "haier") -> None:
    """Insert products ``(code, main image URL, page URLs)`` directly."""
    with engine.begin() as conn:
        conn.execute(insert(tables.products), [
            {"product_code": code, "name": code, "source": source, "product_image_url": main,
             "product_page_urls": list(pages)}
            for code, main, pages in items
        ])
