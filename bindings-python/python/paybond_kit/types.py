"""Typed, frozen results. ``repr`` never shows a secret."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Mapping, TypeVar

__all__ = [
    "VerifyResult",
    "Decision",
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
    "PortfolioOperator",
    "PortfolioSummary",
    "OperatorExplanation",
    "MaturityTier",
    "ShadowRisk",
    "ShadowAnnotation",
    "Friction",
    "TrustPolicy",
    "OperatorReviewStatus",
    "DevIntent",
]

T = TypeVar("T", bound="_Model")


class _Model:
    """Builds a frozen dataclass from a wire dict; unknown keys go to ``extra``."""

    __slots__ = ()

    _nested: ClassVar[Mapping[str, type[_Model]]] = {}
    _nested_lists: ClassVar[Mapping[str, type[_Model]]] = {}

    @classmethod
    def _from_dict(cls: type[T], d: Mapping[str, Any]) -> T:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for k, v in d.items():
            if k in cls._nested and isinstance(v, Mapping):
                v = cls._nested[k]._from_dict(v)
            elif k in cls._nested_lists and isinstance(v, list):
                v = tuple(cls._nested_lists[k]._from_dict(x) for x in v)
            elif isinstance(v, list):
                v = tuple(v)
            if k in names and k != "extra":
                kwargs[k] = v
            else:
                extra[k] = v
        if "extra" in names:
            kwargs["extra"] = extra
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class VerifyResult(_Model):
    """Harbor's ``POST /verify`` answer, checked against the wire contract."""

    allow: bool
    audit_id: str
    tenant: str
    intent_id: str
    code: str | None = None
    message: str | None = None
    decision_id: str | None = None
    remaining_cents: int | None = None
    reason_codes: tuple[str, ...] = ()
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Decision(_Model):
    """The guard's answer for one tool call. Only ``allowed`` lets the tool run.

    ``code`` is stable (``harbor_denied``, ``transport_error``, ``timeout``,
    ``http_error``, ``invalid_response``, ``tenant_mismatch``, ``gateway_auth``,
    ``token_intent_mismatch``, ``session_closed``, ``invalid_argument``,
    ``internal`` (a caught panic), ...); ``reason`` is Harbor's own code when
    Harbor denied (e.g. ``budget_exceeded``).

    ``decision`` is ``"allow"``, ``"deny"`` or ``"approval_required"``: Harbor wants a
    reviewer's approval first (``approval_request_id`` names the request; the tool does not
    run now). The framework adapters turn it into their own pause/resume.
    """

    decision: str
    audit_id: str | None = None
    decision_id: str | None = None
    remaining_cents: int | None = None
    code: str | None = None
    reason: str | None = None
    message: str | None = None
    approval_request_id: str | None = None

    @property
    def allowed(self) -> bool:
        """Whether the tool may run."""
        return self.decision == "allow"

    @property
    def approval_required(self) -> bool:
        """Whether Harbor waits for a reviewer's decision on this call."""
        return self.decision == "approval_required"

    def describe(self, tool_name: str) -> str:
        """``"Paybond denied <tool>: <code>: <message>"`` (or an allow line)."""
        if self.allowed:
            return f"Paybond allowed {tool_name}"
        if self.approval_required:
            return (f"Paybond denied {tool_name}: approval_required: {self.message} "
                    f"(approval request {self.approval_request_id})")
        return f"Paybond denied {tool_name}: {self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class EvidenceReceipt(_Model):
    """Harbor's answer to an evidence submission."""

    tenant: str
    intent_id: str
    state: str | None = None
    predicate_passed: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IntentCreated(_Model):
    """Harbor's answer to ``POST /intents``.

    ``capability_token`` is the token Harbor minted for the new intent (a secret: never in
    ``repr``; ``None`` when Harbor returned none).
    """

    tenant: str
    intent_id: str
    state: str | None = None
    capability_token: str | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class LedgerTip(_Model):
    """``GET /ledger/v1/tip``."""

    schema_version: int
    tenant_id: str
    seq: int
    entry_commitment_hex: str | None
    empty: bool


@dataclass(frozen=True, slots=True)
class LedgerAuthority(_Model):
    """``GET /ledger/v1/authority``."""

    tenant_id: str
    verifying_key_hex: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LedgerEventsPage(_Model):
    """``GET /ledger/v1/events``: ``next_after_seq`` is ``None`` at the end."""

    schema_version: int
    tenant_id: str
    entries: tuple[Mapping[str, Any], ...]
    next_after_seq: int | None


