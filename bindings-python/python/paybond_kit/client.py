"""Sessions, clients and the capability binding: thin, typed wrappers over the Rust core.

Session options (every session open, Harbor and Signal, async and sync, and
:class:`GatewayHarborTokenProvider`). Each value is checked by the core; a bad one (wrong type,
``NaN``, out of range, a ``bool``) raises :class:`~paybond_kit.InvalidArgumentError` naming the
option, before any request:

- ``timeout_seconds`` (10.0): one attempt, connect to last byte; ``0 < t <= 3600``.
- ``deadline_seconds`` (30.0): one call across every attempt, backoff and ``Retry-After`` wait;
  a guarded tool call is answered within it; ``0 < d <= 3600``.
- ``max_retries`` (3): total attempts of a retryable request, ``1..10``.
- ``max_retry_after_seconds`` (30.0): cap on a server's ``Retry-After``, ``0..300``; a wait that
  would pass the deadline ends the retries with the last error.
- ``refresh_skew_seconds`` (90.0): refresh the Harbor JWT this long before it expires, ``0..86400``.
- ``max_response_bytes`` (1048576): a larger answer is :class:`~paybond_kit.InvalidResponseError`
  without reading it all, ``1024..67108864``.
- ``proxy_url`` (``None``): an explicit HTTP(S) proxy, under the same URL policy as the base
  URLs. ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` are never read.

Redirects are never followed; only 2xx ``application/json`` answers are success.
"""

from __future__ import annotations

import asyncio
import atexit
import uuid
from types import TracebackType
from typing import Any, Literal, Mapping, Sequence

from . import _native
from .errors import _invalid_argument
from .types import (
    Decision,
    EvidenceReceipt,
    IntentCreated,
    LedgerAuthority,
    LedgerEventsPage,
    LedgerTip,
    MerkleLatest,
    OperatorExplanation,
    OperatorReviewStatus,
    PortfolioSummary,
    Principal,
    ReputationReceiptEnvelope,
    SignedEvidence,
    VerifyResult,
)

# Spend completions still on their way when the interpreter exits land first (each is bounded
# by its session's deadline).
atexit.register(_native.settle_sync)

__all__ = [
    "ServiceAccountHarborSession",
    "HarborClient",
    "GatewayHarborTokenProvider",
    "ServiceAccountSignalSession",
    "GatewaySignalClient",
    "CapabilityBinding",
    "sign_payee_evidence_binding",
    "sign_intent_creation",
    "json_value_digest",
    "artifacts_digest",
]


def _no_running_loop(method: str) -> None:
    """Sync variants block; on the event-loop thread they would stall every other task."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{method}() blocks and was called on a running event loop's thread; await the async variant instead"
    )


def _id(value: Any) -> Any:
    """A ``uuid.UUID`` as text; anything else as given (the core checks it)."""
    return str(value) if isinstance(value, uuid.UUID) else value


def _plain(value: Any) -> Any:
    """A ``Mapping`` as a ``dict``; anything else as given, so that a wrong type reaches the
    native layer and becomes an ``InvalidArgumentError`` naming the field."""
    if isinstance(value, Mapping) and not isinstance(value, dict):
        return dict(value)
    return value


def _texts(value: Any) -> Any:
    """A sequence of texts as a ``list`` (a ``str`` itself is not one: passed as given)."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes, list, tuple)):
        return list(value)
    return value


def _options(
    timeout_seconds: Any,
    deadline_seconds: Any,
    max_retries: Any,
    max_retry_after_seconds: Any,
    refresh_skew_seconds: Any,
    max_response_bytes: Any,
    proxy_url: Any,
    expected_tenant_id: Any = None,
    expected_environment: Any = None,
) -> dict[str, Any]:
    """The options dict the native layer hands to the core (``None`` texts left out)."""
    opts: dict[str, Any] = {
        "timeout_seconds": timeout_seconds,
        "deadline_seconds": deadline_seconds,
        "max_retries": max_retries,
        "max_retry_after_seconds": max_retry_after_seconds,
        "refresh_skew_seconds": refresh_skew_seconds,
        "max_response_bytes": max_response_bytes,
    }
    for k, v in (("proxy_url", proxy_url), ("expected_tenant_id", expected_tenant_id),
                 ("expected_environment", expected_environment)):
        if v is not None:
            opts[k] = v
    return opts


