"""Hostile caller input: every public entry point, given wrong types, NaN/inf, huge numbers, bools,
empty strings, non-UUID ids, wrong seed lengths, answers with a typed ``InvalidArgumentError``
naming the Python field (never ``TypeError`` / ``OverflowError`` / ``PanicException``, never an
allow), before any request. The spend rule (an exact integer in ``0..=2**53-1``) holds at every
entry point, and inside an agent a bad spend is a deny the model reads, not a crash."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import pytest
from agents import Agent, Runner, set_tracing_disabled
from langchain.agents import create_agent
from langchain_core.messages import ToolMessage
from langgraph.prebuilt import ToolNode

import paybond_kit as pk
from paybond_kit.langgraph import PaybondToolGuardMiddleware, paybond_awrap_tool_call, paybond_tool_node, paybond_wrap_tool_call
from paybond_kit.openai_agents import guard_function_tools, paybond_capability_input_guardrail
from paybond_kit.testing import DevIntent, LocalHarbor

from .conftest import BindingFactory
from .scripted import ScriptedAgentsModel, langchain_model, tool_node_graph
from .test_langgraph import COUNTS, book_hotel
from .test_openai_agents import COUNTS as AGENT_COUNTS
from .test_openai_agents import make_tools

set_tracing_disabled(True)

NAN, INF = float("nan"), float("inf")
BAD_SPENDS: list[Any] = [True, False, 1.5, "300", 2**64, -1, NAN, INF, -INF, -0.5, 99.99, 2**53, 1e20, None, [1], Decimal("3"), 2**200]
SPEND = "requested_spend_cents"


def deep(n: int) -> Any:
    v: Any = 1
    for _ in range(n):
        v = {"a": v}
    return v


def self_containing() -> list[Any]:
    a: list[Any] = []
    a.append(a)
    return a


# ---------------------------------------------------------------- spend, at every entry point


async def test_bad_spend_is_refused_at_every_entry_point_before_any_request(
    harbor: LocalHarbor, session: pk.ServiceAccountHarborSession, make_binding: BindingFactory
) -> None:
    binding, i = make_binding(["search"])
    before = harbor.stats()["verifies"]
    failures: list[str] = []

    async def expect(what: str, value: Any, call: Callable[[], Any], sync: bool = False) -> None:
        try:
            r = await asyncio.to_thread(call) if sync else call()
            if inspect.isawaitable(r):
                await r
        except pk.InvalidArgumentError as e:
            if e.field != SPEND:
                failures.append(f"{what}({value!r}): field {e.field!r}")
        except BaseException as e:  # noqa: BLE001 - the type is what is tested
            failures.append(f"{what}({value!r}): {type(e).__name__}: {e}")
        else:
            failures.append(f"{what}({value!r}): accepted")

    h = session.harbor
    for v in BAD_SPENDS:
        kw = dict(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=v)
        await expect("verify_capability", v, lambda: h.verify_capability(**kw))
        await expect("verify_capability_sync", v, lambda: h.verify_capability_sync(**kw), sync=True)
        await expect("authorize", v, lambda: binding.authorize("search", "c", {}, requested_spend_cents=v))
        await expect("authorize_sync", v, lambda: binding.authorize_sync("search", "c", {}, requested_spend_cents=v), sync=True)
        if v is not None:  # None is no static spend for the adapters' callable-or-int option
            for name, make in [
                ("paybond_awrap_tool_call", lambda: paybond_awrap_tool_call(binding, requested_spend_cents=v)),
                ("paybond_wrap_tool_call", lambda: paybond_wrap_tool_call(binding, requested_spend_cents=v)),
                ("paybond_tool_node", lambda: paybond_tool_node([book_hotel], binding, requested_spend_cents=v)),
                ("PaybondToolGuardMiddleware", lambda: PaybondToolGuardMiddleware(binding, requested_spend_cents=v)),
                ("paybond_capability_input_guardrail", lambda: paybond_capability_input_guardrail(binding, requested_spend_cents=v)),
                ("guard_function_tools", lambda: guard_function_tools(make_tools(), binding, requested_spend_cents=v)),
            ]:
                await expect(name, v, make)
    assert not failures, "\n".join(failures)
    assert harbor.stats()["verifies"] == before, "a bad spend reached Harbor"
    # The edges of the rule: 0 and 2**53-1 are spends (Harbor judges the budget), 300.0 is exactly 300.
    for ok in (0, 300.0, pk._native.MAX_SAFE_INTEGER):
        r = await h.verify_capability(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=ok)
        assert r.code in (None, "budget_exceeded")


@pytest.mark.parametrize("bad", [True, 1.5, "300", 2**64, -1, NAN], ids=repr)
async def test_bad_spend_from_a_callable_is_a_deny_inside_every_agent(make_binding: BindingFactory, bad: Any) -> None:
    COUNTS.clear()
    AGENT_COUNTS.clear()
    binding, _ = make_binding(["book_hotel"], 500)
    # LangGraph ToolNode (async).
    node = ToolNode([book_hotel], awrap_tool_call=paybond_awrap_tool_call(binding, requested_spend_cents=lambda req: bad))
    result = await tool_node_graph(node, langchain_model([("book_hotel", {"hotel": "X", "cost_cents": 1})])).ainvoke({"messages": [{"role": "user", "content": "go"}]})
    msg = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    # One code for a resolver that gives a non-spend, in every adapter and both languages.
    assert msg.status == "error" and ": spend_resolver_failed: the spend resolver for book_hotel returned" in str(msg.content), msg.content
    assert f"invalid argument `{SPEND}`" in str(msg.content)
    assert result["messages"][-1].content == "done"
    # LangChain create_agent middleware (sync invoke: the sync path runs on a worker thread).
    agent = create_agent(langchain_model([("book_hotel", {"hotel": "Y", "cost_cents": 1})]), tools=[book_hotel],
                         middleware=[PaybondToolGuardMiddleware(binding, requested_spend_cents=lambda req: bad)])
    result = await asyncio.to_thread(agent.invoke, {"messages": [{"role": "user", "content": "go"}]})
    msg = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert msg.status == "error" and SPEND in str(msg.content)
    # OpenAI Agents guardrail.
    tools = guard_function_tools(make_tools(), binding, requested_spend_cents=lambda data: bad)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "Z", "cost_cents": 1})])
    run = await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    assert run.final_output == "done"
    assert model.tool_outputs()["call_0"].startswith("Paybond denied book_hotel: spend_resolver_failed: the spend resolver for book_hotel returned")
    assert COUNTS == {} and AGENT_COUNTS == {}, "a tool ran on a bad spend"


# ---------------------------------------------------------------- every entry point, table-driven


@dataclass
class Ctx:
    harbor: LocalHarbor
    session: pk.ServiceAccountHarborSession
    binding: pk.CapabilityBinding
    signer: pk.CapabilityBinding
    intent: DevIntent
    sig: pk.ServiceAccountSignalSession


@dataclass
class Case:
    name: str
    call: Callable[[Ctx], Any]
    field: str | None = None  # InvalidArgumentError naming this field
    deny: str | None = None  # or: a Decision denied with this code (the core judged a value at call time)
    sync: bool = False  # a blocking variant: run on a worker thread


SEED = "07" * 32
UUID = "5f0c7a1e-8a5b-4c1e-9d4f-2b6a1c3e5d70"


def harbor_open(**kw: Any) -> Callable[[Ctx], Any]:
    def call(c: Ctx) -> Any:
        args = dict(gateway_base_url=c.harbor.gateway_url, api_key=c.harbor.api_key, harbor_base_url=c.harbor.harbor_url)
        args.update(kw)
        return pk.ServiceAccountHarborSession.open(**args)

    return call


def harbor_open_sync(**kw: Any) -> Callable[[Ctx], Any]:
    def call(c: Ctx) -> Any:
        args = dict(gateway_base_url=c.harbor.gateway_url, api_key=c.harbor.api_key, harbor_base_url=c.harbor.harbor_url)
        args.update(kw)
        return pk.ServiceAccountHarborSession.open_sync(**args)

    return call


def signal_open(**kw: Any) -> Callable[[Ctx], Any]:
    return lambda c: pk.ServiceAccountSignalSession.open(**{"gateway_base_url": c.harbor.gateway_url, "api_key": c.harbor.api_key, **kw})


def signal_open_sync(**kw: Any) -> Callable[[Ctx], Any]:
    return lambda c: pk.ServiceAccountSignalSession.open_sync(**{"gateway_base_url": c.harbor.gateway_url, "api_key": c.harbor.api_key, **kw})


def provider(**kw: Any) -> Callable[[Ctx], Any]:
    return lambda c: pk.GatewayHarborTokenProvider(**{"gateway_base_url": c.harbor.gateway_url, "api_key": c.harbor.api_key, **kw})


def verify(sync: bool = False, **kw: Any) -> Callable[[Ctx], Any]:
    def call(c: Ctx) -> Any:
        args: dict[str, Any] = dict(intent_id=c.intent.intent_id, token=c.intent.capability_token, operation="search", requested_spend_cents=1)
        args.update(kw)
        return (c.session.harbor.verify_capability_sync if sync else c.session.harbor.verify_capability)(**args)

    return call


def binding_new(**kw: Any) -> Callable[[Ctx], Any]:
    def call(c: Ctx) -> Any:
        args: dict[str, Any] = dict(harbor=c.session.harbor, intent_id=c.intent.intent_id, capability_token=c.intent.capability_token)
        args.update(kw)
        h, i, t = args.pop("harbor"), args.pop("intent_id"), args.pop("capability_token")
        return pk.CapabilityBinding(h, i, t, **args)

    return call


def sign(**kw: Any) -> Callable[[Ctx], Any]:
    def call(c: Ctx) -> Any:
        args: dict[str, Any] = dict(tenant_id="t", intent_id=UUID, payee_did="did:p", payload={"ok": True},
                                    submitted_at_rfc3339="2030-01-02T15:04:05Z", payee_signing_seed=SEED)
        args.update(kw)
        return pk.sign_payee_evidence_binding(**args)

    return call


def intent_input(c: Ctx, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "tenant_id": "tenant-dev", "intent_id": str(uuid.uuid4()), "principal_did": "did:principal:me", "payee_did": "did:payee:you",
        "payee_pubkey": c.intent.payee_pubkey, "budget": {"max_cents": 300}, "currency": "usd", "amount_cents": 300,
        "evidence_schema": {"type": "object"}, "deadline": "2099-01-01T00:00:00Z", "predicate_dsl": {},
        "allowed_tools": ["search"], "settlement_rail": "stripe_connect",
    }
    d.update(kw)
    return {k: v for k, v in d.items() if v is not ...}


def numeric_option_cases(make: Callable[..., Callable[[Ctx], Any]], label: str, sync: bool = False) -> list[Case]:
    bad: dict[str, list[Any]] = {
        "timeout_seconds": [0, -1, NAN, INF, 1e20, True, "10", None, 2**200, 3601],
        "deadline_seconds": [0, -0.5, NAN, INF, 1e20, False, "30", None],
        "max_retries": [0, 11, 2.5, True, "3", NAN, -1, 2**70, None],
        "max_retry_after_seconds": [-1, 301, NAN, INF, True, "30"],
        "refresh_skew_seconds": [-1, NAN, 1e9, True, "90"],
        "max_response_bytes": [0, 1023, 2**40, 1.5, True, "1MiB", NAN],
        "proxy_url": [123, b"http://127.0.0.1:1", "not a url", "http://user:pw@127.0.0.1:1"],
    }
    return [Case(f"{label}({opt}={v!r})", make(**{opt: v}), opt, sync=sync) for opt, vs in bad.items() for v in vs]


def table() -> list[Case]:
    cases: list[Case] = []
    for label, make, sync in [("Harbor.open", harbor_open, False), ("Harbor.open_sync", harbor_open_sync, True)]:
        cases += numeric_option_cases(make, label, sync)
        cases += [
            Case(f"{label}(gateway_base_url=123)", make(gateway_base_url=123), "gateway_base_url", sync=sync),
            Case(f"{label}(gateway_base_url=None)", make(gateway_base_url=None), "gateway_base_url", sync=sync),
            Case(f"{label}(gateway_base_url='not a url')", make(gateway_base_url="not a url"), "gateway_base_url", sync=sync),
            Case(f"{label}(gateway_base_url=query)", make(gateway_base_url="http://127.0.0.1:1/?x=1"), "gateway_base_url", sync=sync),
            Case(f"{label}(harbor_base_url=b'')", make(harbor_base_url=b"http://127.0.0.1:1"), "harbor_base_url", sync=sync),
            Case(f"{label}(api_key=None)", make(api_key=None), "api_key", sync=sync),
            Case(f"{label}(api_key='')", make(api_key=""), "api_key", sync=sync),
            Case(f"{label}(api_key=42)", make(api_key=42), "api_key", sync=sync),
            Case(f"{label}(api_key=newline)", make(api_key="paybond_sk_x\r\nx-evil: 1"), "api_key", sync=sync),
            Case(f"{label}(expected_tenant_id=5)", make(expected_tenant_id=5), "expected_tenant_id", sync=sync),
            Case(f"{label}(expected_tenant_id='')", make(expected_tenant_id=""), "expected_tenant_id", sync=sync),
            Case(f"{label}(api_key=surrogate)", make(api_key="paybond_sk_\ud800"), "api_key", sync=sync),
        ]
    for label, make, sync in [("Signal.open", signal_open, False), ("Signal.open_sync", signal_open_sync, True)]:
        cases += numeric_option_cases(make, label, sync)
        cases += [
            Case(f"{label}(api_key=None)", make(api_key=None), "api_key", sync=sync),
            Case(f"{label}(expected_environment=5)", make(expected_environment=5), "expected_environment", sync=sync),
            Case(f"{label}(expected_environment='')", make(expected_environment=""), "expected_environment", sync=sync),
            Case(f"{label}(trusted_signing_key_hex=5)", make(trusted_signing_key_hex=5), "trusted_signing_key_hex", sync=sync),
            Case(f"{label}(trusted_signing_key_hex='zz')", make(trusted_signing_key_hex="zz"), "trusted_signing_key_hex", sync=sync),
            Case(f"{label}(trusted_signing_key_hex=31 bytes)", make(trusted_signing_key_hex="00" * 31), "trusted_signing_key_hex", sync=sync),
        ]
    cases += numeric_option_cases(provider, "GatewayHarborTokenProvider")
    cases += [Case("GatewayHarborTokenProvider(api_key=1)", provider(api_key=1), "api_key")]
    for sync in (False, True):
        label = "verify_capability_sync" if sync else "verify_capability"
        for fld, vals in {
            "intent_id": ["not-a-uuid", "", 5, None, UUID + "x", b"\x00" * 16],
            "token": ["", 5, None, b"token"],
            "operation": ["", 5, None, "   "],
            "tool_name": [5, b"x"],
            "tool_call_id": [5, 1.5],
            "idempotency_key": [5, "", "k" * 300],
            "currency": [5],
            "agent_subject": [5],
            "vendor_id": [5],
            "task_id": [5],
            "workflow_id": [5],
            SPEND: [True, NAN, "1", 2**64],
        }.items():
            cases += [Case(f"{label}({fld}={v!r})", verify(sync, **{fld: v}), fld, sync=sync) for v in vals]
    for fld, vals in {
        "harbor": ["not a client", None, 5],
        "intent_id": ["nope", 5, None, ""],
        "capability_token": ["", 5, None],
        "operations": ["x", {1: "a"}, {"a": 1}, [("a", "b")]],
        "payee_signing_seed": [b"\x00" * 31, "zz", "00" * 31, 5, bytearray(32), "0" * 65],
        "evidence_version": [3, 0, True, 1.5, "2", 2**70, NAN, None],
        "currency": [5],
        "agent_subject": [5],
        "workflow_id": [5],
    }.items():
        for v in vals:
            kw: dict[str, Any] = {fld: v}
            if fld in ("payee_signing_seed", "evidence_version"):
                kw.setdefault("payee_did", "did:payee:x")
                kw.setdefault("payee_signing_seed", SEED)
            if fld == "evidence_version" and v is None:
                continue  # None is "the default version" for the native layer, not a bad value
            cases.append(Case(f"CapabilityBinding({fld}={v!r})", binding_new(**kw), fld))
    cases += [
        Case("CapabilityBinding(payee_did=5)", binding_new(payee_did=5, payee_signing_seed=SEED), "payee_did"),
        Case("CapabilityBinding(seed without payee_did)", binding_new(payee_signing_seed=SEED), "payee_did"),
    ]
    for sync in (False, True):
        name = "authorize_sync" if sync else "authorize"

        def auth(*a: Any, sync: bool = sync, **kw: Any) -> Callable[[Ctx], Any]:
            return lambda c: (c.binding.authorize_sync if sync else c.binding.authorize)(*a, **kw)

        cases += [
            Case(f"{name}(tool_name=5)", auth(5, "c", {}), "tool_name", sync=sync),
            Case(f"{name}(tool_name=None)", auth(None, "c", {}), "tool_name", sync=sync),
            Case(f"{name}(call_id=5)", auth("search", 5, {}), "call_id", sync=sync),
            Case(f"{name}(call_id=None)", auth("search", None, {}), "call_id", sync=sync),
            Case(f"{name}(args=non-str key)", auth("search", "c", {1: 2}), "args", sync=sync),
            Case(f"{name}(args=NaN)", auth("search", "c", {"a": NAN}), "args", sync=sync),
            Case(f"{name}(args=inf)", auth("search", "c", [INF]), "args", sync=sync),
            Case(f"{name}(args=2**70)", auth("search", "c", {"a": 2**70}), "args", sync=sync),
            Case(f"{name}(args=object)", auth("search", "c", {"a": object()}), "args", sync=sync),
            Case(f"{name}(args=set)", auth("search", "c", {"a": {1, 2}}), "args", sync=sync),
            Case(f"{name}(args=200 deep)", auth("search", "c", deep(200)), "args", sync=sync),
            Case(f"{name}(args=contains itself)", auth("search", "c", self_containing()), "args", sync=sync),
            Case(f"{name}(args=lone surrogate)", auth("search", "c", {"q": "\ud800"}), "args", sync=sync),
            Case(f"{name}(spend=True)", auth("search", "c", {}, requested_spend_cents=True), SPEND, sync=sync),
            Case(f"{name}(spend=2**64)", auth("search", "c", {}, requested_spend_cents=2**64), SPEND, sync=sync),
            Case(f"{name}(tool_name='')", auth("", "c", {}), deny="invalid_argument", sync=sync),
        ]
    for sync in (False, True):
        name = "binding.submit_evidence_sync" if sync else "binding.submit_evidence"

        def ev(*a: Any, sync: bool = sync, signer: bool = True) -> Callable[[Ctx], Any]:
            return lambda c: (lambda b: (b.submit_evidence_sync if sync else b.submit_evidence)(*a))(c.signer if signer else c.binding)

        cases += [
            Case(f"{name}(call_id='')", ev("search", "", {"ok": 1}), "call_id", sync=sync),
            Case(f"{name}(call_id='  ')", ev("search", "  ", {"ok": 1}), "call_id", sync=sync),
            Case(f"{name}(call_id=5)", ev("search", 5, {"ok": 1}), "call_id", sync=sync),
            Case(f"{name}(tool_name=5)", ev(5, "c", {"ok": 1}), "tool_name", sync=sync),
            Case(f"{name}(payload=object)", ev("search", "c", object()), "payload", sync=sync),
            Case(f"{name}(payload=non-str key)", ev("search", "c", {1: 2}), "payload", sync=sync),
            Case(f"{name}(payload=NaN)", ev("search", "c", {"x": NAN}), "payload", sync=sync),
            Case(f"{name}(payload=2**64)", ev("search", "c", {"x": 2**64}), "payload", sync=sync),
            Case(f"{name}(no signer)", ev("search", "c", {"ok": 1}, signer=False), "payee_signing_seed", sync=sync),
        ]
    for fld, vals in {
        "tenant_id": ["", 5, None],
        "intent_id": ["x", 5, None],
        "payee_did": ["", 5],
        "payload": [{"a": NAN}, object(), {1: 1}, deep(300)],
        "artifacts_blake3_hex": ["ab" * 32, ["zz"], [5], 5, ["00" * 31], None],
        "submitted_at_rfc3339": ["yesterday", 5, "", None],
        "payee_signing_seed": [b"x" * 31, "zz", None, 5, "00" * 33],
        "version": [3, True, "2", NAN, 0, -1, 2**70],
    }.items():
        cases += [Case(f"sign_payee_evidence_binding({fld}={v!r:.40})", sign(**{fld: v}), fld) for v in vals]
    cases += [
        Case("sign_payee_evidence(version=1.5)", lambda c: pk.sign_payee_evidence(
            tenant_id="t", intent_id=UUID, payee_did="d", payload={}, submitted_at_rfc3339="2030-01-02T15:04:05Z",
            payee_signing_seed=SEED, version=1.5), "version"),
        Case("sign_intent_creation(input='x')", lambda c: pk.sign_intent_creation("x", principal_signing_seed=SEED), "input"),  # type: ignore[arg-type]
        Case("sign_intent_creation(seed=31 bytes)", lambda c: pk.sign_intent_creation(intent_input(c), principal_signing_seed=b"\x01" * 31), "principal_signing_seed"),
        Case("sign_intent_creation(seed=5)", lambda c: pk.sign_intent_creation(intent_input(c), principal_signing_seed=5), "principal_signing_seed"),  # type: ignore[arg-type]
        Case("sign_intent_creation(tenant_id missing)", lambda c: pk.sign_intent_creation(intent_input(c, tenant_id=...), principal_signing_seed=SEED), "tenant_id"),
        Case("sign_intent_creation(intent_id=5)", lambda c: pk.sign_intent_creation(intent_input(c, intent_id=5), principal_signing_seed=SEED), "intent_id"),
        Case("sign_intent_creation(amount_cents=True)", lambda c: pk.sign_intent_creation(intent_input(c, amount_cents=True), principal_signing_seed=SEED), "amount_cents"),
        Case("sign_intent_creation(amount_cents=1.5)", lambda c: pk.sign_intent_creation(intent_input(c, amount_cents=1.5), principal_signing_seed=SEED), "amount_cents"),
        Case("sign_intent_creation(amount_cents=-1)", lambda c: pk.sign_intent_creation(intent_input(c, amount_cents=-1), principal_signing_seed=SEED), "amount_cents"),
        # Beyond 64 bits the value is not JSON data the kit carries: the conversion names the argument.
        Case("sign_intent_creation(amount_cents=2**64)", lambda c: pk.sign_intent_creation(intent_input(c, amount_cents=2**64), principal_signing_seed=SEED), "input"),
        Case("sign_intent_creation(amount_cents=2**63)", lambda c: pk.sign_intent_creation(intent_input(c, amount_cents=2**63), principal_signing_seed=SEED), "amount_cents"),
        Case("sign_intent_creation(allowed_tools=[])", lambda c: pk.sign_intent_creation(intent_input(c, allowed_tools=[]), principal_signing_seed=SEED), "allowed_tools"),
        Case("sign_intent_creation(payee_pubkey='x')", lambda c: pk.sign_intent_creation(intent_input(c, payee_pubkey="x"), principal_signing_seed=SEED), "payee_pubkey"),
        Case("sign_intent_creation(deadline='soon')", lambda c: pk.sign_intent_creation(intent_input(c, deadline="soon"), principal_signing_seed=SEED), "deadline"),
        Case("create_intent(input=5)", lambda c: c.session.harbor.create_intent(5, principal_signing_seed=SEED), "input"),  # type: ignore[arg-type]
        Case("create_intent(amount_cents=NaN)", lambda c: c.session.harbor.create_intent(intent_input(c, amount_cents=NAN), principal_signing_seed=SEED), "input"),
        Case("create_intent(seed='zz')", lambda c: c.session.harbor.create_intent(intent_input(c), principal_signing_seed="zz"), "principal_signing_seed"),
        Case("create_intent_sync(intent_id='x')", lambda c: c.session.harbor.create_intent_sync(intent_input(c, intent_id="x"), principal_signing_seed=SEED), "intent_id", sync=True),
        Case("submit_evidence(intent_id='x')", lambda c: c.session.harbor.submit_evidence("x", sign()(c)), "intent_id"),
        Case("submit_evidence(body='x')", lambda c: c.session.harbor.submit_evidence(c.intent.intent_id, "x"), "body"),  # type: ignore[arg-type]
        Case("submit_evidence(body={})", lambda c: c.session.harbor.submit_evidence(c.intent.intent_id, {}), "body"),
        Case("submit_evidence(idempotency_key=5)", lambda c: c.session.harbor.submit_evidence(c.intent.intent_id, sign()(c), 5), "idempotency_key"),  # type: ignore[arg-type]
        Case("submit_evidence(idempotency_key='')", lambda c: c.session.harbor.submit_evidence(c.intent.intent_id, sign()(c), ""), "idempotency_key"),
        Case("submit_evidence_sync(body=None)", lambda c: c.session.harbor.submit_evidence_sync(c.intent.intent_id, None), "body", sync=True),  # type: ignore[arg-type]
        Case("json_value_digest(NaN)", lambda c: pk.json_value_digest({"a": NAN}), "value"),
        Case("artifacts_digest('abc')", lambda c: pk.artifacts_digest("abc"), "artifacts_blake3_hex"),
        Case("artifacts_digest(['zz'])", lambda c: pk.artifacts_digest(["zz"]), "artifacts_blake3_hex"),
    ]
    for fld, vals in {"limit": [0, 257, True, 1.5, "10", -1, 2**70, NAN], "after_seq": [-1, True, 1.5, "1", 2**70, INF]}.items():
        cases += [Case(f"ledger_events({fld}={v!r})", (lambda f, x: lambda c: c.session.harbor.ledger_events(**{f: x}))(fld, v), fld) for v in vals]
        cases += [Case(f"ledger_events_sync({fld}={v!r})", (lambda f, x: lambda c: c.session.harbor.ledger_events_sync(**{f: x}))(fld, v), fld, sync=True) for v in vals[:3]]
    cases += [
        Case("reputation_receipt(operator_did=5)", lambda c: c.sig.signal.reputation_receipt(5), "operator_did"),  # type: ignore[arg-type]
        Case("reputation_receipt(operator_did=None)", lambda c: c.sig.signal.reputation_receipt(None), "operator_did"),  # type: ignore[arg-type]
        Case("reputation_receipt(operator_did='')", lambda c: c.sig.signal.reputation_receipt(""), "operator_did"),
        Case("operator_explanation(operator_did='  ')", lambda c: c.sig.signal.operator_explanation("  "), "operator_did"),
        Case("operator_review_status(operator_did='')", lambda c: c.sig.signal.operator_review_status(""), "operator_did"),
        Case("reputation_receipt(score_version=1.0)", lambda c: c.sig.signal.reputation_receipt("did:x", 1.0), "score_version"),  # type: ignore[arg-type]
        Case("operator_explanation(operator_did=b'x')", lambda c: c.sig.signal.operator_explanation(b"x"), "operator_did"),  # type: ignore[arg-type]
        Case("operator_review_status(operator_did=[])", lambda c: c.sig.signal.operator_review_status([]), "operator_did"),  # type: ignore[arg-type]
        Case("portfolio_summary(score_version=5)", lambda c: c.sig.signal.portfolio_summary(5), "score_version"),  # type: ignore[arg-type]
        Case("reputation_receipt_sync(operator_did=5)", lambda c: c.sig.signal.reputation_receipt_sync(5), "operator_did", sync=True),  # type: ignore[arg-type]
        Case("operator_review_status_sync(operator_did=None)", lambda c: c.sig.signal.operator_review_status_sync(None), "operator_did", sync=True),  # type: ignore[arg-type]
    ]
    for name, make in [
        ("paybond_awrap_tool_call", lambda b, **kw: paybond_awrap_tool_call(b, **kw)),
        ("paybond_wrap_tool_call", lambda b, **kw: paybond_wrap_tool_call(b, **kw)),
        ("paybond_tool_node", lambda b, **kw: paybond_tool_node([book_hotel], b, **kw)),
        ("PaybondToolGuardMiddleware", lambda b, **kw: PaybondToolGuardMiddleware(b, **kw)),
    ]:
        cases += [
            Case(f"{name}(binding=None)", (lambda m: lambda c: m(None))(make), "binding"),
            Case(f"{name}(binding='x')", (lambda m: lambda c: m("x"))(make), "binding"),
            Case(f"{name}(on_error='ignore')", (lambda m: lambda c: m(c.binding, on_error="ignore"))(make), "on_error"),
            Case(f"{name}(evidence=5)", (lambda m: lambda c: m(c.binding, evidence=5))(make), "evidence"),
            Case(f"{name}(on_decision=5)", (lambda m: lambda c: m(c.binding, on_decision=5))(make), "on_decision"),
            Case(f"{name}(spend=1.5)", (lambda m: lambda c: m(c.binding, requested_spend_cents=1.5))(make), SPEND),
        ]
    cases += [
        Case("paybond_capability_input_guardrail(binding=5)", lambda c: paybond_capability_input_guardrail(5), "binding"),  # type: ignore[arg-type]
        Case("paybond_capability_input_guardrail(on_decision='x')", lambda c: paybond_capability_input_guardrail(c.binding, on_decision="x"), "on_decision"),  # type: ignore[arg-type]
        Case("guard_function_tools(spend='1')", lambda c: guard_function_tools(make_tools(), c.binding, "1"), SPEND),  # type: ignore[arg-type]
    ]
    return cases


async def run_case(case: Case, ctx: Ctx) -> str | None:
    try:
        if case.sync:
            r = await asyncio.to_thread(case.call, ctx)
        else:
            r = case.call(ctx)
            if inspect.isawaitable(r):
                r = await asyncio.wait_for(r, 20)
    except pk.InvalidArgumentError as e:
        if case.field is None:
            return f"raised InvalidArgumentError({e.field!r}), want a deny {case.deny!r}: {e}"
        if e.field != case.field:
            return f"InvalidArgumentError names {e.field!r}, want {case.field!r}: {e}"
        if e.code != "invalid_argument" or not str(e).startswith(f"invalid argument `{case.field}`"):
            return f"odd InvalidArgumentError: {e!r}"
        return None
    except BaseException as e:  # noqa: BLE001 - any other type is the failure under test
        return f"{type(e).__module__}.{type(e).__name__}: {e}"
    if case.deny is not None and isinstance(r, pk.Decision) and not r.allowed and r.code == case.deny:
        return None
    if isinstance(r, (pk.ServiceAccountHarborSession, pk.ServiceAccountSignalSession)):
        await asyncio.to_thread(r.close) if isinstance(r, pk.ServiceAccountHarborSession) else await r.aclose()
    return f"accepted: {r!r:.200}"


async def test_every_entry_point_refuses_hostile_input_with_a_typed_error(
    harbor: LocalHarbor, session: pk.ServiceAccountHarborSession, make_binding: BindingFactory
) -> None:
    binding, intent = make_binding(["search"])
    signer, _ = make_binding(["search"], evidence=True)
    async with await pk.ServiceAccountSignalSession.open(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key) as sig:
        ctx = Ctx(harbor, session, binding, signer, intent, sig)
        cases = table()
        before = harbor.stats()
        failures = []
        for case in cases:
            err = await run_case(case, ctx)
            if err:
                failures.append(f"{case.name}: {err}")
        after = harbor.stats()
    print(f"\n{len(cases)} hostile caller inputs")
    assert len(cases) >= 300
    assert not failures, f"{len(failures)} of {len(cases)}:\n" + "\n".join(failures)
    assert after["verifies"] == before["verifies"], "a hostile input reached Harbor /verify"
    assert after["exchanges"] == before["exchanges"], "a hostile option reached the Gateway"
