"""OpenAI Agents SDK: guard_function_tools attaches a Paybond tool input guardrail to every
function tool. A deny is reject_content: the tool does not run and the model reads why."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents import Agent, Model, ModelResponse, Runner, Usage, function_tool, set_tracing_disabled
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.openai_agents import guard_function_tools
from paybond_kit.testing import LocalHarbor

set_tracing_disabled(True)  # offline: no trace export


class ScriptedModel(Model):
    """Turn 1 calls the tools, turn 2 answers; records what the model was shown."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]]) -> None:
        self.calls, self.inputs = calls, []  # type: ignore[var-annotated]

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        self.inputs.append(input)
        if len(self.inputs) == 1:
            output: list[Any] = [
                ResponseFunctionToolCall(type="function_call", id=f"fc_{k}", call_id=f"call_{k}", name=name,
                                         arguments=json.dumps(args), status="completed")
                for k, (name, args) in enumerate(self.calls)
            ]
        else:
            output = [ResponseOutputMessage(id="msg_1", type="message", role="assistant", status="completed",
                                            content=[ResponseOutputText(type="output_text", text="done", annotations=[])])]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


@function_tool
def book_hotel(hotel: str, cost_cents: int) -> str:
    """Book a hotel room (paid)."""
    return f"booked {hotel}"


@function_tool
def wire_money(to: str) -> str:
    """Wire money (not in the intent)."""
    raise AssertionError("a denied tool ran")


def spend(data: Any) -> int:
    """The guardrail data carries the raw JSON arguments of the call."""
    return int(json.loads(data.context.tool_arguments).get("cost_cents", 0))


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=500)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
            tools = guard_function_tools([book_hotel, wire_money], binding, requested_spend_cents=spend)
            model = ScriptedModel([("book_hotel", {"hotel": "Harbor Inn", "cost_cents": 300}), ("wire_money", {"to": "acct-42"})])
            result = await Runner.run(Agent(name="travel", model=model, tools=tools), "Book a hotel and pay acct-42")
            print("final output:", result.final_output)
            shown = {i["call_id"]: i["output"] for i in model.inputs[-1] if isinstance(i, dict) and i.get("type") == "function_call_output"}
            for call_id, output in sorted(shown.items()):
                print(call_id, "->", output)
            assert shown["call_0"] == "booked Harbor Inn"
            assert shown["call_1"].startswith("Paybond denied wire_money: harbor_denied: operation_not_allowed")
            assert harbor.stats()["decisions_consumed"] == 1  # the allowed call's spend was consumed after it ran


if __name__ == "__main__":
    asyncio.run(main())