class HarborClient:
    """Harbor calls bound to the session's tenant (from the Gateway, never the caller)."""

    __slots__ = ("_h",)

    def __init__(self, native: _native.HarborClient) -> None:
        self._h = native

    @property
    def tenant_id(self) -> str:
        """The tenant every call is bound to."""
        return self._h.tenant_id

    @property
    def base_url(self) -> str:
        """Harbor base URL."""
        return self._h.base_url

    def __repr__(self) -> str:
        return f"HarborClient(tenant_id={self.tenant_id!r}, base_url={self.base_url!r})"

    async def verify_capability(
        self,
        *,
        intent_id: str | uuid.UUID,
        token: str,
        operation: str,
        requested_spend_cents: int,
        tool_name: str | None = None,
        tool_call_id: str | None = None,
        idempotency_key: str | None = None,
        currency: str | None = None,
        agent_subject: str | None = None,
        vendor_id: str | None = None,
        task_id: str | None = None,
        workflow_id: str | None = None,
    ) -> VerifyResult:
        """``POST /verify``. Returns Harbor's allow/deny; raises on anything off the wire contract.

        ``requested_spend_cents`` is an exact ``int`` in ``0..=2**53-1`` (``True``, ``1.5``,
        ``"300"`` are refused). Raises :class:`InvalidArgumentError` (naming the field) for a bad
        argument and :class:`TokenIntentMismatchError` for a token visibly bound to another
        intent, both before any request; :class:`HarborHttpError`, :class:`InvalidResponseError`,
        :class:`TenantBindingError`, :class:`TransportError`, :class:`PaybondTimeoutError`
        (within ``deadline_seconds``) or :class:`InternalError` when the call fails.
        """
        d = await self._h.verify_capability(
            _id(intent_id), token, operation, requested_spend_cents, tool_name, tool_call_id,
            idempotency_key, currency, agent_subject, vendor_id, task_id, workflow_id,
        )
        return VerifyResult._from_dict(d)

    def verify_capability_sync(
        self,
        *,
        intent_id: str | uuid.UUID,
        token: str,
        operation: str,
        requested_spend_cents: int,
        tool_name: str | None = None,
        tool_call_id: str | None = None,
        idempotency_key: str | None = None,
        currency: str | None = None,
        agent_subject: str | None = None,
        vendor_id: str | None = None,
        task_id: str | None = None,
        workflow_id: str | None = None,
    ) -> VerifyResult:
        """Blocking :meth:`verify_capability` (releases the GIL; same arguments and errors)."""
        _no_running_loop("verify_capability_sync")
        d = self._h.verify_capability_sync(
            _id(intent_id), token, operation, requested_spend_cents, tool_name, tool_call_id,
            idempotency_key, currency, agent_subject, vendor_id, task_id, workflow_id,
        )
        return VerifyResult._from_dict(d)

    async def submit_evidence(
        self, intent_id: str | uuid.UUID, body: Mapping[str, Any], idempotency_key: str | None = None
    ) -> EvidenceReceipt:
        """``POST /intents/{intent_id}/evidence``. Same key + same body lands once; another body → 409
        (:class:`HarborHttpError`). A body that is not an evidence body is :class:`InvalidArgumentError`."""
        return EvidenceReceipt._from_dict(await self._h.submit_evidence(_id(intent_id), _plain(body), idempotency_key))

    def submit_evidence_sync(
        self, intent_id: str | uuid.UUID, body: Mapping[str, Any], idempotency_key: str | None = None
    ) -> EvidenceReceipt:
        """Blocking :meth:`submit_evidence`."""
        _no_running_loop("submit_evidence_sync")
        return EvidenceReceipt._from_dict(self._h.submit_evidence_sync(_id(intent_id), _plain(body), idempotency_key))

    async def create_intent(
        self, input: Mapping[str, Any], *, principal_signing_seed: str | bytes
    ) -> IntentCreated:
        """Principal-signed ``POST /intents`` for this tenant.

        ``input`` keys: intent_id, principal_did, payee_did, payee_pubkey (std base64), budget,
        currency, amount_cents, evidence_schema, deadline, predicate_dsl, predicate_ref,
        allowed_tools, settlement_rail. The result's ``capability_token`` is never in its ``repr``.
        """
        return IntentCreated._from_dict(await self._h.create_intent(_plain(input), principal_signing_seed))

    def create_intent_sync(
        self, input: Mapping[str, Any], *, principal_signing_seed: str | bytes
    ) -> IntentCreated:
        """Blocking :meth:`create_intent`."""
        _no_running_loop("create_intent_sync")
        return IntentCreated._from_dict(self._h.create_intent_sync(_plain(input), principal_signing_seed))

    async def ledger_tip(self) -> LedgerTip:
        """``GET /ledger/v1/tip``."""
        return LedgerTip._from_dict(await self._h.ledger_tip())

    async def ledger_authority(self) -> LedgerAuthority:
        """``GET /ledger/v1/authority``."""
        return LedgerAuthority._from_dict(await self._h.ledger_authority())

    async def ledger_events(self, after_seq: int | None = None, limit: int | None = None) -> LedgerEventsPage:
        """``GET /ledger/v1/events`` (exclusive cursor; ``limit`` an int in 1..256, default 64)."""
        return LedgerEventsPage._from_dict(await self._h.ledger_events(after_seq, limit))

    async def ledger_merkle_latest(self) -> MerkleLatest:
        """``GET /ledger/v1/merkle/latest``."""
        return MerkleLatest._from_dict(await self._h.ledger_merkle_latest())

    def ledger_tip_sync(self) -> LedgerTip:
        """Blocking :meth:`ledger_tip`."""
        _no_running_loop("ledger_tip_sync")
        return LedgerTip._from_dict(self._h.ledger_tip(blocking=True))

    def ledger_authority_sync(self) -> LedgerAuthority:
        """Blocking :meth:`ledger_authority`."""
        _no_running_loop("ledger_authority_sync")
        return LedgerAuthority._from_dict(self._h.ledger_authority(blocking=True))

    def ledger_merkle_latest_sync(self) -> MerkleLatest:
        """Blocking :meth:`ledger_merkle_latest`."""
        _no_running_loop("ledger_merkle_latest_sync")
        return MerkleLatest._from_dict(self._h.ledger_merkle_latest(blocking=True))

    def ledger_events_sync(self, after_seq: int | None = None, limit: int | None = None) -> LedgerEventsPage:
        """Blocking :meth:`ledger_events`."""
        _no_running_loop("ledger_events_sync")
        return LedgerEventsPage._from_dict(self._h.ledger_events_sync(after_seq, limit))


