"""Exceptions raised by Paybond Kit.

Every native error is converted in one place (the Rust side builds these
classes by name from the core's error, with its fields and ``code``), so
``except HarborHttpError`` works the same for every call.
Messages never contain an API key, JWT, capability token or seed; response
bodies are redacted before they are stored. All classes pickle.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PaybondError",
    "HarborHttpError",
    "GatewayAuthError",
    "SignalHttpError",
    "TenantBindingError",
    "InsecureUrlError",
    "TransportError",
    "PaybondTimeoutError",
    "InvalidResponseError",
    "SigningError",
    "SignatureInvalidError",
    "TokenIntentMismatchError",
    "SessionClosedError",
    "InvalidArgumentError",
    "EvidenceConflictError",
    "InternalError",
    "PaybondDeniedError",
    "UnguardedToolError",
]


class PaybondError(Exception):
    """Base class of every Paybond Kit error. ``code`` is stable and machine-readable.

    Catch it to handle every kit failure; the subclasses below add the fields a support ticket
    needs. ``str(e)`` is the message; nothing in it, or in a field, is a secret.

    Attributes:
        code: the stable code (also the guard's deny code for the same failure).
        message: what went wrong, redacted.
    """

    code: str = "paybond_error"
    _fields: tuple[str, ...] = ()

    def __init__(self, message: str, **fields: Any) -> None:
        """Args:
            message: the error text (already redacted).
            **fields: ``code`` (overrides the class's) and the class's own fields (e.g.
                ``status_code``, ``url``, ``body_text`` for :class:`HarborHttpError`); a missing
                field is ``None``.

        Raises:
            TypeError: a field the class does not have.
        """
        super().__init__(message)
        self.message = message
        code = fields.pop("code", None)
        if code is not None:
            self.code = code
        for name in self._fields:
            setattr(self, name, fields.pop(name, None))
        if fields:
            raise TypeError(f"{type(self).__name__} got unexpected fields: {sorted(fields)}")

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {name: getattr(self, name) for name in self._fields}
        return (_rebuild, (type(self), self.message, fields, self.code))

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        extra = "".join(f", {n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({self.message!r}, code={self.code!r}{extra})"


def _rebuild(cls: type[PaybondError], message: str, fields: dict[str, Any], code: str) -> PaybondError:
    err = cls(message, **fields)
    err.code = code
    return err


class HarborHttpError(PaybondError):
    """Harbor answered a status other than 2xx (after retries; a redirect is never followed and
    lands here too). ``body_text`` is redacted.

    Attributes:
        status_code: the HTTP status (409: an evidence idempotency key reused with another body).
        url: the request URL (never carries credentials).
        body_text: the response body, redacted and cut to 2 KiB.
    """

    code = "http_error"
    _fields = ("status_code", "url", "body_text")
    status_code: int
    url: str
    body_text: str


class GatewayAuthError(PaybondError):
    """The Gateway refused or garbled the API-key exchange, or a refresh named another tenant.

    Attributes:
        status_code: the HTTP status when the Gateway answered with one, else ``None``.
        body_text: the response body (redacted), when there was one.
    """

    code = "gateway_auth"
    _fields = ("status_code", "body_text")
    status_code: int | None
    body_text: str | None


class SignalHttpError(PaybondError):
    """Signal answered a status other than 2xx (404 is ``None`` where a read documents it).

    Attributes:
        status_code: the HTTP status.
        url: the request URL.
        body_text: the response body, redacted.
    """

    code = "signal_http_error"
    _fields = ("status_code", "url", "body_text")
    status_code: int
    url: str
    body_text: str


class TenantBindingError(PaybondError):
    """A response names another tenant, intent or operator than the client is bound to."""

    code = "tenant_mismatch"


class InsecureUrlError(PaybondError, ValueError):
    """A base URL that is not ``https://`` (plain ``http://`` is for loopback only).

    ``PAYBOND_ALLOW_INSECURE_GATEWAY=1`` allows plain ``http://`` on a private network.

    Attributes:
        url: the refused URL: scheme, host and port only, never the raw input.
    """

    code = "insecure_url"
    _fields = ("url",)
    url: str


class TransportError(PaybondError, ConnectionError):
    """Connection refused or reset, DNS failure, a body cut short.

    Attributes:
        url: the request URL.
    """

    code = "transport_error"
    _fields = ("url",)
    url: str


class PaybondTimeoutError(PaybondError, TimeoutError):
    """The call's deadline passed, or the per-attempt timeout elapsed on the last attempt.

    ``timeout_ms`` is the per-attempt timeout, ``deadline_ms`` the bound across all attempts
    and waits, ``attempts`` how many were made and ``elapsed_ms`` how long the call took.

    Attributes:
        url: the request URL.
        timeout_ms: the per-attempt timeout (``timeout_seconds``), in ms.
        deadline_ms: the per-call deadline (``deadline_seconds``), in ms.
        attempts: how many attempts were made.
        elapsed_ms: how long the call took in total, in ms.
    """

    code = "timeout"
    _fields = ("url", "timeout_ms", "deadline_ms", "attempts", "elapsed_ms")
    url: str
    timeout_ms: int | None
    deadline_ms: int | None
    attempts: int | None
    elapsed_ms: int | None


class InvalidResponseError(PaybondError):
    """A 2xx answer off the wire contract: bad JSON, a missing or mistyped field (e.g. a string ``allow``).

    Also: a content type that is not JSON, a duplicate key, a body over ``max_response_bytes``,
    ``/verify`` answering a 2xx other than 200.

    Attributes:
        url: the request URL.
    """

    code = "invalid_response"
    _fields = ("url",)
    url: str


class SigningError(PaybondError):
    """Signing failed (a bad seed, a bad timestamp, an input that cannot be encoded)."""

    code = "signing_error"


class SignatureInvalidError(PaybondError):
    """A signature that should verify does not (e.g. a tampered Signal receipt)."""

    code = "signature_invalid"


class TokenIntentMismatchError(PaybondError):
    """The capability token is bound to another intent or tenant; nothing was sent.

    ``bound_kind`` is ``"intent"`` or ``"tenant"``, ``bound`` what the token names,
    ``requested`` what the call asked for.

    Attributes:
        bound_kind: ``"intent"`` or ``"tenant"``.
        bound: the intent or tenant the token is bound to.
        requested: the one the call asked for.
    """

    code = "token_intent_mismatch"
    _fields = ("bound_kind", "bound", "requested")
    bound_kind: str | None
    bound: str | None
    requested: str | None


class SessionClosedError(PaybondError):
    """The session was closed and refuses new calls."""

    code = "session_closed"


class InvalidArgumentError(PaybondError, ValueError):
    """A caller argument is wrong (type, range, format). ``field`` names it as Python spells
    it (e.g. ``requested_spend_cents``); the message says what was expected. Raised before any
    request is made.

    Attributes:
        field: the argument or option, as Python spells it.
    """

    code = "invalid_argument"
    _fields = ("field",)
    field: str


class EvidenceConflictError(PaybondError):
    """Evidence for this tool call (``call_id``) was already signed or submitted with a
    different payload; the first payload stands. Use a new call id for new work.

    Attributes:
        call_id: the tool-call id that already has evidence.
    """

    code = "evidence_conflict"
    _fields = ("call_id",)
    call_id: str


class InternalError(PaybondError):
    """A bug in the kit (a caught panic). The call was refused; for a guard it is a deny."""

    code = "internal"


class PaybondDeniedError(PaybondError):
    """Raised by adapters with ``on_error="raise"`` when a guarded tool call is denied.

    Attributes:
        tool_name: the tool that was denied (it did not run).
        deny_code: the deny code (``harbor_denied``, ``timeout``, ...).
        reason: Harbor's own code when Harbor denied, else ``None``.
    """

    code = "denied"
    _fields = ("tool_name", "deny_code", "reason")
    tool_name: str
    deny_code: str
    reason: str | None


class UnguardedToolError(PaybondError):
    """A guard was asked to cover an agent or tool list with a tool path it cannot guard
    (a hosted or provider tool, a handoff, an agent used as a tool, an MCP server, ...).

    Raised when the guard is built (or, for ``create_agent`` middleware, before the first
    model call that offers such a tool), never silently skipped. ``paths`` lists each path
    as ``"<kind>:<name>"``. List a path's name in ``unguarded=[...]`` to accept it knowingly.

    Attributes:
        paths: each unguarded path, as ``"<kind>:<name>"``.
    """

    code = "unguarded_tool"
    _fields = ("paths",)
    paths: tuple[str, ...]


def _invalid_argument(field: str, message: str) -> InvalidArgumentError:
    """An :class:`InvalidArgumentError` worded like the core's (for checks of Python objects)."""
    return InvalidArgumentError(f"invalid argument `{field}`: {message}", field=field)
