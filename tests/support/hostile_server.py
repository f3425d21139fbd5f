"""A real HTTP server on 127.0.0.1 that answers the way a hostile gateway or image host might.

Each path is scripted: a plain answer, a redirect, or one that drips — its headers or its body
one byte at a time, ``interval`` seconds apart, until the client hangs up (or ``drip_for``
seconds pass). Every request is recorded (method, path, body), so a test can assert that a
secret never reached a host.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from .http_server import QuietServer, serving


@dataclass
class Scripted:
    """How one path answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip_body: bool = False  # the body one byte per interval (Content-Length declared in full)
    drip_headers: bool = False  # the status line and headers one byte per interval
    interval: float = 0.1
    drip_for: float = 20.0  # then stop (a client that never hangs up cannot keep a test thread for ever)


TOKEN = Scripted(200, json.dumps({"access_token": "tok-0123456789", "expires_in": 3600}).encode(),
                 {"Content-Type": "application/json"})
"""A token answer as the gateway gives it, for scripting the token endpoint."""


@dataclass
class Seen:
    method: str
    path: str
    body: bytes


class HostileServer:
    """Scripted answers by path; 404 elsewhere. ``requests`` holds everything received."""

    def __init__(self) -> None:
        self.routes: dict[str, Scripted] = {}
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.finished_drips = 0  # drips that ended because the client hung up
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server.lock:
                    server.requests.append(Seen(self.command, self.path, body))
                script = server.routes.get(self.path.split("?", 1)[0], Scripted(404, b"not found"))
                head = f"HTTP/1.1 {script.status} Scripted\r\n".encode()
                headers = {"Content-Length": str(len(script.body)), **script.headers}
                head += b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items()) + b"\r\n"
                if script.drip_headers:
                    self._drip(head, script)
                    return
                self.wfile.write(head)
                if script.drip_body:
                    self._drip(script.body, script)
                    return
                self.wfile.write(script.body)

            def _drip(self, data: bytes, script: Scripted) -> None:
                stop_at = time.monotonic() + script.drip_for
                try:
                    for byte in data:
                        if time.monotonic() > stop_at:
                            break
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(script.interval)  # the point of the test: a server that answers slowly
                except OSError:
                    with server.lock:
                        server.finished_drips += 1
                self.close_connection = True

            do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

        self.server = QuietServer(Handler)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def script(self, path: str, answer: Scripted) -> str:
        self.routes[path] = answer
        return self.base_url + path

    def received(self) -> list[Seen]:
        with self.lock:
            return list(self.requests)


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    server = HostileServer()
    with serving(server.server):
        yield server