class GatewayHarborTokenProvider:
    """Exchanges a service-account API key for Harbor JWTs; cached in memory, refreshed before
    expiry, single-flight (N concurrent callers → one exchange).

    Takes the session options of this module (``timeout_seconds``, ``deadline_seconds``, ...)."""

    __slots__ = ("_p",)

    def __init__(
        self,
        *,
        gateway_base_url: str,
        api_key: str,
        timeout_seconds: float = 10.0,
        deadline_seconds: float = 30.0,
        max_retries: int = 3,
        max_retry_after_seconds: float = 30.0,
        refresh_skew_seconds: float = 90.0,
        max_response_bytes: int = 1048576,
        proxy_url: str | None = None,
        _native_provider: _native.TokenProvider | None = None,
    ) -> None:
        """Raises :class:`InvalidArgumentError` for a bad option and :class:`InsecureUrlError`
        for a refused URL (no request is made here)."""
        self._p = _native_provider or _native.TokenProvider(
            gateway_base_url, api_key,
            _options(timeout_seconds, deadline_seconds, max_retries, max_retry_after_seconds,
                     refresh_skew_seconds, max_response_bytes, proxy_url),
        )

    @property
    def tenant_id(self) -> str | None:
        """The tenant the Gateway bound the key to (after the first exchange)."""
        return self._p.tenant_id

    @property
    def exchange_count(self) -> int:
        """How many exchanges this provider made."""
        return self._p.exchange_count

    async def bearer(self) -> str:
        """A fresh Harbor JWT (a secret: do not log it). Raises :class:`GatewayAuthError` when the
        exchange is refused or garbled."""
        return await self._p.bearer()

    def bearer_sync(self) -> str:
        """Blocking :meth:`bearer`."""
        _no_running_loop("bearer_sync")
        return self._p.bearer_sync()

    async def force_rotate(self) -> None:
        """Mint a new JWT now with the same key."""
        await self._p.force_rotate()

    def force_rotate_sync(self) -> None:
        """Blocking :meth:`force_rotate`."""
        _no_running_loop("force_rotate_sync")
        self._p.force_rotate_sync()

    def __repr__(self) -> str:
        return f"GatewayHarborTokenProvider(tenant_id={self.tenant_id!r}, exchanges={self.exchange_count})"


