"""Shared guard plumbing for the framework adapters (no framework imports here)."""

from __future__ import annotations

import inspect
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Literal, Mapping, TypeVar

from .client import CapabilityBinding
from .errors import PaybondDeniedError
from .types import Decision, EvidenceReceipt

__all__ = ["GuardEvent", "OnError", "deny_decision", "resolve_spend", "check_options"]

logger = logging.getLogger("paybond_kit")

OnError = Literal["deny", "raise"]
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class GuardEvent:
    """What happened to one guarded tool call (passed to ``on_decision`` callbacks)."""

    tool_name: str
    call_id: str
    decision: Decision
    ran: bool
    evidence: EvidenceReceipt | None = None
    evidence_error: str | None = None


def deny_decision(code: str, message: str) -> Decision:
    """A local deny (the guard failed before or instead of Harbor answering)."""
    return Decision(decision="deny", code=code, message=message)


def check_options(binding: Any, on_error: str, requested_spend_cents: Any, evidence: Any) -> None:
    """Misconfiguration raises at construction, not at the first tool call."""
    if binding is not None and not isinstance(binding, CapabilityBinding):
        raise TypeError(f"binding: expected a paybond_kit.CapabilityBinding, got {type(binding).__name__}")
    if on_error not in ("deny", "raise"):
        raise ValueError(f'on_error: expected "deny" or "raise", got {on_error!r}')
    if not (callable(requested_spend_cents) or (isinstance(requested_spend_cents, int) and not isinstance(requested_spend_cents, bool) and requested_spend_cents >= 0)):
        raise ValueError("requested_spend_cents: expected an int >= 0 or a callable returning one")
    if evidence is not None and not callable(evidence):
        raise TypeError("evidence: expected None or a callable (request, result) -> dict")


def resolve_spend(spec: int | Callable[[Any], int], arg: Any) -> int:
    """The spend for one call; raises ValueError with a clear message when the callable misbehaves."""
    value = spec(arg) if callable(spec) else spec
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"requested_spend_cents must resolve to an int >= 0, got {value!r}")
    return value


def call_id_or_new(raw: Any) -> str:
    """Frameworks may leave the id empty; evidence idempotency needs one per call."""
    return str(raw) if raw else f"pbk-{uuid.uuid4()}"


class GuardCore:
    """authorize → run → evidence, shared by every adapter, async and sync."""

    def __init__(
        self,
        binding: CapabilityBinding | None,
        requested_spend_cents: int | Callable[[Any], int],
        on_error: OnError,
        evidence: Callable[[Any, Any], Any] | None,
        on_decision: Callable[[GuardEvent], None] | None,
    ) -> None:
        check_options(binding, on_error, requested_spend_cents, evidence)
        self.binding = binding
        self.spend = requested_spend_cents
        self.on_error = on_error
        self.evidence = evidence
        self.on_decision = on_decision

    def _emit(self, event: GuardEvent) -> None:
        if self.on_decision is not None:
            try:
                self.on_decision(event)
            except Exception:  # a reporting hook never changes the outcome
                logger.exception("paybond_kit: on_decision callback failed")

    def _denied(self, name: str, call_id: str, decision: Decision) -> None:
        logger.info("paybond_kit: denied %s (%s): %s", name, decision.code, decision.message)
        self._emit(GuardEvent(name, call_id, decision, ran=False))
        if self.on_error == "raise":
            raise PaybondDeniedError(
                decision.describe(name), tool_name=name, deny_code=decision.code or "denied", reason=decision.reason
            )

    async def authorize(self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any) -> Decision:
        try:
            spend = resolve_spend(self.spend, spend_arg)
            return await binding.authorize(name, call_id, args, requested_spend_cents=spend)
        except Exception as e:  # fail closed: any failure on the way to an allow is a deny
            return deny_decision(getattr(e, "code", "guard_error"), str(e))

    def authorize_sync(self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any) -> Decision:
        try:
            spend = resolve_spend(self.spend, spend_arg)
            return binding.authorize_sync(name, call_id, args, requested_spend_cents=spend)
        except Exception as e:
            return deny_decision(getattr(e, "code", "guard_error"), str(e))

    async def run(
        self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any,
        execute: Callable[[], Awaitable[R]], deny: Callable[[Decision], R], evidence_arg: Any,
    ) -> R:
        decision = await self.authorize(binding, name, call_id, args, spend_arg)
        if not decision.allowed:
            self._denied(name, call_id, decision)
            return deny(decision)
        result = await execute()
        receipt, err = None, None
        if self.evidence is not None:
            try:
                payload = self.evidence(evidence_arg, result)
                if inspect.isawaitable(payload):
                    payload = await payload
                receipt = await binding.submit_evidence(name, call_id, _as_payload(payload))
            except Exception as e:
                err = f"{getattr(e, 'code', type(e).__name__)}: {e}"
                logger.warning("paybond_kit: evidence for %s (%s) was not accepted: %s", name, call_id, err)
                if self.on_error == "raise":
                    raise
        self._emit(GuardEvent(name, call_id, decision, ran=True, evidence=receipt, evidence_error=err))
        return result

    def run_sync(
        self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any,
        execute: Callable[[], R], deny: Callable[[Decision], R], evidence_arg: Any,
    ) -> R:
        decision = self.authorize_sync(binding, name, call_id, args, spend_arg)
        if not decision.allowed:
            self._denied(name, call_id, decision)
            return deny(decision)
        result = execute()
        receipt, err = None, None
        if self.evidence is not None:
            try:
                receipt = binding.submit_evidence_sync(name, call_id, _as_payload(self.evidence(evidence_arg, result)))
            except Exception as e:
                err = f"{getattr(e, 'code', type(e).__name__)}: {e}"
                logger.warning("paybond_kit: evidence for %s (%s) was not accepted: %s", name, call_id, err)
                if self.on_error == "raise":
                    raise
        self._emit(GuardEvent(name, call_id, decision, ran=True, evidence=receipt, evidence_error=err))
        return result


def _as_payload(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise TypeError(f"evidence callable must return a dict payload, got {type(payload).__name__}")
    return payload
