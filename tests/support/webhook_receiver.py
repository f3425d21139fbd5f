"""A real HTTP endpoint on 127.0.0.1 that records the JSON bodies POSTed to it (alert webhooks).

Requests are answered synchronously, so once the sender's ``requests.post`` has returned, the
body is already in :attr:`WebhookReceiver.bodies` — tests can assert on it, or on its absence,
without waiting.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from .http_server import QuietServer, serving


@dataclass
class WebhookReceiver:
    """Where alerts land: the URL to configure, and every body and path received so far."""

    url: str
    status: int = 200
    answer: bytes = b""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for body in self.bodies if body.get("kind") == kind]


@contextmanager
def webhook_receiver(path: str = "/hooks/alerts", status: int = 200, answer: bytes = b"") -> Iterator[WebhookReceiver]:
    """Serve on a free loopback port; answer every POST with ``status`` (and ``answer`` as a JSON body)."""
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            with receiver.lock:
                receiver.bodies.append(body)
                receiver.paths.append(self.path)
                receiver.headers.append(dict(self.headers.items()))
            self.send_response(receiver.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(receiver.answer)))
            self.end_headers()
            self.wfile.write(receiver.answer)

        def log_message(self, *args: Any) -> None:
            return

    server = QuietServer(Handler)
    receiver = WebhookReceiver(url=f"{server.base_url}{path}", status=status, answer=answer)
    with serving(server):
        yield receiver