class ServiceAccountHarborSession:
    """A Harbor session opened from one API key; the tenant comes from the Gateway.

    Use ``async with await ServiceAccountHarborSession.open(...) as s`` or call
    :meth:`aclose`. For credential rotation: open a new session, then close the
    old one (closing lets in-flight calls finish and refuses new ones).
    The options are described in this module's docstring.
    """

    __slots__ = ("_s", "harbor", "token_provider")

    def __init__(self, native: _native.HarborSession) -> None:
        self._s = native
        self.harbor = HarborClient(native.harbor())
        self.token_provider = GatewayHarborTokenProvider(
            gateway_base_url="", api_key="", _native_provider=native.token_provider()
        )

    @classmethod
    async def open(
        cls,
        *,
        gateway_base_url: str,
        api_key: str,
        harbor_base_url: str,
        timeout_seconds: float = 10.0,
        deadline_seconds: float = 30.0,
        max_retries: int = 3,
        max_retry_after_seconds: float = 30.0,
        refresh_skew_seconds: float = 90.0,
        max_response_bytes: int = 1048576,
        proxy_url: str | None = None,
        expected_tenant_id: str | None = None,
    ) -> ServiceAccountHarborSession:
        """Validate URLs and options, exchange the key once, bind to the tenant the Gateway names.

        Raises :class:`InvalidArgumentError` (a bad argument or option, naming it) or
        :class:`InsecureUrlError` before any request; :class:`GatewayAuthError` when the Gateway
        refuses or garbles the exchange (a redirect included); :class:`TenantBindingError` when
        ``expected_tenant_id`` (which never overrides the Gateway) differs;
        :class:`TransportError` / :class:`PaybondTimeoutError` / :class:`InternalError`.
        """
        native = await _native.HarborSession.open(
            gateway_base_url, api_key, harbor_base_url,
            _options(timeout_seconds, deadline_seconds, max_retries, max_retry_after_seconds,
                     refresh_skew_seconds, max_response_bytes, proxy_url, expected_tenant_id),
        )
        return cls(native)

    @classmethod
    def open_sync(
        cls,
        *,
        gateway_base_url: str,
        api_key: str,
        harbor_base_url: str,
        timeout_seconds: float = 10.0,
        deadline_seconds: float = 30.0,
        max_retries: int = 3,
        max_retry_after_seconds: float = 30.0,
        refresh_skew_seconds: float = 90.0,
        max_response_bytes: int = 1048576,
        proxy_url: str | None = None,
        expected_tenant_id: str | None = None,
    ) -> ServiceAccountHarborSession:
        """Blocking :meth:`open`, for non-async apps (same arguments and errors)."""
        _no_running_loop("open_sync")
        return cls(
            _native.HarborSession.open_sync(
                gateway_base_url, api_key, harbor_base_url,
                _options(timeout_seconds, deadline_seconds, max_retries, max_retry_after_seconds,
                         refresh_skew_seconds, max_response_bytes, proxy_url, expected_tenant_id),
            )
        )

    @property
    def tenant_id(self) -> str:
        """The tenant the Gateway bound the key to."""
        return self._s.tenant_id

    @property
    def closed(self) -> bool:
        """Whether the session was closed."""
        return self._s.closed

    async def rotate_harbor_token(self) -> None:
        """Mint a fresh Harbor JWT now."""
        await self._s.rotate_harbor_token()

    def rotate_harbor_token_sync(self) -> None:
        """Blocking :meth:`rotate_harbor_token`."""
        _no_running_loop("rotate_harbor_token_sync")
        self._s.rotate_harbor_token_sync()

    async def aclose(self) -> None:
        """Refuse new calls, wait for in-flight ones."""
        await self._s.close()

    def close(self) -> None:
        """Blocking :meth:`aclose`."""
        _no_running_loop("close")
        self._s.close_sync()

    async def __aenter__(self) -> ServiceAccountHarborSession:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __enter__(self) -> ServiceAccountHarborSession:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ServiceAccountHarborSession(tenant_id={self.tenant_id!r}, closed={self.closed})"


