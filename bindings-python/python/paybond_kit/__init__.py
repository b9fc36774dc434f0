"""Paybond Kit: a paid or side-effecting tool cannot run unless Paybond Harbor verified it.

Quick start::

    from paybond_kit import ServiceAccountHarborSession, CapabilityBinding

    async with await ServiceAccountHarborSession.open(
        gateway_base_url=..., api_key=..., harbor_base_url=...
    ) as session:
        binding = CapabilityBinding(session.harbor, intent_id, capability_token)
        decision = await binding.authorize("book_hotel", call_id, args, requested_spend_cents=300)
        if decision.allowed:
            ...

Framework adapters live in :mod:`paybond_kit.langgraph` and :mod:`paybond_kit.openai_agents`
(optional extras); :mod:`paybond_kit.testing` starts a local dev server. Importing this package
never imports a framework.
"""

from __future__ import annotations

import logging as _logging

from . import _native
from .client import (
    CapabilityBinding,
    GatewayHarborTokenProvider,
    GatewaySignalClient,
    HarborClient,
    ServiceAccountHarborSession,
    ServiceAccountSignalSession,
    artifacts_digest,
    json_value_digest,
    sign_intent_creation,
    sign_payee_evidence,
    sign_payee_evidence_binding,
)
from .errors import (
    EvidenceConflictError,
    GatewayAuthError,
    HarborHttpError,
    InsecureUrlError,
    InternalError,
    InvalidArgumentError,
    InvalidResponseError,
    PaybondDeniedError,
    PaybondError,
    PaybondTimeoutError,
    SessionClosedError,
    SignalHttpError,
    SignatureInvalidError,
    SigningError,
    TenantBindingError,
    TokenIntentMismatchError,
    TransportError,
    UnguardedToolError,
)
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
    ReputationReceipt,
    ReputationReceiptEnvelope,
    SignedEvidence,
    VerifyResult,
)

__version__: str = _native.__version__

__all__ = [
    "__version__",
    "ServiceAccountHarborSession",
    "HarborClient",
    "GatewayHarborTokenProvider",
    "ServiceAccountSignalSession",
    "GatewaySignalClient",
    "CapabilityBinding",
    "sign_payee_evidence_binding",
    "sign_payee_evidence",
    "sign_intent_creation",
    "json_value_digest",
    "artifacts_digest",
    "set_log_level",
    "Decision",
    "VerifyResult",
    "EvidenceReceipt",
    "IntentCreated",
    "LedgerTip",
    "LedgerAuthority",
    "LedgerEventsPage",
    "MerkleLatest",
    "SignedEvidence",
    "Principal",
    "ReputationReceipt",
    "ReputationReceiptEnvelope",
    "PortfolioSummary",
    "OperatorExplanation",
    "OperatorReviewStatus",
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

logger = _logging.getLogger("paybond_kit")


def set_log_level(level: int | None = None) -> None:
    """Forward the Rust core's events (redacted) to the ``paybond_kit`` logger.

    ``level`` is a :mod:`logging` level; ``None`` uses the logger's effective level.
    Forwarding is decided once here, so call it after configuring logging.
    """
    _native.set_log_level(logger.getEffectiveLevel() if level is None else level)


# Warnings and errors always reach logging; DEBUG/INFO when the app enabled them before import
# (or later through set_log_level()).
set_log_level()
