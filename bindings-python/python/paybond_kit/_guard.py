"""Shared guard plumbing for the framework adapters (no framework imports here)."""

from __future__ import annotations

import inspect
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generator, Iterable, Literal, Mapping, Sequence, TypeVar

from . import _native
from .client import CapabilityBinding
from .errors import PaybondDeniedError, PaybondError, UnguardedToolError, _invalid_argument
from .types import Decision, EvidenceReceipt

__all__ = [
    "GuardEvent", "OnError", "ApprovalRequest", "ToolPath", "deny_decision", "resolve_spend", "check_options",
]

logger = logging.getLogger("paybond_kit")

OnError = Literal["deny", "raise"]
R = TypeVar("R")

#: What a ``pause`` function answers when the framework cannot suspend here (no graph running).
NO_PAUSE: Any = object()

#: One step of :meth:`GuardCore._flow`: ("authorize" | "hook" | "decide", its argument).
_Step = tuple[str, Any]

#: How many times one call may go back to a reviewer (a quorum still incomplete) before it is denied.
MAX_APPROVAL_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A call Harbor wants a reviewer to approve, as handed to ``on_approval`` (or put in a
    LangGraph ``interrupt`` payload). Answer ``"approve"``, ``"reject"``, ``True`` / ``False`` or
    ``{"decision": "approve" | "reject", "reason": ...}``."""

    tool_name: str
    call_id: str
    args: Any
    approval_request_id: str
    message: str
    requested_spend_cents: int | None

    def payload(self) -> dict[str, Any]:
        """The interrupt payload (``type`` is ``"paybond_approval"``)."""
        return {
            "type": "paybond_approval", "tool_name": self.tool_name, "call_id": self.call_id, "args": self.args,
            "approval_request_id": self.approval_request_id, "message": self.message,
            "requested_spend_cents": self.requested_spend_cents,
        }


@dataclass(frozen=True, slots=True)
class ToolPath:
    """One way an agent can act, as :func:`audit_agent` reports it.

    ``kind`` is one of ``"function"``, ``"provider"``, ``"dynamic"``, ``"hosted"``, ``"mcp"``,
    ``"handoff"``, ``"agent_as_tool"``, ``"shell"``, ``"computer"``, ``"other"``; ``guarded`` is
    true only when a Paybond guard covers every call on it.
    """

    name: str
    kind: str
    guarded: bool
    detail: str = ""

    def label(self) -> str:
        return f"{self.kind}:{self.name}"


def refuse_unguarded(paths: Iterable[ToolPath], unguarded: Sequence[str], where: str) -> None:
    """Raise :class:`UnguardedToolError` for every unguarded path whose name is not listed."""
    bad = [p for p in paths if not p.guarded and p.name not in unguarded]
    if bad:
        listed = ", ".join(f"{p.label()}" + (f" ({p.detail})" if p.detail else "") for p in bad)
        raise UnguardedToolError(
            f"{where}: Paybond cannot guard {listed}; list the name(s) in unguarded=[...] to accept "
            "them knowingly, or remove them",
            paths=tuple(p.label() for p in bad),
        )


def check_unguarded(unguarded: Any) -> tuple[str, ...]:
    if isinstance(unguarded, str) or not isinstance(unguarded, Iterable):
        raise _invalid_argument("unguarded", f"expected a list of tool names, got {type(unguarded).__name__}")
    names = tuple(unguarded)
    for n in names:
        if not isinstance(n, str) or not n:
            raise _invalid_argument("unguarded", f"expected non-empty tool names, got {n!r}")
    return names


def log_unguarded(names: Sequence[str], where: str) -> None:
    if names:
        logger.warning("paybond_kit: %s: not guarded by Paybond (listed in unguarded): %s", where, ", ".join(names))


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
    #: The approval request this call went through, if any.
    approval_request_id: str | None = None


def deny_decision(code: str, message: str) -> Decision:
    """A local deny (the guard failed before or instead of Harbor answering)."""
    return Decision(decision="deny", code=code, message=message)


def check_options(binding: Any, on_error: Any, requested_spend_cents: Any, evidence: Any,
                  on_decision: Any = None, on_approval: Any = None) -> None:
    """Misconfiguration raises :class:`InvalidArgumentError` at construction, not at the first
    tool call. A static spend is checked by the core's rule (an exact ``int`` in ``0..=2**53-1``),
    so is every static value of a per-tool mapping."""
    if binding is not None and not isinstance(binding, CapabilityBinding):
        raise _invalid_argument("binding", f"expected a paybond_kit.CapabilityBinding, got {type(binding).__name__}")
    if on_error not in ("deny", "raise"):
        raise _invalid_argument("on_error", f'expected "deny" or "raise", got {on_error!r}')
    if isinstance(requested_spend_cents, Mapping):
        for tool, spec in requested_spend_cents.items():
            if not isinstance(tool, str):
                raise _invalid_argument("requested_spend_cents", f"tool names must be strings, got {tool!r}")
            if not callable(spec):
                try:
                    _native.check_spend(spec)
                except PaybondError as e:
                    raise _invalid_argument("requested_spend_cents", f"for tool {tool!r}: {e}") from None
    elif not callable(requested_spend_cents):
        _native.check_spend(requested_spend_cents)
    if on_approval is not None and not callable(on_approval):
        raise _invalid_argument("on_approval", f"expected None or a callable (ApprovalRequest) -> decision, got {type(on_approval).__name__}")
    if evidence is not None and not callable(evidence):
        raise _invalid_argument("evidence", f"expected None or a callable (request, result) -> dict, got {type(evidence).__name__}")
    if on_decision is not None and not callable(on_decision):
        raise _invalid_argument("on_decision", f"expected None or a callable (GuardEvent) -> None, got {type(on_decision).__name__}")


class SpendResolverFailed(Exception):
    """The caller's spend resolver raised or gave something that is not a spend."""