class GatewaySignalClient:
    """Signal reads bound to one tenant: typed, echo-checked, receipt signatures verified."""

    __slots__ = ("_s",)

    def __init__(self, native: _native.SignalSession) -> None:
        self._s = native

    @property
    def tenant_id(self) -> str:
        """The tenant reads are bound to."""
        return self._s.tenant_id

    async def reputation_receipt(self, operator_did: str, score_version: str | None = None) -> ReputationReceiptEnvelope | None:
        """The operator's signed receipt; ``None`` when Signal has none (404).

        The signature is always checked: a receipt without a valid signature (or without one at
        all) raises :class:`SignatureInvalidError`. ``signature_checked_with`` says against which
        key: ``"pinned_key"`` (the session's ``trusted_signing_key_hex``: proves Signal signed it)
        or ``"embedded_key"`` (the key the receipt names: integrity only).
        """
        d = await self._s.reputation_receipt(operator_did, score_version)
        return None if d is None else ReputationReceiptEnvelope._from_dict(d)

    async def portfolio_summary(self, score_version: str | None = None) -> PortfolioSummary:
        """The tenant's portfolio (404 raises :class:`SignalHttpError`)."""
        return PortfolioSummary._from_dict(await self._s.portfolio_summary(score_version))

    async def operator_explanation(self, operator_did: str, score_version: str | None = None) -> OperatorExplanation | None:
        """Why the operator has its score; ``None`` on 404."""
        d = await self._s.operator_explanation(operator_did, score_version)
        return None if d is None else OperatorExplanation._from_dict(d)

    async def operator_review_status(self, operator_did: str, score_version: str | None = None) -> OperatorReviewStatus | None:
        """Maturity tier, shadow risk and annotations, friction and trust policy; ``None`` on 404."""
        d = await self._s.operator_review_status(operator_did, score_version)
        return None if d is None else OperatorReviewStatus._from_dict(d)

    def reputation_receipt_sync(self, operator_did: str, score_version: str | None = None) -> ReputationReceiptEnvelope | None:
        """Blocking :meth:`reputation_receipt`."""
        _no_running_loop("reputation_receipt_sync")
        d = self._s.reputation_receipt(operator_did, score_version, blocking=True)
        return None if d is None else ReputationReceiptEnvelope._from_dict(d)

    def portfolio_summary_sync(self, score_version: str | None = None) -> PortfolioSummary:
        """Blocking :meth:`portfolio_summary`."""
        _no_running_loop("portfolio_summary_sync")
        return PortfolioSummary._from_dict(self._s.portfolio_summary(score_version, blocking=True))

    def operator_explanation_sync(self, operator_did: str, score_version: str | None = None) -> OperatorExplanation | None:
        """Blocking :meth:`operator_explanation`."""
        _no_running_loop("operator_explanation_sync")
        d = self._s.operator_explanation(operator_did, score_version, blocking=True)
        return None if d is None else OperatorExplanation._from_dict(d)

    def operator_review_status_sync(self, operator_did: str, score_version: str | None = None) -> OperatorReviewStatus | None:
        """Blocking :meth:`operator_review_status`."""
        _no_running_loop("operator_review_status_sync")
        d = self._s.operator_review_status(operator_did, score_version, blocking=True)
        return None if d is None else OperatorReviewStatus._from_dict(d)

    def __repr__(self) -> str:
        return f"GatewaySignalClient(tenant_id={self.tenant_id!r})"


class ServiceAccountSignalSession:
    """A Signal session; the tenant comes from ``GET /v1/auth/principal``.

    ``trusted_signing_key_hex`` pins the key that signs reputation receipts (64 hex digits):
    without it a receipt is checked against the key it names itself, which proves integrity but
    not who signed. Pin the Signal receipt key your Paybond environment publishes (for the dev
    server: ``LocalHarbor.signal_public_key_hex``). The options are described in this module's
    docstring.
    """

    __slots__ = ("_s", "signal")

    def __init__(self, native: _native.SignalSession) -> None:
        self._s = native
        self.signal = GatewaySignalClient(native)

    @classmethod
    async def open(
        cls,
        *,
        gateway_base_url: str,
        api_key: str,
        timeout_seconds: float = 10.0,
        deadline_seconds: float = 30.0,
        max_retries: int = 3,
        max_retry_after_seconds: float = 30.0,
        refresh_skew_seconds: float = 90.0,
        max_response_bytes: int = 1048576,
        proxy_url: str | None = None,
        expected_environment: str | None = None,
        expected_tenant_id: str | None = None,
        trusted_signing_key_hex: str | None = None,
    ) -> ServiceAccountSignalSession:
        """Look up the key's principal and bind Signal reads to its tenant.

        Raises :class:`InvalidArgumentError` (a bad argument or option, naming it; a
        ``trusted_signing_key_hex`` that is not an Ed25519 key) or :class:`InsecureUrlError`;
        :class:`GatewayAuthError` when the principal lookup is refused or garbled, or names
        another ``expected_environment``; :class:`TenantBindingError` when it names another
        ``expected_tenant_id``; :class:`TransportError` / :class:`PaybondTimeoutError` /
        :class:`InternalError`.
        """
        return cls(
            await _native.SignalSession.open(
                gateway_base_url, api_key,
                _options(timeout_seconds, deadline_seconds, max_retries, max_retry_after_seconds,
                         refresh_skew_seconds, max_response_bytes, proxy_url, expected_tenant_id,
                         expected_environment),
                trusted_signing_key_hex,
            )
        )

    @classmethod
    def open_sync(
        cls,
        *,
        gateway_base_url: str,
        api_key: str,
        timeout_seconds: float = 10.0,
        deadline_seconds: float = 30.0,
        max_retries: int = 3,
        max_retry_after_seconds: float = 30.0,
        refresh_skew_seconds: float = 90.0,
        max_response_bytes: int = 1048576,
        proxy_url: str | None = None,
        expected_environment: str | None = None,
        expected_tenant_id: str | None = None,
        trusted_signing_key_hex: str | None = None,
    ) -> ServiceAccountSignalSession:
        """Blocking :meth:`open` (same arguments and errors)."""
        _no_running_loop("open_sync")
        return cls(
            _native.SignalSession.open_sync(
                gateway_base_url, api_key,
                _options(timeout_seconds, deadline_seconds, max_retries, max_retry_after_seconds,
                         refresh_skew_seconds, max_response_bytes, proxy_url, expected_tenant_id,
                         expected_environment),
                trusted_signing_key_hex,
            )
        )

    @property
    def tenant_id(self) -> str:
        """The tenant the Gateway bound the key to."""
        return self._s.tenant_id

    @property
    def principal(self) -> Principal:
        """Who the key is."""
        return Principal._from_dict(self._s.principal())

    async def aclose(self) -> None:
        """Refuse new calls, wait for in-flight ones."""
        await self._s.close()

    def close(self) -> None:
        """Blocking :meth:`aclose`."""
        _no_running_loop("close")
        self._s.close_sync()

    async def __aenter__(self) -> ServiceAccountSignalSession:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"ServiceAccountSignalSession(tenant_id={self.tenant_id!r})"


