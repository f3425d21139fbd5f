"""HTTP plumbing around :class:`SandboxApp`: a threaded HTTP/1.1 server on 127.0.0.1.

Keep-alive works (the client pools connections): every answer carries ``Content-Length`` and the
handler reads each request body in full. Each connection has its own daemon thread, so injected
latency sleeps there without holding up other connections. ``close()`` also shuts the sockets of
idle keep-alive connections, so nothing answers once a sandbox is stopped.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .app import Request, Response, SandboxApp
from .options import SandboxOptions

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


class SandboxHandler(BaseHTTPRequestHandler):
    """Turns one HTTP exchange into a :class:`Request` and writes the app's :class:`Response`."""

    protocol_version = "HTTP/1.1"
    server_version = "HaierSandbox/1.0"
    timeout = 120  # idle keep-alive connections end after two minutes
    wbufsize = 1 << 16  # headers and body leave in one segment (no Nagle/delayed-ACK stall of 40 ms per call)
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def parse_request(self) -> bool:
        self.received_at = time.monotonic()  # the request line was just read: the call's arrival, for the stats
        return super().parse_request()

    def do_GET(self) -> None:
        self._exchange()

    def do_HEAD(self) -> None:
        self._exchange()

    def do_POST(self) -> None:
        self._exchange()

    def do_PUT(self) -> None:
        self._exchange()

    def do_DELETE(self) -> None:
        self._exchange()

    def _exchange(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None and self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._write(Response(411, b'{"success":false,"code":"411","message":"Content-Length required"}'))
            return
        size = int(length) if length and length.isdigit() else 0
        if size > MAX_BODY:
            self.close_connection = True
            self._write(Response(413, b'{"success":false,"code":"413","message":"request body too large"}'))
            return
        body = self.rfile.read(size) if size else b""
        request = Request(
            method=self.command, path=urlsplit(self.path).path,
            headers={name.lower(): value for name, value in self.headers.items()}, body=body,
            client_host=self.client_address[0], received_at=self.received_at,
        )
        response = self.server.app.handle(request)
        if response.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-answer (e.g. it refused a 12 MB image)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        log.debug("sandbox %s", format % args)  # request lines carry paths only, never bodies or headers


class SandboxHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its app and its open connections."""

    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, SandboxHandler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        host, port = self.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        self.app: SandboxApp

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return  # a client that went away (killed, timed out) is not the sandbox's error: no traceback
        super().handle_error(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close(self) -> None:
        """Stop accepting, and end every open connection (call after ``shutdown()``)."""
        self.server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def make_server(options: SandboxOptions) -> SandboxHTTPServer:
    """Bind ``options.host:options.port`` (0: a free port) and attach a fresh app."""
    server = SandboxHTTPServer((options.host, options.port))
    server.app = SandboxApp(options, server.base_url)
    return server
