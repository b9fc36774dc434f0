"""A LangGraph agent whose paid tools cannot run unless Paybond Harbor verified each call.

Runs against an embedded dev server (``LocalHarbor``): no account, no network. The model is
scripted (set ``OPENAI_API_KEY`` and install ``langchain-openai`` to use a real one). The agent
tries an allowed paid tool, a tool outside ``allowed_tools`` and a call over budget; the table
shows each decision, and the counters show the denied tools never ran. Then it prints the
payee's Signal receipt and review status.

Run: ``make demo`` (or ``python examples/python/langgraph_guarded_agent.py`` in the venv).
"""

from __future__ import annotations

import asyncio
import importlib
import os
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession, ServiceAccountSignalSession
from paybond_kit.langgraph import GuardEvent, PaybondToolGuardMiddleware
from paybond_kit.testing import LocalHarbor

RAN: dict[str, int] = {"book_hotel": 0, "wire_money": 0}


@tool
def book_hotel(hotel: str, cost_cents: int) -> str:
    """Book a hotel room; costs ``cost_cents``."""
    RAN["book_hotel"] += 1
    return f"booked {hotel} for ${cost_cents / 100:.2f}"


@tool
def wire_money(to: str, amount_cents: int) -> str:
    """Wire money to an account."""
    RAN["wire_money"] += 1
    return f"wired {amount_cents} to {to}"


class ScriptedModel(GenericFakeChatModel):
    """Plays back fixed turns; ``bind_tools`` is a no-op so the agent can use it."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def call(name: str, args: dict[str, Any], n: int) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{n}", "type": "tool_call"}])


def make_model() -> BaseChatModel:
    if os.environ.get("OPENAI_API_KEY"):
        try:
            chat_openai = importlib.import_module("langchain_openai").ChatOpenAI
            model: BaseChatModel = chat_openai(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
            print("model: OpenAI (OPENAI_API_KEY is set)")
            return model
        except ImportError:
            print("OPENAI_API_KEY is set but langchain-openai is not installed; using the scripted model")
    print("model: scripted (no network, no API key)")
    turns = [
        call("book_hotel", {"hotel": "Harbor Inn", "cost_cents": 300}, 1),
        call("wire_money", {"to": "acct-42", "amount_cents": 100}, 2),
        call("book_hotel", {"hotel": "Grand Hotel", "cost_cents": 300}, 3),
        AIMessage(content="Booked Harbor Inn; the wire and the second booking were refused by Paybond."),
    ]
    return ScriptedModel(messages=iter(turns))


def spend(request: Any) -> int:
    args = request.tool_call["args"]
    return int(args.get("cost_cents", args.get("amount_cents", 0)))


def evidence(request: Any, result: Any) -> dict[str, Any]:
    return {"status": "completed", "tool": request.tool_call["name"], "output": str(getattr(result, "content", result))}


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=500, payee_did="did:payee:harbor-inn")
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            print(f"session tenant (from the Gateway): {session.tenant_id}; intent budget $5.00 for book_hotel only\n")
            binding = CapabilityBinding(
                session.harbor, intent.intent_id, intent.capability_token,
                payee_did=intent.payee_did, payee_signing_seed=intent.payee_signing_seed_hex,
            )
            events: list[GuardEvent] = []
            guard = PaybondToolGuardMiddleware(binding, requested_spend_cents=spend, evidence=evidence, on_decision=events.append)
            agent = create_agent(make_model(), tools=[book_hotel, wire_money], middleware=[guard])
            result = await agent.ainvoke({"messages": [{"role": "user", "content": "Book me a hotel, and pay acct-42."}]})

            print(f"\n{'tool':<12} {'ran':<4} {'decision':<9} {'code':<24} {'remaining':>9}  evidence")
            for e in events:
                d = e.decision
                code = d.reason or d.code or "-"
                remaining = "-" if d.remaining_cents is None else f"${d.remaining_cents / 100:.2f}"
                ev = e.evidence.state if e.evidence else (e.evidence_error or "-")
                print(f"{e.tool_name:<12} {'yes' if e.ran else 'no':<4} {d.decision:<9} {code:<24} {remaining:>9}  {ev}")
            print(f"\ntool bodies ran: book_hotel={RAN['book_hotel']}, wire_money={RAN['wire_money']} (denied calls never ran)")
            print(f"agent's final answer: {result['messages'][-1].content}")

            # Pin the key that signs Signal receipts (in production: the Signal receipt key your
            # Paybond environment publishes); unpinned, a receipt is only checked against the key it names.
            async with await ServiceAccountSignalSession.open(
                gateway_base_url=harbor.gateway_url, api_key=harbor.api_key,
                trusted_signing_key_hex=harbor.signal_public_key_hex,
            ) as sig:
                env = await sig.signal.reputation_receipt(intent.payee_did)
                status = await sig.signal.operator_review_status(intent.payee_did)
                if env is not None:
                    r = env.receipt
                    print(f"\nSignal receipt for {r.operator_did}: score {r.score}/1000 (v{r.score_version}), "
                          f"ledger seq {r.ledger_watermark_seq}, signature checked against the "
                          f"{'pinned' if env.signature_checked_with == 'pinned_key' else 'embedded'} key ({r.signing_algorithm})")
                if status is not None:
                    f = status.friction
                    print(f"review status: maturity {status.maturity_tier.band}, shadow risk {status.shadow_risk.level}, "
                          f"friction {f.band} (replays 7d {f.replay_count_7d}, appeals 30d {f.appeal_count_30d}), "
                          f"trust policy {status.trust_policy.decision_band}")
    if RAN["wire_money"] != 0:
        raise SystemExit("a denied tool ran")


if __name__ == "__main__":
    asyncio.run(main())