class CapabilityBinding:
    """One intent and its capability token, bound to a Harbor client: what adapters guard with.

    ``payee_did`` + ``payee_signing_seed`` (64 hex digits or 32 bytes) enable evidence:
    after an allowed call the tool's result can be signed and submitted as payee evidence,
    exactly once per tool call. ``operations`` maps tool names to Harbor operations.

    Raises :class:`InvalidArgumentError` (naming the argument: ``harbor``, ``intent_id``,
    ``capability_token``, ``payee_signing_seed``, ...) or :class:`TokenIntentMismatchError`
    (the token is bound to another intent or tenant).
    """

    __slots__ = ("harbor", "_g")

    def __init__(
        self,
        harbor: HarborClient,
        intent_id: str | uuid.UUID,
        capability_token: str,
        *,
        operations: Mapping[str, str] | None = None,
        payee_did: str | None = None,
        payee_signing_seed: str | bytes | None = None,
        evidence_version: int = 2,
        currency: str | None = None,
        agent_subject: str | None = None,
        workflow_id: str | None = None,
    ) -> None:
        if not isinstance(harbor, HarborClient):
            raise _invalid_argument("harbor", f"expected a HarborClient (session.harbor), got {type(harbor).__name__}")
        self.harbor = harbor
        self._g = _native.ToolGuard(
            harbor._h, _id(intent_id), capability_token, _plain(operations), payee_did,
            payee_signing_seed, evidence_version, currency, agent_subject, workflow_id,
        )

    @property
    def intent_id(self) -> str:
        """The intent this binding spends from."""
        return self._g.intent_id

    @property
    def tenant_id(self) -> str:
        """The tenant of the Harbor client."""
        return self._g.tenant_id

    async def authorize(self, tool_name: str, call_id: str, args: Any = None, *, requested_spend_cents: int = 0) -> Decision:
        """Ask Harbor whether this call may run. Never raises for a failed verify: it is a deny
        (a caught panic included: code ``internal``). A bad argument (``requested_spend_cents``
        not an exact ``int`` in ``0..=2**53-1``, a non-``str`` name or id, ``args`` that are not
        JSON data) raises :class:`InvalidArgumentError` before any request."""
        return Decision._from_dict(await self._g.authorize(tool_name, call_id, args, requested_spend_cents))

    def authorize_sync(self, tool_name: str, call_id: str, args: Any = None, *, requested_spend_cents: int = 0) -> Decision:
        """Blocking :meth:`authorize` (releases the GIL; for sync graphs and worker threads)."""
        _no_running_loop("authorize_sync")
        return Decision._from_dict(self._g.authorize_sync(tool_name, call_id, args, requested_spend_cents))

    async def finish(self, call_id: str, *, succeeded: bool) -> dict[str, Any] | None:
        """End an allowed call after its tool ran: ``succeeded=True`` consumes the reserved
        spend, ``False`` (the tool raised, its arguments failed validation, it was cancelled,
        or the framework produced an error result) releases it. The call id is then spent:
        authorizing it again is a deny ``call_replayed``.

        Returns Harbor's answer (``remaining_cents`` after the completion), or ``None`` when
        the call had no allow or this Harbor has no completion route (logged once; the
        reservation then stays until Harbor's hold period ends). Raises a
        :class:`PaybondError` when the completion request fails.
        """
        out: dict[str, Any] | None = await self._g.finish(call_id, succeeded)
        return out

    def finish_sync(self, call_id: str, *, succeeded: bool) -> dict[str, Any] | None:
        """Blocking :meth:`finish`."""
        _no_running_loop("finish_sync")
        out: dict[str, Any] | None = self._g.finish_sync(call_id, succeeded)
        return out

    def _finish_later(self, call_id: str) -> None:
        """For adapters: :meth:`finish` a call that succeeded without waiting for Harbor's
        answer (the reservation already holds its budget). Counted until it ends:
        :meth:`settle` waits for it, so does closing the session and the interpreter's exit."""
        self._g.finish_later(call_id, True)

    async def settle(self) -> None:
        """Wait until every spend completion this process sent in the background has ended.

        The agent adapters (LangGraph / LangChain, OpenAI Agents) send the ``consumed``
        completion of a successful call in the background, so the run goes on without a
        second round trip; the reservation made at verify already holds the budget. Read
        Harbor's completion counters after ``await binding.settle()`` (``LocalHarbor`` reads,
        ``aclose()`` / ``close()`` of the session and interpreter exit settle by themselves).
        Each completion is bounded by the session's ``deadline_seconds``; a failed one is logged.
        """
        await _native.settle()

    def settle_sync(self) -> None:
        """Blocking :meth:`settle`."""
        _native.settle_sync()

    def _claim(self, call_id: str) -> bool:
        """For adapters: claim an allowed call for one run of its tool body, right before it
        starts. ``False`` (no allow, already ran, or running now): the body must not run."""
        return bool(self._g.claim(call_id))

    def _unclaim(self, call_id: str) -> None:
        """For adapters: give a claim back when the framework suspended the run inside the tool."""
        self._g.unclaim(call_id)

    async def decide_approval(
        self, approval_request_id: str, decision: Literal["approve", "reject"], *, reason: str | None = None
    ) -> dict[str, Any]:
        """Record a reviewer's decision on the approval request of a call that got
        ``Decision(decision="approval_required")``.

        Args:
            approval_request_id: ``decision.approval_request_id``.
            decision: ``"approve"`` or ``"reject"``.
            reason: optional text; on a reject the model reads it in the deny message.

        Returns Harbor's answer (``{"approval_request_id", "status", "reason"}``; the tenant echo is checked).
        Authorize the same call (same call id and arguments) again afterwards: an approved
        call is allowed once, with one reservation. Raises :class:`InvalidArgumentError` for a
        bad id or decision, :class:`HarborHttpError` (409) when the request was already decided
        the other way, and the other :class:`PaybondError` classes when the request fails.
        Harbor decides who may review; the dev server accepts this session's credentials.
        """
        out: dict[str, Any] = await self._g.decide_approval(approval_request_id, _approve(decision), reason)
        return out

    def decide_approval_sync(
        self, approval_request_id: str, decision: Literal["approve", "reject"], *, reason: str | None = None
    ) -> dict[str, Any]:
        """Blocking :meth:`decide_approval`."""
        _no_running_loop("decide_approval_sync")
        out: dict[str, Any] = self._g.decide_approval_sync(approval_request_id, _approve(decision), reason)
        return out

    async def submit_evidence(self, tool_name: str, call_id: str, payload: Mapping[str, Any]) -> EvidenceReceipt:
        """Sign ``payload`` as the payee for this call and submit it (idempotent per call id).

        The same payload again replays the first submission. Raises
        :class:`EvidenceConflictError` for a different payload under a call id that already has
        evidence, :class:`InvalidArgumentError` for an empty ``call_id`` or a binding without a
        payee signer.
        """
        return EvidenceReceipt._from_dict(await self._g.submit_evidence(tool_name, call_id, _plain(payload)))

    def submit_evidence_sync(self, tool_name: str, call_id: str, payload: Mapping[str, Any]) -> EvidenceReceipt:
        """Blocking :meth:`submit_evidence`."""
        _no_running_loop("submit_evidence_sync")
        return EvidenceReceipt._from_dict(self._g.submit_evidence_sync(tool_name, call_id, _plain(payload)))

    def attenuate(
        self,
        *,
        tools: Sequence[str] | None = None,
        max_spend_per_call_cents: int | None = None,
        expires_in_seconds: int | None = None,
        max_calls: int | None = None,
    ) -> CapabilityBinding:
        """A narrower binding for a sub-agent, computed offline (no request).

        The new binding spends from the same intent through the same Harbor client, with the
        same ``operations``, evidence signer and audit fields; its capability token is this
        binding's token plus one appended Biscuit block whose checks only narrow. Harbor
        enforces every block on each verify, so nothing the sub-agent (or anyone holding its
        token) appends can widen it again. Spend under the child counts against this intent.

        Args:
            tools: tool names the sub-agent may call (mapped through ``operations``); each must
                be allowed by this binding's token. ``None`` keeps this binding's tools.
            max_spend_per_call_cents: the most one call may spend, an exact ``int`` in
                ``0..=2**53-1``, at most this token's per-call cap.
            expires_in_seconds: the child expires this many seconds from now (an ``int`` in
                ``1..=31536000``), not after this token.
            max_calls: how many calls Harbor allows under the child's block (an ``int`` in
                ``1..=1000000``), counted by Harbor across every copy of the child token; at
                most this token's own ``max_calls``. A call counts when Harbor allows it (a
                resumed call with the same call id counts once).

        Returns a new :class:`CapabilityBinding`; this one is unchanged.

        Raises :class:`InvalidArgumentError` naming the field (``tools``,
        ``max_spend_per_call_cents``, ``expires_in_seconds``, ``max_calls``) for a bad value or one
        that asks for more than this token allows (a tool it does not allow, a higher cap, a
        later expiry, more calls), and ``capability_token`` when the token is not a readable
        Biscuit token.
        """
        child = object.__new__(CapabilityBinding)
        child.harbor = self.harbor
        child._g = self._g.attenuate(_texts(tools), max_spend_per_call_cents, expires_in_seconds, max_calls)
        return child

    def __repr__(self) -> str:
        return f"CapabilityBinding(tenant_id={self.tenant_id!r}, intent_id={self.intent_id!r})"


