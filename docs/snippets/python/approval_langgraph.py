"""Human approval in LangGraph / LangChain: Harbor's approval_required pauses the graph with
interrupt(); a reviewer's answer resumes it with Command(resume=...). The pause needs a
checkpointer and a thread_id; on_approval= decides inline for apps without one."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.langgraph import ApprovalRequest, PaybondToolGuardMiddleware
from paybond_kit.testing import LocalHarbor

RAN: list[str] = []


@tool
def book_hotel(hotel: str, cost_cents: int) -> str:
    """Book a hotel room (paid)."""
    RAN.append(hotel)
    return f"booked {hotel}"


class ScriptedModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def one_booking(hotel: str, cost_cents: int) -> ScriptedModel:
    """Turn 1 books `hotel`, turn 2 answers."""
    call = {"name": "book_hotel", "args": {"hotel": hotel, "cost_cents": cost_cents}, "id": f"call-{hotel}", "type": "tool_call"}
    return ScriptedModel(messages=iter([AIMessage(content="", tool_calls=[call]), AIMessage(content="done")]))


# Per tool: the mapping's callables take the tool's arguments.
SPEND = {"book_hotel": lambda args: args["cost_cents"]}


def tool_message(state: dict[str, Any]) -> ToolMessage:
    return next(m for m in state["messages"] if isinstance(m, ToolMessage))


async def main() -> None:
    async with LocalHarbor() as harbor:
        # Calls spending more than 500 need a reviewer.
        intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=5000, approval_threshold_cents=500)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)

            def agent_for(model: ScriptedModel) -> Any:
                guard = PaybondToolGuardMiddleware(binding, requested_spend_cents=SPEND)
                return create_agent(model, tools=[book_hotel], middleware=[guard], checkpointer=InMemorySaver())

            # 1. The call pauses the run: the tool has not run and nothing is reserved.
            agent = agent_for(one_booking("Ritz", 900))
            config = {"configurable": {"thread_id": "trip-1"}}
            paused = await agent.ainvoke({"messages": [{"role": "user", "content": "Book the Ritz"}]}, config)
            (pending,) = paused["__interrupt__"]
            request = pending.value
            assert request["type"] == "paybond_approval" and RAN == []
            print("needs a reviewer:", request["tool_name"], request["args"], request["requested_spend_cents"], "cents")

            # The reviewer approves: the guard tells Harbor, authorizes again, and the tool runs once.
            done = await agent.ainvoke(Command(resume="approve"), config)
            print("approved:", tool_message(done).content)
            assert RAN == ["Ritz"]

            # 2. A rejection reaches the model as a deny carrying the reviewer's reason.
            agent = agent_for(one_booking("Savoy", 800))
            config = {"configurable": {"thread_id": "trip-2"}}
            await agent.ainvoke({"messages": [{"role": "user", "content": "Book the Savoy"}]}, config)
            out = await agent.ainvoke(Command(resume={"decision": "reject", "reason": "over the travel policy"}), config)
            msg = tool_message(out)
            print("rejected:", msg.content)
            assert msg.status == "error" and "over the travel policy" in str(msg.content) and RAN == ["Ritz"]

            # 3. No checkpointer: on_approval decides instead of a pause (it may be async).
            asked: list[ApprovalRequest] = []

            def reviewer(req: ApprovalRequest) -> str:
                asked.append(req)
                return "approve" if (req.requested_spend_cents or 0) <= 1000 else "reject"

            guard = PaybondToolGuardMiddleware(binding, requested_spend_cents=SPEND, on_approval=reviewer)
            agent = create_agent(one_booking("Inn", 700), tools=[book_hotel], middleware=[guard])
            out = await agent.ainvoke({"messages": [{"role": "user", "content": "Book the Inn"}]})
            print("on_approval:", asked[0].tool_name, asked[0].approval_request_id, "->", tool_message(out).content)
            assert RAN == ["Ritz", "Inn"]
            assert harbor.stats()["decisions_consumed"] == 2  # one reservation per approved call


if __name__ == "__main__":
    asyncio.run(main())