@dataclass(frozen=True, slots=True)
class MerkleLatest(_Model):
    """``GET /ledger/v1/merkle/latest``."""

    tenant_id: str
    checkpoint: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class SignedEvidence:
    """A payee-signed evidence binding: the exact signed bytes and the request body."""

    sign_bytes: bytes
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Principal(_Model):
    """``GET /v1/auth/principal``."""

    tenant_id: str
    environment: str
    tenant_uuid: str | None = None
    service_account_role: str | None = None
    subject: str | None = None
    roles: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReputationReceipt(_Model):
    """A signed reputation receipt (the signature was verified before you see it)."""

    tenant_id: str
    operator_did: str
    score_version: str
    scoring_model: str
    score: int
    metrics: Mapping[str, Any]
    ledger_watermark_seq: int
    confidence: float | None = None
    support_depth: Any = None
    review_state: str | None = None
    reason_codes: tuple[str, ...] = ()
    signing_algorithm: str | None = None
    message_digest_hex: str | None = None
    signing_public_key_hex: str | None = None
    signature_hex: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReputationReceiptEnvelope(_Model):
    """``GET /reputation/{did}``.

    ``signature_checked_with`` says which key the receipt's signature verified against:
    ``"pinned_key"`` (the session's ``trusted_signing_key_hex``: Signal signed it) or
    ``"embedded_key"`` (the key the receipt names itself: integrity only, not who signed).
    An unsigned or badly signed receipt never gets here: it is :class:`SignatureInvalidError`.
    """

    _nested: ClassVar[Mapping[str, type[_Model]]] = {"receipt": ReputationReceipt}
    schema_version: int
    updated_at: str
    receipt: ReputationReceipt
    signature_checked_with: Literal["pinned_key", "embedded_key"] = "embedded_key"
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PortfolioOperator(_Model):
    """One operator of a portfolio summary."""

    operator_did: str
    score: int
    maturity_band: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PortfolioSummary(_Model):
    """``GET /signal/v1/portfolio/summary``."""

    _nested_lists: ClassVar[Mapping[str, type[_Model]]] = {"operators": PortfolioOperator}
    tenant_id: str
    score_version: str
    operators: tuple[PortfolioOperator, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OperatorExplanation(_Model):
    """``GET /signal/v1/operators/{did}/explanation``."""

    tenant_id: str
    operator_did: str
    score_version: str
    score: int
    factors: tuple[Mapping[str, Any], ...] = ()
    summary: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MaturityTier(_Model):
    """Maturity tier of an operator."""

    band: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShadowRisk(_Model):
    """Shadow risk of an operator."""

    level: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShadowAnnotation(_Model):
    """An active shadow annotation."""

    kind: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Friction(_Model):
    """Replays and appeals, and whether they are throttled."""

    band: str
    replay_count_7d: int
    appeal_count_30d: int
    replay_throttled: bool
    appeal_throttled: bool
    next_appeal_eligible_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrustPolicy(_Model):
    """What a relying party may do on this operator's score."""

    decision_band: str
    auto_reliance_allowed: bool
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OperatorReviewStatus(_Model):
    """``GET /signal/v1/operators/{did}/review-status`` (``score_version`` stays ``"1.0"``)."""

    _nested: ClassVar[Mapping[str, type[_Model]]] = {
        "maturity_tier": MaturityTier,
        "shadow_risk": ShadowRisk,
        "friction": Friction,
        "trust_policy": TrustPolicy,
    }
    _nested_lists: ClassVar[Mapping[str, type[_Model]]] = {"active_annotations": ShadowAnnotation}
    tenant_id: str
    operator_did: str
    score_version: str
    maturity_tier: MaturityTier
    shadow_risk: ShadowRisk
    friction: Friction
    trust_policy: TrustPolicy
    active_annotations: tuple[ShadowAnnotation, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DevIntent(_Model):
    """A funded intent on the dev server. Token and seed are hidden from ``repr``."""

    intent_id: str
    capability_token: str = field(repr=False)
    tenant_id: str
    payee_did: str
    payee_pubkey: str
    allowed_tools: tuple[str, ...] = ()
    amount_cents: int = 0
    remaining_cents: int = 0
    currency: str = "usd"
    deadline: str = ""
    state: str = ""
    token_expires_at: str = ""
    payee_signing_seed_hex: str | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