def resolve_spend(spec: Any, name: str, args: Any, request: Any) -> int:
    """The spend for one call of tool ``name``: the static value, what the callable returns for
    ``request``, or, for a per-tool mapping, the tool's value or what its callable returns for
    ``args``. Any failure is :class:`SpendResolverFailed` naming the tool and the error type."""
    if isinstance(spec, Mapping):
        if name not in spec:
            raise SpendResolverFailed(
                f"no spend for tool {name!r}: requested_spend_cents maps only {', '.join(map(repr, spec)) or 'no tools'}"
            )
        spec, arg = spec[name], args
    else:
        arg = request
    if callable(spec):
        try:
            spec = spec(arg)
        except Exception as e:
            raise SpendResolverFailed(f"the spend resolver for {name} raised {type(e).__name__}: {e}") from e
    try:
        _native.check_spend(spec)
    except PaybondError as e:
        raise SpendResolverFailed(f"the spend resolver for {name} returned {spec!r}: {e}") from None
    return int(spec)


def parse_approval_answer(answer: Any) -> tuple[bool, str | None]:
    """``(approve, reason)`` from a reviewer's answer; an answer of another shape is a reject."""
    if isinstance(answer, bool):
        return answer, None
    if isinstance(answer, str) and answer in ("approve", "reject"):
        return answer == "approve", None
    if isinstance(answer, Mapping):
        d = answer.get("decision", answer.get("type"))
        reason = answer.get("reason", answer.get("message"))
        if reason is not None and not isinstance(reason, str):
            reason = str(reason)
        if d in ("approve", "reject"):
            return d == "approve", reason
    return False, f"the approval answer was not understood (expected \"approve\" or \"reject\"), got {answer!r}"[:500]


def call_id_or_new(raw: Any) -> str:
    """Frameworks may leave the id empty; evidence idempotency needs one per call."""
    return str(raw) if raw else f"pbk-{uuid.uuid4()}"


