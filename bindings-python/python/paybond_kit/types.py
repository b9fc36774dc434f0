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
    """Harbor's ``POST /verify`` answer, checked against the wire contract.

    Attributes:
        allow: Harbor's verdict, exactly the JSON boolean it sent.
        audit_id: Harbor's audit id for this verify (a UUID).
        tenant: the tenant Harbor answered for (echo-checked against the session's).
        intent_id: the intent Harbor answered for (echo-checked against the request).
        code: Harbor's deny code (``operation_not_allowed``, ``budget_exceeded``, ...), ``None`` on an allow.
        message: Harbor's human-readable reason, when it gave one.
        decision_id: the reservation this allow made (completed by ``CapabilityBinding.finish``).
        remaining_cents: the intent's budget left after this call's reservation.
        reason_codes: every reason code Harbor listed.
        retry_after: seconds after which the same request may be answered differently, when Harbor says.
    """

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

    Attributes:
        decision: ``"allow"``, ``"deny"`` or ``"approval_required"``.
        audit_id: Harbor's audit id, when Harbor answered.
        decision_id: the reservation of an allow (``CapabilityBinding.finish`` completes it).
        remaining_cents: the intent's budget left after this call's reservation.
        code: the stable deny code (see above), ``None`` on an allow.
        reason: Harbor's own code when Harbor denied or wants approval.
        message: human-readable reason (never a secret).
        approval_request_id: the request a reviewer decides, on ``approval_required``.
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
    """Harbor's answer to an evidence submission.

    Attributes:
        tenant: the tenant (echo-checked).
        intent_id: the intent the evidence was recorded for (echo-checked).
        state: the intent's state after it (e.g. ``"completed"``).
        predicate_passed: whether the payload satisfied the intent's predicate.
        extra: any other field of Harbor's answer.
    """

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

    Attributes:
        tenant: the tenant (echo-checked).
        intent_id: the new intent (echo-checked).
        state: its state (e.g. ``"funded"``).
        capability_token: the intent's capability token (a secret).
        extra: any other field of Harbor's answer.
    """

    tenant: str
    intent_id: str
    state: str | None = None
    capability_token: str | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class LedgerTip(_Model):
    """``GET /ledger/v1/tip``: the newest entry of the tenant's ledger.

    Attributes:
        schema_version: the ledger schema version.
        tenant_id: the tenant (echo-checked).
        seq: the sequence number of the newest entry (0 when empty).
        entry_commitment_hex: the newest entry's hash-chain commitment, ``None`` when empty.
        empty: whether the ledger has no entry yet.
    """

    schema_version: int
    tenant_id: str
    seq: int
    entry_commitment_hex: str | None
    empty: bool


@dataclass(frozen=True, slots=True)
class LedgerAuthority(_Model):
    """``GET /ledger/v1/authority``: the key that signs the tenant's ledger.

    Attributes:
        tenant_id: the tenant (echo-checked).
        verifying_key_hex: the Ed25519 verifying key, 64 hex digits.
        extra: any other field of the answer.
    """

    tenant_id: str
    verifying_key_hex: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LedgerEventsPage(_Model):
    """``GET /ledger/v1/events``: one page of ledger entries.

    Attributes:
        schema_version: the ledger schema version.
        tenant_id: the tenant (echo-checked).
        entries: the entries of this page, as Harbor sent them.
        next_after_seq: the cursor for the next page (``after_seq=``), ``None`` at the end.
    """

    schema_version: int
    tenant_id: str
    entries: tuple[Mapping[str, Any], ...]
    next_after_seq: int | None


@dataclass(frozen=True, slots=True)
class MerkleLatest(_Model):
    """``GET /ledger/v1/merkle/latest``.

    Attributes:
        tenant_id: the tenant (echo-checked).
        checkpoint: the latest signed Merkle checkpoint, ``None`` when there is none yet.
    """

    tenant_id: str
    checkpoint: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class SignedEvidence:
    """A payee-signed evidence binding: the exact signed bytes and the request body.

    Attributes:
        sign_bytes: the exact ``EvidenceSignV1`` bytes the signature covers.
        body: the ``POST /intents/{id}/evidence`` body (``payload``, ``artifacts``, ``payee_did``,
            ``payee_pubkey``, ``payee_signature``, ``submitted_at``).
    """

    sign_bytes: bytes
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Principal(_Model):
    """``GET /v1/auth/principal``: who the API key is.

    Attributes:
        tenant_id: the key's tenant (the one every Signal read is bound to).
        environment: ``"live"`` or ``"sandbox"``.
        tenant_uuid: the tenant's UUID, when the Gateway gives it.
        service_account_role: the service account's role, when given.
        subject: the key's subject, when given.
        roles: the key's roles, when given.
        extra: any other field of the answer.
    """

    tenant_id: str
    environment: str
    tenant_uuid: str | None = None
    service_account_role: str | None = None
    subject: str | None = None
    roles: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReputationReceipt(_Model):
    """A signed reputation receipt (the signature was verified before you see it).

    Attributes:
        tenant_id: your tenant (echo-checked).
        operator_did: the operator scored: the payee DID of your intents (echo-checked).
        score_version: ``"1.0"``.
        scoring_model: the model that produced the score.
        score: 0..1000, higher is better.
        metrics: the score's inputs, as Signal reports them.
        ledger_watermark_seq: the ledger sequence number the score includes evidence up to.
        confidence: how sure Signal is of the score, when given.
        support_depth: how much history backs the score, when given.
        review_state: the operator's review state, when any.
        reason_codes: codes explaining the score.
        signing_algorithm: the receipt signature's algorithm.
        message_digest_hex: the digest the signature covers.
        signing_public_key_hex: the key the receipt names as its signer.
        signature_hex: the Ed25519 signature.
        extra: any other field of the receipt.
    """

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

    Attributes:
        schema_version: the receipt schema version.
        updated_at: when Signal computed the receipt (RFC 3339).
        receipt: the signed receipt itself.
        signature_checked_with: ``"pinned_key"`` or ``"embedded_key"`` (above).
        extra: any other field of the answer.
    """

    _nested: ClassVar[Mapping[str, type[_Model]]] = {"receipt": ReputationReceipt}
    schema_version: int
    updated_at: str
    receipt: ReputationReceipt
    signature_checked_with: Literal["pinned_key", "embedded_key"] = "embedded_key"
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PortfolioOperator(_Model):
    """One operator of a portfolio summary.

    Attributes:
        operator_did: the operator (a payee DID of your intents).
        score: its score, 0..1000.
        maturity_band: its maturity band, when given.
        extra: any other field.
    """

    operator_did: str
    score: int
    maturity_band: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PortfolioSummary(_Model):
    """``GET /signal/v1/portfolio/summary``: every operator of the tenant.

    Attributes:
        tenant_id: your tenant (echo-checked).
        score_version: ``"1.0"``.
        operators: the operators with their scores.
        extra: any other field.
    """

    _nested_lists: ClassVar[Mapping[str, type[_Model]]] = {"operators": PortfolioOperator}
    tenant_id: str
    score_version: str
    operators: tuple[PortfolioOperator, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OperatorExplanation(_Model):
    """``GET /signal/v1/operators/{did}/explanation``: why the operator has its score.

    Attributes:
        tenant_id: your tenant (echo-checked).
        operator_did: the operator (echo-checked).
        score_version: ``"1.0"``.
        score: the score explained, 0..1000.
        factors: each factor's contribution, as Signal reports it.
        summary: one sentence, when given.
        extra: any other field.
    """

    tenant_id: str
    operator_did: str
    score_version: str
    score: int
    factors: tuple[Mapping[str, Any], ...] = ()
    summary: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MaturityTier(_Model):
    """Maturity tier of an operator.

    Attributes:
        band: how established the operator is (the dev server answers ``new``, ``developing``, ...).
        extra: any other field.
    """

    band: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShadowRisk(_Model):
    """Shadow risk of an operator (not yet enforced).

    Attributes:
        level: the shadow risk level (e.g. ``low``).
        extra: any other field.
    """

    level: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShadowAnnotation(_Model):
    """An active shadow annotation.

    Attributes:
        kind: what the annotation says.
        extra: any other field.
    """

    kind: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Friction(_Model):
    """Replays and appeals, and whether they are throttled.

    Attributes:
        band: how much friction the operator meets (e.g. ``none``).
        replay_count_7d: replays in the last 7 days.
        appeal_count_30d: appeals in the last 30 days.
        replay_throttled: whether replays are throttled now.
        appeal_throttled: whether appeals are throttled now.
        next_appeal_eligible_at: when the next appeal is allowed (RFC 3339), when throttled.
        extra: any other field.
    """

    band: str
    replay_count_7d: int
    appeal_count_30d: int
    replay_throttled: bool
    appeal_throttled: bool
    next_appeal_eligible_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrustPolicy(_Model):
    """What a relying party may do on this operator's score.

    Attributes:
        decision_band: the band of decision to take (the dev server answers ``manual``, ``review``, ...).
        auto_reliance_allowed: whether automatic reliance on the score is allowed.
        extra: any other field.
    """

    decision_band: str
    auto_reliance_allowed: bool
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OperatorReviewStatus(_Model):
    """``GET /signal/v1/operators/{did}/review-status`` (additive metadata: ``score_version`` stays ``"1.0"``).

    Attributes:
        tenant_id: your tenant (echo-checked).
        operator_did: the operator (echo-checked).
        score_version: ``"1.0"``.
        maturity_tier: how established the operator is.
        shadow_risk: the shadow risk level.
        friction: replays, appeals and throttling.
        trust_policy: what a relying party may do on the score.
        active_annotations: the shadow annotations in force.
        extra: any other field.
    """

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
    """A funded intent on the dev server. Token and seed are hidden from ``repr``.

    Attributes:
        intent_id: the intent (a UUID).
        capability_token: its capability token (a secret).
        tenant_id: the tenant it belongs to.
        payee_did: the payee (the operator Signal scores).
        payee_pubkey: the payee's Ed25519 public key, standard base64.
        allowed_tools: the tools (operations) it allows.
        amount_cents: its funded amount.
        remaining_cents: what is left.
        currency: its currency.
        deadline: its deadline (RFC 3339).
        state: its state (``funded``, ...).
        token_expires_at: when the capability token expires (RFC 3339).
        payee_signing_seed_hex: the payee's seed (64 hex digits, a secret) when the server made the key.
        extra: any other field.
    """

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