def _approve(decision: Any) -> bool:
    if decision == "approve" and isinstance(decision, str):
        return True
    if decision == "reject" and isinstance(decision, str):
        return False
    raise _invalid_argument("decision", f'expected "approve" or "reject", got {decision!r}')


def sign_payee_evidence_binding(
    *,
    tenant_id: str,
    intent_id: str | uuid.UUID,
    payee_did: str,
    payload: Any,
    artifacts_blake3_hex: Sequence[str] = (),
    submitted_at_rfc3339: str,
    payee_signing_seed: str | bytes,
    version: int = 2,
) -> dict[str, Any]:
    """Sign an evidence binding as the payee (``EvidenceSignV1``; version 2, or 1 for legacy Harbors).

    ``payee_signing_seed`` is the 32-byte Ed25519 seed (bytes, or 64 hex digits). The payload
    digest is taken from the payload as Harbor reads it off the wire, so float-bearing payloads
    verify. Raises :class:`InvalidArgumentError` naming the argument.

    Returns the request body: ``payload, artifacts, payee_did, payee_pubkey, payee_signature,
    submitted_at``. Use :func:`sign_payee_evidence` for the exact signed bytes too.
    """
    d = _native.sign_payee_evidence_binding(
        tenant_id, _id(intent_id), payee_did, _plain(payload), _texts(artifacts_blake3_hex), submitted_at_rfc3339,
        payee_signing_seed, version,
    )
    body: dict[str, Any] = d["body"]
    return body