class GuardCore:
    """authorize → run → evidence, shared by every adapter, async and sync."""

    def __init__(
        self,
        binding: CapabilityBinding | None,
        requested_spend_cents: Any,
        on_error: OnError,
        evidence: Callable[[Any, Any], Any] | None,
        on_decision: Callable[[GuardEvent], None] | None,
        on_approval: Callable[[ApprovalRequest], Any] | None = None,
        unguarded: Any = (),
        background_finish: bool = False,
    ) -> None:
        check_options(binding, on_error, requested_spend_cents, evidence, on_decision, on_approval)
        #: Complete a successful call without evidence in the background (agent adapters: the
        #: run goes on, the reservation holds the budget). Servers (MCP) answer only after it.
        self.background_finish = background_finish
        self.binding = binding
        self.spend = requested_spend_cents
        self.on_error: OnError = on_error
        self.evidence = evidence
        self.on_decision = on_decision
        self.on_approval = on_approval
        self.unguarded: tuple[str, ...] = check_unguarded(unguarded)
        #: call id -> the approval request its authorize went through (read once by run()).
        self._approvals: dict[str, str] = {}

    def _emit(self, event: GuardEvent) -> None:
        if self.on_decision is not None:
            try:
                self.on_decision(event)
            except Exception:  # a reporting hook never changes the outcome
                logger.exception("paybond_kit: on_decision callback failed")

    def _denied(self, name: str, call_id: str, decision: Decision, approval_id: str | None = None) -> None:
        logger.info("paybond_kit: denied %s (%s): %s", name, decision.code or decision.decision, decision.message)
        self._emit(GuardEvent(name, call_id, decision, ran=False,
                              approval_request_id=approval_id or decision.approval_request_id))
        if self.on_error == "raise":
            raise PaybondDeniedError(
                decision.describe(name), tool_name=name, deny_code=decision.code or decision.decision, reason=decision.reason
            )

    def spend_for(self, name: str, args: Any, spend_arg: Any) -> int | Decision:
        """The call's spend, or the deny ``spend_resolver_failed``."""
        try:
            return resolve_spend(self.spend, name, args, spend_arg)
        except SpendResolverFailed as e:
            return deny_decision("spend_resolver_failed", str(e))

    def _flow(self, name: str, call_id: str, args: Any, spend: int,
              pause: Callable[[ApprovalRequest], Any] | None) -> Generator[_Step, Any, Decision]:
        """The decision for one call as steps (the I/O is the driver's: :meth:`authorize` awaits
        them, :meth:`authorize_sync` blocks on them): authorize; while Harbor says
        ``approval_required``, ask ``on_approval`` (or ``pause``, a framework's interrupt, which may
        raise to suspend the run: that is let through), record the answer with Harbor and
        authorize again (at most :data:`MAX_APPROVAL_ROUNDS` rounds). With neither it stays
        ``approval_required`` (not an allow)."""
        decision: Decision = yield ("authorize", None)
        for _ in range(MAX_APPROVAL_ROUNDS):
            if not decision.approval_required or (self.on_approval is None and pause is None):
                break
            request = ApprovalRequest(name, call_id, args, decision.approval_request_id or "",
                                      decision.message or "", spend)
            self._note_approval(call_id, request.approval_request_id)
            if self.on_approval is not None:
                answer = yield ("hook", request)
                if isinstance(answer, Decision):  # the hook raised: no approval
                    return answer
            else:
                answer = pause(request)  # type: ignore[misc]  # a framework pause raises here
            if answer is NO_PAUSE:
                break
            if isinstance(answer, Mapping) and request.approval_request_id in answer:
                # Several pauses in one step resume with one mapping: each call takes its own answer.
                answer = answer[request.approval_request_id]
            failed: Decision | None = yield ("decide", (request.approval_request_id, *parse_approval_answer(answer)))
            if failed is not None:
                return failed
            decision = yield ("authorize", None)
        return decision

    async def authorize(self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any,
                        pause: Callable[[ApprovalRequest], Any] | None = None) -> Decision:
        """The decision for one call (see :meth:`_flow`); never raises but a framework pause."""
        spend = self.spend_for(name, args, spend_arg)
        if isinstance(spend, Decision):
            return spend
        flow = self._flow(name, call_id, args, spend, pause)
        result: Any = None
        try:
            while True:
                kind, arg = flow.send(result)
                if kind == "authorize":
                    result = await self._authorize_once(binding, name, call_id, args, spend)
                elif kind == "hook":
                    try:
                        result = self.on_approval(arg)  # type: ignore[misc]
                        if inspect.isawaitable(result):
                            result = await result
                    except Exception as e:
                        result = _approval_hook_failed(e)
                else:
                    aid, approve, reason = arg
                    try:
                        await binding.decide_approval(aid, "approve" if approve else "reject", reason=reason)
                        result = None
                    except Exception as e:
                        result = _deny_for(e)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def authorize_sync(self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any,
                       pause: Callable[[ApprovalRequest], Any] | None = None) -> Decision:
        """Blocking :meth:`authorize` (``on_approval`` must be a plain callable here)."""
        spend = self.spend_for(name, args, spend_arg)
        if isinstance(spend, Decision):
            return spend
        flow = self._flow(name, call_id, args, spend, pause)
        result: Any = None
        try:
            while True:
                kind, arg = flow.send(result)
                if kind == "authorize":
                    result = self._authorize_once_sync(binding, name, call_id, args, spend)
                elif kind == "hook":
                    try:
                        result = self.on_approval(arg)  # type: ignore[misc]
                    except Exception as e:
                        result = _approval_hook_failed(e)
                    if inspect.isawaitable(result):
                        close = getattr(result, "close", None)
                        if close is not None:
                            close()
                        result = deny_decision("invalid_argument",
                                               "on_approval returned an awaitable on a sync path; use a plain callable")
                else:
                    aid, approve, reason = arg
                    try:
                        binding.decide_approval_sync(aid, "approve" if approve else "reject", reason=reason)
                        result = None
                    except Exception as e:
                        result = _deny_for(e)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _note_approval(self, call_id: str, approval_id: str) -> None:
        if len(self._approvals) > 10_000:  # calls that never came back to run(): forget them
            self._approvals.clear()
        self._approvals[call_id] = approval_id

    async def _authorize_once(self, binding: CapabilityBinding, name: str, call_id: str, args: Any,
                              spend: int) -> Decision:
        try:
            return await binding.authorize(name, call_id, args, requested_spend_cents=spend)
        except Exception as e:  # fail closed: any failure on the way to an allow is a deny
            return _deny_for(e)

    def _authorize_once_sync(self, binding: CapabilityBinding, name: str, call_id: str, args: Any,
                             spend: int) -> Decision:
        try:
            return binding.authorize_sync(name, call_id, args, requested_spend_cents=spend)
        except Exception as e:
            return _deny_for(e)

    async def run(
        self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any,
        execute: Callable[[], Awaitable[R]], deny: Callable[[Decision], R], evidence_arg: Any,
        is_error: Callable[[R], bool] | None = None,
        pause: Callable[[ApprovalRequest], Any] | None = None,
        is_pause: Callable[[BaseException], bool] | None = None,
        is_handoff: Callable[[BaseException], bool] | None = None,
    ) -> R:
        """Authorize, run, then finish: consumed after success, released when the tool
        raised, was cancelled or gave an error result; evidence only after success. A tool
        listed in ``unguarded`` runs without Harbor. An exception ``is_pause`` accepts (a
        framework suspending the run inside the tool) is let through untouched: the call is
        neither finished nor marked as run, so its resume goes on with the same reservation.
        One ``is_handoff`` accepts (the body handed control on, e.g. ``ParentCommand``) is a
        success: consumed, then re-raised."""
        if name in self.unguarded:
            return await execute()
        decision = await self.authorize(binding, name, call_id, args, spend_arg, pause)
        approval_id = self._approvals.pop(call_id, None)
        if decision.allowed and not binding._claim(call_id):
            decision = not_claimed(call_id)
        if not decision.allowed:
            self._denied(name, call_id, decision, approval_id)
            return deny(decision)
        try:
            result = await execute()
        except BaseException as e:
            if is_pause is not None and is_pause(e):
                binding._unclaim(call_id)  # the resume runs the body again, on the same allow
                raise
            # A body that ends by handing control on (LangGraph's ParentCommand) ran to success.
            done = is_handoff is not None and is_handoff(e)
            await self._finish(binding, name, call_id, succeeded=done)
            self._emit(GuardEvent(name, call_id, decision, ran=True, succeeded=done, approval_request_id=approval_id))
            raise
        succeeded = not (is_error is not None and is_error(result))
        if succeeded and self.evidence is None and self.background_finish:
            finish_later_quietly(binding, name, call_id)
        else:
            await self._finish(binding, name, call_id, succeeded=succeeded)
        receipt, err = None, None
        if succeeded and self.evidence is not None:
            try:
                payload = self.evidence(evidence_arg, result)
                if inspect.isawaitable(payload):
                    payload = await payload
                receipt = await binding.submit_evidence(name, call_id, _as_payload(payload))
            except Exception as e:
                err = self._evidence_failed(name, call_id, e)
        self._emit(GuardEvent(name, call_id, decision, ran=True, evidence=receipt, evidence_error=err,
                              succeeded=succeeded, approval_request_id=approval_id))
        return result

    def run_sync(
        self, binding: CapabilityBinding, name: str, call_id: str, args: Any, spend_arg: Any,
        execute: Callable[[], R], deny: Callable[[Decision], R], evidence_arg: Any,
        is_error: Callable[[R], bool] | None = None,
        pause: Callable[[ApprovalRequest], Any] | None = None,
        is_pause: Callable[[BaseException], bool] | None = None,
        is_handoff: Callable[[BaseException], bool] | None = None,
    ) -> R:
        """Blocking :meth:`run`."""
        if name in self.unguarded:
            return execute()
        decision = self.authorize_sync(binding, name, call_id, args, spend_arg, pause)
        approval_id = self._approvals.pop(call_id, None)
        if decision.allowed and not binding._claim(call_id):
            decision = not_claimed(call_id)
        if not decision.allowed:
            self._denied(name, call_id, decision, approval_id)
            return deny(decision)
        try:
            result = execute()
        except BaseException as e:
            if is_pause is not None and is_pause(e):
                binding._unclaim(call_id)
                raise
            done = is_handoff is not None and is_handoff(e)
            self._finish_sync(binding, name, call_id, succeeded=done)
            self._emit(GuardEvent(name, call_id, decision, ran=True, succeeded=done, approval_request_id=approval_id))
            raise
        succeeded = not (is_error is not None and is_error(result))
        if succeeded and self.evidence is None and self.background_finish:
            finish_later_quietly(binding, name, call_id)
        else:
            self._finish_sync(binding, name, call_id, succeeded=succeeded)
        receipt, err = None, None
        if succeeded and self.evidence is not None:
            try:
                receipt = binding.submit_evidence_sync(name, call_id, _as_payload(self.evidence(evidence_arg, result)))
            except Exception as e:
                err = self._evidence_failed(name, call_id, e)
        self._emit(GuardEvent(name, call_id, decision, ran=True, evidence=receipt, evidence_error=err,
                              succeeded=succeeded, approval_request_id=approval_id))
        return result

    def _evidence_failed(self, name: str, call_id: str, e: Exception) -> str:
        err = f"{e.code if isinstance(e, PaybondError) else type(e).__name__}: {e}"
        logger.warning("paybond_kit: evidence for %s (%s) was not accepted: %s", name, call_id, err)
        if self.on_error == "raise":
            raise e
        return err

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


def finish_later_quietly(binding: CapabilityBinding, name: str, call_id: str) -> None:
    """Complete a successful call in the background; a failure to start it is logged (the tool
    already ran: never a second failure)."""
    try:
        binding._finish_later(call_id)
    except Exception as e:
        logger.warning("paybond_kit: completing the spend of %s (%s) failed: %s", name, call_id,
                       e.code if isinstance(e, PaybondError) else type(e).__name__)


def not_claimed(call_id: str) -> Decision:
    """The deny for a body that may not start: its call has no unused allow."""
    return deny_decision("call_replayed", f"call id {call_id!r} has no unused allow (it ran, is running now, or was "
                                          "never allowed): a call id runs its tool once, after an allow")


def _approval_hook_failed(e: Exception) -> Decision:
    return deny_decision("approval_required", f"on_approval raised {type(e).__name__}: {e}; the call was not approved")


def _deny_for(e: Exception) -> Decision:
    """The deny for an exception on the way to an allow (the kit's code, else ``guard_error``)."""
    return deny_decision(e.code if isinstance(e, PaybondError) else "guard_error", str(e))


def _as_payload(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise _invalid_argument("evidence", f"the evidence callable must return a dict payload, got {type(payload).__name__}")
    return payload
