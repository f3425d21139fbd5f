"""The gateway's behaviour, one request at a time, independent of the HTTP plumbing around it.

Order of events for a business call, as a real gateway would: count it, roll the fault dice, throttle
(429 + ``Retry-After``), check the token (401), parse and validate the body (400), wait the injected
latency, then answer (or fail with the fault rolled). Token, image and admin requests are never
throttled; images need no token and are not counted as gateway calls.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from haier_pipeline.haier_api.endpoints import BALANCES, LOGISTICS, PRICES, PRODUCTS, STOCK
from haier_pipeline.haier_api.jsonio import dump_bytes, loads

from . import validation
from .catalogue import Catalogue
from .endpoints import BUSINESS_PATHS, TOKEN_PATHS, is_enveloped
from .faults import FaultDecision, FaultInjector, TokenBucket, retry_after
from .options import FaultProfile, SandboxOptions
from .stats import StatsRecorder
from .tokens import TokenStore, bearer_token
from .wire import Wire

log = logging.getLogger(__name__)
JSON = "application/json;charset=UTF-8"
HTML = "text/html;charset=UTF-8"
_MAINTENANCE = "<html><head><title>系统维护</title></head><body><h1>系统维护中，请稍后访问</h1></body></html>"
_BAD_GATEWAY = (
    "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    client_host: str
    received_at: float = field(default_factory=time.monotonic)  # when the request line was read


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False  # close the connection without answering


def _json(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, dump_bytes(payload), JSON, headers)


def _error(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return _json(status, {"success": False, "code": str(status), "message": message, "data": None}, headers)


def _envelope(raw: bytes) -> bytes:
    return b'{"success":true,"code":"200","message":"ok","data":' + raw + b"}"


class SandboxApp:
    """One sandbox: options, current catalogue, tokens, throttle, faults and stats."""

    def __init__(self, options: SandboxOptions, base_url: str) -> None:
        self.options = options
        self.base_url = base_url
        self.stats = StatsRecorder()
        self.tokens = TokenStore(options.token_lifetime)
        self.bucket = TokenBucket(options.rate_limit)
        self.faults = FaultInjector(options.faults)
        self.wire = Wire(options.wire)
        self._lock = threading.Lock()
        self._catalogue = Catalogue(options.products, options.seed, options.generation, options.image_host or base_url,
                                    options.changes, options.style)
        self._warm(self._catalogue)

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    def advance(self) -> Catalogue:
        """Move the sandbox to the next catalogue generation."""
        with self._lock:
            self._catalogue = self._catalogue.next_generation()
            catalogue = self._catalogue
        self._warm(catalogue)
        return catalogue

    def set_faults(self, profile: FaultProfile) -> None:
        self.faults.set_profile(profile)

    @staticmethod
    def _warm(catalogue: Catalogue) -> None:
        threading.Thread(target=catalogue.warm, name="sandbox-warm", daemon=True).start()

    # --- dispatch ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except Exception:  # a sandbox bug must answer, not hang the client; the traceback names no request data
            log.exception("sandbox failed on %s %s", request.method, request.path)
            return _error(500, "sandbox internal error")

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/images/"):
            return self._image(request)
        if path.startswith("/_sandbox/"):
            return self._admin(request)
        if path in TOKEN_PATHS:
            return self._token(request)
        endpoint = BUSINESS_PATHS.get(path)
        if endpoint is None:
            return _error(404, "no such path on this gateway")
        if request.method != "POST":
            return _error(405, "business calls are POST", (("Allow", "POST"),))
        self.stats.call_started(endpoint, request.received_at)
        response = Response(500, drop=True)
        try:
            with self.wire.call():
                response = self._business(endpoint, request)
        finally:
            self.stats.call_finished(None if response.drop else response.status)
        return response

    def _image(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _error(405, "images are fetched with GET", (("Allow", "GET, HEAD"),))
        self.stats.count("image_requests")
        fault = self.faults.draw(image=True)
        if fault.kind == "drop":
            self.stats.count("drops")
            return Response(0, drop=True)
        delay = self.wire.image_answer_time() + (self.faults.profile.slow_seconds if fault.slow else 0.0)
        if delay > 0:
            time.sleep(delay)  # a CDN across the wire, on its own host and port (image_host)
        if fault.kind == "error":
            self.stats.count("injected_5xx")
            return _error(fault.status, "image host failed")
        poison = self.options.poison
        target = poison.redirect_for(request.path, self.base_url) if poison is not None else None
        if target is not None:
            return Response(302, b"", HTML, (("Location", target),))
        served = self._catalogue.image_answer(request.path)
        return Response(served.status, served.body, served.content_type, (("Cache-Control", "max-age=86400"),))

    # --- business calls ---------------------------------------------------------------------------
    def _business(self, endpoint: str, request: Request) -> Response:
        fault = self.faults.draw(endpoint=endpoint)
        if fault.kind == "drop":
            self.stats.count("drops")
            return Response(0, drop=True)
        wait = self.bucket.take()
        if wait > 0 or fault.kind == "burst_429":
            self.stats.count("answered_429")
            return _error(429, "too many requests", (("Retry-After", retry_after(wait)),))
        token = bearer_token(request.headers.get("authorization"))
        if token is None or not self.tokens.is_valid(token):
            self.stats.count("answered_401")
            return _error(401, "token missing, invalid or expired", (("WWW-Authenticate", "Bearer"),))
        catalogue = self._catalogue
        try:
            body = self._json_body(request)
            if isinstance(body.get("productCodes"), list):
                self.stats.saw_product_codes(len(body["productCodes"]))
            raw = self._answer(endpoint, body, catalogue)
        except validation.BadRequest as exc:
            self.stats.count("answered_400")
            return _error(400, str(exc))
        self._wait(fault, endpoint)
        failed = self._fail(fault)
        if failed is not None:
            return failed
        lie = self.options.poison.answer_for(endpoint, body) if self.options.poison is not None else None
        if lie is not None:
            return Response(lie.status, lie.body, lie.content_type)
        return Response(200, _envelope(raw) if is_enveloped(endpoint, self.options.envelope) else raw)

    @staticmethod
    def _json_body(request: Request) -> dict[str, Any]:
        if "json" not in request.headers.get("content-type", "").lower():
            raise validation.BadRequest("Content-Type must be application/json")
        try:
            body = loads(request.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise validation.BadRequest("body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise validation.BadRequest("body must be a JSON object")
        return body

    def _answer(self, endpoint: str, body: dict[str, Any], catalogue: Catalogue) -> bytes:
        options = self.options
        if endpoint == PRODUCTS:
            codes = validation.check_products(body, options)
            if codes is None:
                if options.poison is not None:
                    return options.poison.listing(catalogue.listing().records, self.base_url)
                return catalogue.listing_json()
            return self._dumps(PRODUCTS, catalogue.product_answers(codes))
        if endpoint == PRICES:
            return self._dumps(PRICES, catalogue.price_answers(validation.check_prices(body, options)))
        if endpoint == STOCK:
            query = validation.check_stock(body, options)
            return self._dumps(STOCK, catalogue.stock_answer(query.product_code, query.county_code), query.product_code)
        if endpoint == LOGISTICS:
            order = validation.check_logistics(body, options)
            return dump_bytes(catalogue.logistics_answer(order.order_code, order.delivery_record_code))
        if endpoint == BALANCES:
            return dump_bytes(catalogue.balance_answer(validation.check_balance(body, options)))
        raise AssertionError(endpoint)

    def _dumps(self, endpoint: str, payload: Any, product_code: str | None = None) -> bytes:
        poison = self.options.poison
        if poison is None:
            return dump_bytes(payload)
        return poison.encode(poison.patch(endpoint, payload, product_code, self.base_url))

    def _wait(self, fault: FaultDecision, endpoint: str) -> None:
        delay = self.options.latency + self.wire.answer_time(endpoint)
        if fault.slow:
            self.stats.count("slow_calls")
            delay += self.faults.profile.slow_seconds
        if delay > 0:
            time.sleep(delay)  # the handler thread sleeps, as a slow gateway keeps the connection busy

    def _fail(self, fault: FaultDecision) -> Response | None:
        if fault.kind == "error":
            self.stats.count("injected_5xx")
            if fault.status in (502, 504):
                title = f"{fault.status} {'Bad Gateway' if fault.status == 502 else 'Gateway Time-out'}"
                return Response(fault.status, _BAD_GATEWAY.format(title).encode(), HTML)
            return _error(fault.status, "internal error" if fault.status == 500 else "service unavailable")
        if fault.kind == "html_error":
            self.stats.count("html_errors")
            return Response(200, _MAINTENANCE.encode("utf-8"), HTML)
        if fault.kind == "app_error":
            self.stats.count("app_errors")
            return _json(200, {"success": False, "code": "500", "message": "系统繁忙，请稍后再试", "data": None})
        return None

    # --- token ------------------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        which = TOKEN_PATHS[request.path]
        if self.options.token_path not in ("both", which):
            return _error(404, "no such path on this gateway")
        if request.method != "POST":
            return _error(405, "the token endpoint takes POST", (("Allow", "POST"),))
        self.stats.count("token_requests")
        fault = self.faults.draw(token_call=True)
        if fault.kind == "drop":
            self.stats.count("drops")
            return Response(0, drop=True)
        failed = self._fail(fault) if fault.kind in ("error", "html_error") else None
        if failed is not None:
            return failed
        try:
            body = self._json_body(request)
        except validation.BadRequest as exc:
            return _json(400, {"error": "invalid_request", "error_description": str(exc)})
        if body.get("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type",
                               "error_description": "grant_type must be client_credentials"})
        if body.get("client_id") != self.options.client_id or body.get("client_secret") != self.options.client_secret:
            return _json(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        token = self.tokens.issue()
        self.stats.count("tokens_issued")
        lifetime = self.options.token_lifetime
        expires_in = int(lifetime) if float(lifetime).is_integer() else lifetime
        if self.options.token_shape == "token":
            return _json(200, {"token": token, "expires_in": expires_in})
        if self.options.token_shape == "data":
            return _json(200, {"success": True, "code": "200", "message": "ok", "data": {"token": token}})
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": expires_in})

    # --- admin ------------------------------------------------------------------------------------
    def _admin(self, request: Request) -> Response:
        if not ipaddress.ip_address(request.client_host).is_loopback:
            return _error(403, "admin endpoints answer loopback clients only")
        action = (request.method, request.path.removeprefix("/_sandbox/"))
        if action == ("GET", "health"):
            catalogue = self._catalogue
            return _json(200, {"status": "ok", "generation": catalogue.generation, "products": catalogue.size})
        if action == ("GET", "stats"):
            return _json(200, {**self.stats.snapshot().to_dict(), "generation": self._catalogue.generation})
        if action == ("POST", "advance"):
            return _json(200, {"generation": self.advance().generation})
        if action == ("POST", "reset-stats"):
            self.stats.reset()
            return _json(200, {"reset": True})
        if action == ("POST", "expire-tokens"):
            return _json(200, {"expired": self.tokens.expire_all()})
        if action == ("POST", "faults"):
            try:
                profile = FaultProfile.from_dict(json.loads(request.body or b"{}"))
            except (ValueError, TypeError) as exc:
                return _error(400, f"faults: {exc}")
            self.set_faults(profile)
            return _json(200, {"faults": profile.to_dict()})
        return _error(404, "unknown admin action")
