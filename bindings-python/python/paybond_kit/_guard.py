"""Shared guard plumbing for the framework adapters (no framework imports here)."""

from __future__ import annotations

import inspect
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Literal, Mapping, TypeVar

from . import _native
from .client import CapabilityBinding
from .errors import PaybondDeniedError, PaybondError, _invalid_argument
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
    #: Whether the tool returned a non-error result (``None`` when it did not run).
    succeeded: bool | None = None


def deny_decision(code: str, message: str) -> Decision:
    """A local deny (the guard failed before or instead of Harbor answering)."""
    return Decision(decision="deny", code=code, message=message)


def check_options(binding: Any, on_error: Any, requested_spend_cents: Any, evidence: Any,
                  on_decision: Any = None) -> None:
    """Misconfiguration raises :class:`InvalidArgumentError` at construction, not at the first
    tool call. A static spend is checked by the core's rule (an exact ``int`` in ``0..=2**53-1``)."""
    if binding is not None and not isinstance(binding, CapabilityBinding):
        raise _invalid_argument("binding", f"expected a paybond_kit.CapabilityBinding, got {type(binding).__name__}")
    if on_error not in ("deny", "raise"):
        raise _invalid_argument("on_error", f'expected "deny" or "raise", got {on_error!r}')
    if not callable(requested_spend_cents):
        _native.check_spend(requested_spend_cents)
    if evidence is not None and not callable(evidence):
        raise _invalid_argument("evidence", f"expected None or a callable (request, result) -> dict, got {type(evidence).__name__}")
    if on_decision is not None and not callable(on_decision):
        raise _invalid_argument("on_decision", f"expected None or a callable (GuardEvent) -> None, got {type(on_decision).__name__}")


def resolve_spend(spec: Any, arg: Any) -> Any:
    """The spend for one call: the static value, or what the callable returns. Not judged here:
    ``authorize`` checks it by the core's rule (a bad value is a deny, code ``invalid_argument``)."""
    return spec(arg) if callable(spec) else spec


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
        check_options(binding, on_error, requested_spend_cents, evidence, on_decision)
        self.binding = binding
        self.spend = requested_spend_cents
        self.on_error: OnError = on_error
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
            return _deny_for(e)

    def authorize_sync(self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any) -> Decision:
        try:
            spend = resolve_spend(self.spend, spend_arg)
            return binding.authorize_sync(name, call_id, args, requested_spend_cents=spend)
        except Exception as e:
            return _deny_for(e)

    async def run(
        self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any,
        execute: Callable[[], Awaitable[R]], deny: Callable[[Decision], R], evidence_arg: Any,
        is_error: Callable[[R], bool] | None = None,
    ) -> R:
        """Authorize, run, then finish: consumed after success, released when the tool
        raised, was cancelled or gave an error result; evidence only after success."""
        decision = await self.authorize(binding, name, call_id, args, spend_arg)
        if not decision.allowed:
            self._denied(name, call_id, decision)
            return deny(decision)
        try:
            result = await execute()
        except BaseException:
            await self._finish(binding, name, call_id, succeeded=False)
            self._emit(GuardEvent(name, call_id, decision, ran=True, succeeded=False))
            raise
        succeeded = not (is_error is not None and is_error(result))
        await self._finish(binding, name, call_id, succeeded=succeeded)
        receipt, err = None, None
        if succeeded and self.evidence is not None:
            try:
                payload = self.evidence(evidence_arg, result)
                if inspect.isawaitable(payload):
                    payload = await payload
                receipt = await binding.submit_evidence(name, call_id, _as_payload(payload))
            except Exception as e:
                err = f"{e.code if isinstance(e, PaybondError) else type(e).__name__}: {e}"
                logger.warning("paybond_kit: evidence for %s (%s) was not accepted: %s", name, call_id, err)
                if self.on_error == "raise":
                    raise
        self._emit(GuardEvent(name, call_id, decision, ran=True, evidence=receipt, evidence_error=err,
                              succeeded=succeeded))
        return result

    def run_sync(
        self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any,
        execute: Callable[[], R], deny: Callable[[Decision], R], evidence_arg: Any,
        is_error: Callable[[R], bool] | None = None,
    ) -> R:
        """Blocking :meth:`run`."""
        decision = self.authorize_sync(binding, name, call_id, args, spend_arg)
        if not decision.allowed:
            self._denied(name, call_id, decision)
            return deny(decision)
        try:
            result = execute()
        except BaseException:
            self._finish_sync(binding, name, call_id, succeeded=False)
            self._emit(GuardEvent(name, call_id, decision, ran=True, succeeded=False))
            raise
        succeeded = not (is_error is not None and is_error(result))
        self._finish_sync(binding, name, call_id, succeeded=succeeded)
        receipt, err = None, None
        if succeeded and self.evidence is not None:
            try:
                receipt = binding.submit_evidence_sync(name, call_id, _as_payload(self.evidence(evidence_arg, result)))
            except Exception as e:
                err = f"{e.code if isinstance(e, PaybondError) else type(e).__name__}: {e}"
                logger.warning("paybond_kit: evidence for %s (%s) was not accepted: %s", name, call_id, err)
                if self.on_error == "raise":
                    raise
        self._emit(GuardEvent(name, call_id, decision, ran=True, evidence=receipt, evidence_error=err,
                              succeeded=succeeded))
        return result

    async def _finish(self, binding: CapabilityBinding, name: str, call_id: str, *, succeeded: bool) -> None:
        try:
            await binding.finish(call_id, succeeded=succeeded)
        except Exception as e:  # the tool already ran: report, never turn it into a second failure
            logger.warning("paybond_kit: completing the spend of %s (%s) failed: %s", name, call_id,
                           e.code if isinstance(e, PaybondError) else type(e).__name__)

    def _finish_sync(self, binding: CapabilityBinding, name: str, call_id: str, *, succeeded: bool) -> None:
        try:
            binding.finish_sync(call_id, succeeded=succeeded)
        except Exception as e:
            logger.warning("paybond_kit: completing the spend of %s (%s) failed: %s", name, call_id,
                           e.code if isinstance(e, PaybondError) else type(e).__name__)


def _deny_for(e: Exception) -> Decision:
    """The deny for an exception on the way to an allow (the kit's code, else ``guard_error``)."""
    return deny_decision(e.code if isinstance(e, PaybondError) else "guard_error", str(e))


def _as_payload(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise _invalid_argument("evidence", f"the evidence callable must return a dict payload, got {type(payload).__name__}")
    return payload
