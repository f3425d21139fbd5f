"""Typed errors for calls to Haier's gateway.

Every error names the endpoint and the batch involved (product codes, order
code or county) so a failed batch can be reported and retried on its own. The
message is masked for credential-shaped text on construction; the client then
masks known secret values (``Redactor``) in the message *and* the batch with
:meth:`HaierApiError.masked`, and only then shortens the message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .redact import clip, mask_patterns

Batch = tuple[str, ...]
MESSAGE_LIMIT = 2000


def describe_batch(batch: Batch, limit: int = 3) -> str:
    """A short human description of a batch: ``GA0SZC00U,GA0SZC00V (+18 more)``."""
    if not batch:
        return "all"
    shown = ",".join(batch[:limit])
    extra = len(batch) - limit
    return f"{shown} (+{extra} more)" if extra > 0 else shown


class HaierApiError(Exception):
    """A call to Haier's gateway failed. ``batch`` names what the call was about."""

    def __init__(self, endpoint: str, batch: Sequence[str] | str | None, message: str) -> None:
        if batch is None:
            batch = ()
        elif isinstance(batch, str):
            batch = (batch,)
        self.endpoint = endpoint
        self.batch: Batch = tuple(mask_patterns(str(item)) for item in batch)
        self.message = mask_patterns(message)
        super().__init__(f"{endpoint} [{describe_batch(self.batch)}]: {self.message}")

    def __reduce__(self):  # keep pickling (Dagster serialises failures) working with our signature
        return (_rebuild, (type(self), self.__dict__.copy()))

    def masked(self, redact: Callable[[str], str]) -> HaierApiError:
        """The same error with ``redact`` applied to its batch and every message it carries, then shortened.

        Masking comes first: a secret cut in half by shortening would no longer be recognised.
        """
        state = self.__dict__.copy()
        state["batch"] = tuple(redact(item) for item in state["batch"])
        for key in ("message", "server_message"):
            if isinstance(state.get(key), str):
                state[key] = clip(redact(state[key]), MESSAGE_LIMIT)
        return _rebuild(type(self), state)


def _rebuild(cls: type[HaierApiError], state: dict) -> HaierApiError:
    error = cls.__new__(cls)
    Exception.__init__(error, f"{state['endpoint']} [{describe_batch(state['batch'])}]: {state['message']}")
    error.__dict__.update(state)
    return error


class HaierAuthError(HaierApiError):
    """No usable token: the token endpoint refused us, or a fresh token was refused too."""


class HaierRequestRejected(HaierApiError):
    """HTTP 400/403/404 (or another 4xx): the gateway refused the request; retrying cannot help."""

    def __init__(self, endpoint: str, batch: Sequence[str] | str | None, message: str, status: int) -> None:
        self.status = status
        self.server_message = mask_patterns(message)
        super().__init__(endpoint, batch, f"HTTP {status}: {message}")


class HaierAnswerRefused(HaierApiError):
    """An answer this client will not take: a redirect (never followed), or more bytes than the ceiling."""

    def __init__(self, endpoint: str, batch: Sequence[str] | str | None, message: str, status: int) -> None:
        self.status = status
        super().__init__(endpoint, batch, message)


class HaierApplicationError(HaierApiError):
    """HTTP 200 carrying ``success: false`` (or a non-success code), or an unusable payload."""


class HaierUnavailable(HaierApiError):
    """Gave up after the retry budget or deadline: network faults, 5xx or 429 all the way."""
