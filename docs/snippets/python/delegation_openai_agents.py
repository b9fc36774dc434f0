"""Hand-offs with a narrower binding (OpenAI Agents): delegate_handoff and delegate_as_tool give the
sub-agent a fresh child of the parent binding on every delegation. Its call outside that scope is
denied even where the parent could have made it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents import Agent, Model, ModelResponse, Runner, Usage, function_tool, set_tracing_disabled
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.delegation import delegate_as_tool, delegate_handoff
from paybond_kit.openai_agents import audit_agent
from paybond_kit.testing import LocalHarbor

set_tracing_disabled(True)


class Scripted(Model):
    """Turn 1 makes `calls` (call ids prefixed: several models share one run), turn 2 says "done"."""

    def __init__(self, prefix: str, calls: list[tuple[str, dict[str, Any]]]) -> None:
        self.prefix, self.calls, self.inputs = prefix, calls, []  # type: ignore[var-annotated]

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        self.inputs.append(input)
        if len(self.inputs) == 1:
            output: list[Any] = [
                ResponseFunctionToolCall(type="function_call", id=f"fc_{self.prefix}_{k}", call_id=f"{self.prefix}_{k}", name=name,
                                         arguments=json.dumps(args), status="completed")
                for k, (name, args) in enumerate(self.calls)
            ]
        else:
            output = [ResponseOutputMessage(id=f"msg_{self.prefix}", type="message", role="assistant", status="completed",
                                            content=[ResponseOutputText(type="output_text", text="done", annotations=[])])]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def shown(self) -> list[str]:
        """The tool outputs the model read on its last turn, in the order of its calls."""
        out = {i["call_id"]: str(i["output"]) for i in self.inputs[-1] if isinstance(i, dict) and i.get("type") == "function_call_output"}
        return [out.get(f"{self.prefix}_{k}", "") for k in range(len(self.calls))]


@function_tool
def search(query: str) -> str:
    """Search the web."""
    return f"found {query}"


@function_tool
def book_hotel(hotel: str) -> str:
    """Book a hotel room."""
    return f"booked {hotel}"


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["search", "book_hotel"], amount_cents=1000)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)

            # 1. A handoff: the researcher may only search, although the parent could also book.
            sub = Scripted("sub", [("search", {"query": "inns in Lyon"}), ("book_hotel", {"hotel": "Inn"})])
            researcher = Agent(name="researcher", model=sub, tools=[search, book_hotel])
            triage = Agent(name="triage", model=Scripted("triage", [("transfer_to_researcher", {})]),
                           handoffs=[delegate_handoff(researcher, binding, tools=["search"], max_calls=3)])
            print([(p.kind, p.name, p.guarded) for p in audit_agent(triage)])
            result = await Runner.run(triage, "find and book an inn")
            print(result.last_agent.name, "->", sub.shown())
            assert sub.shown()[0] == "found inns in Lyon"
            assert sub.shown()[1].startswith("Paybond denied book_hotel: harbor_denied: operation_not_allowed")
            assert (await binding.authorize("book_hotel", "parent-1", {})).allowed  # the parent could

            # 2. An agent as a tool: each call of the tool runs the sub-agent under a fresh child.
            sub = Scripted("sub2", [("search", {"query": "a"}), ("search", {"query": "b"})])
            research = delegate_as_tool(Agent(name="researcher", model=sub, tools=[search]), binding,
                                        tool_name="research", tool_description="Research a topic.", max_calls=1)
            planner = Agent(name="planner", model=Scripted("planner", [("research", {"input": "inns in Lyon"})]), tools=[research])
            await Runner.run(planner, "plan a trip")
            print("research ->", sub.shown())
            assert sorted("max_calls_exceeded" in s for s in sub.shown()) == [False, True]


if __name__ == "__main__":
    asyncio.run(main())