def sign_payee_evidence(
    *,
    tenant_id: str,
    intent_id: str | uuid.UUID,
    payee_did: str,
    payload: Any,
    artifacts_blake3_hex: Sequence[str] = (),
    submitted_at_rfc3339: str,
    payee_signing_seed: str | bytes,
    version: int = 2,
) -> SignedEvidence:
    """Like :func:`sign_payee_evidence_binding`, also returning the exact signed bytes."""
    d = _native.sign_payee_evidence_binding(
        tenant_id, _id(intent_id), payee_did, _plain(payload), _texts(artifacts_blake3_hex), submitted_at_rfc3339,
        payee_signing_seed, version,
    )
    return SignedEvidence(sign_bytes=d["sign_bytes"], body=d["body"])


def json_value_digest(value: Any) -> bytes:
    """BLAKE3-256 of the canonical JSON of ``value`` (keys sorted by UTF-8 bytes)."""
    return _native.json_value_digest(_plain(value))


def artifacts_digest(artifacts_blake3_hex: Sequence[str]) -> bytes:
    """BLAKE3 of the concatenated raw artifact digests."""
    return _native.artifacts_digest(_texts(artifacts_blake3_hex))


def sign_intent_creation(input: Mapping[str, Any], *, principal_signing_seed: str | bytes) -> dict[str, Any]:
    """The principal-signed ``POST /intents`` body (``IntentCreationSign`` v6) for ``input``.

    ``input`` uses the wire names and includes ``tenant_id`` (signed, not sent) and ``payee_pubkey``
    (standard base64). :meth:`HarborClient.create_intent` does this for the session's tenant.
    Raises :class:`InvalidArgumentError` naming the field.
    """
    body: dict[str, Any] = _native.sign_intent_creation(_plain(input), principal_signing_seed)
    return body
