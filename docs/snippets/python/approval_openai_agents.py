"""Human approval in the OpenAI Agents SDK: guard_function_tools sets each tool's needs_approval,
so Harbor's approval_required becomes the SDK's own interruption; state.approve / state.reject,
then Runner.run(agent, state). on_approval= decides inline instead (no interruption)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents import Agent, Model, ModelResponse, Runner, Usage, function_tool, set_tracing_disabled
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.openai_agents import ApprovalRequest, guard_function_tools
from paybond_kit.testing import LocalHarbor

set_tracing_disabled(True)
RAN: list[str] = []


class ScriptedModel(Model):
    """Turn 1 books a hotel (call id `call_id`), turn 2 answers; keeps what the model was shown."""

    def __init__(self, call_id: str, args: dict[str, Any]) -> None:
        self.call_id, self.args, self.inputs = call_id, args, []  # type: ignore[var-annotated]

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        self.inputs.append(input)
        if len(self.inputs) == 1:
            output: list[Any] = [ResponseFunctionToolCall(type="function_call", id=f"fc_{self.call_id}", call_id=self.call_id,
                                                          name="book_hotel", arguments=json.dumps(self.args), status="completed")]
        else:
            output = [ResponseOutputMessage(id="msg_1", type="message", role="assistant", status="completed",
                                            content=[ResponseOutputText(type="output_text", text="done", annotations=[])])]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def shown(self) -> str:
        """The tool output the model read on its last turn."""
        return next(str(i["output"]) for i in self.inputs[-1] if isinstance(i, dict) and i.get("type") == "function_call_output")


def make_book_hotel() -> Any:
    @function_tool
    def book_hotel(hotel: str, cost_cents: int) -> str:
        """Book a hotel room (paid)."""
        RAN.append(hotel)
        return f"booked {hotel}"

    return book_hotel


SPEND = {"book_hotel": lambda args: args["cost_cents"]}  # per tool, from the parsed arguments


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=5000, approval_threshold_cents=500)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)

            # 1. The run stops with an interruption; the tool has not run.
            model = ScriptedModel("call_ritz", {"hotel": "Ritz", "cost_cents": 900})
            agent = Agent(name="travel", model=model, tools=guard_function_tools([make_book_hotel()], binding, SPEND))
            result = await Runner.run(agent, "Book the Ritz")
            (item,) = result.interruptions
            print("needs a reviewer:", item.tool_name, item.raw_item.arguments)
            assert RAN == []

            # Approve and run again from the state: Harbor records it, the tool runs once.
            state = result.to_state()
            state.approve(item)
            result = await Runner.run(agent, state)
            print("approved:", model.shown(), "/", result.final_output)
            assert RAN == ["Ritz"]

            # 2. Reject: the tool does not run; the model reads the rejection.
            model = ScriptedModel("call_savoy", {"hotel": "Savoy", "cost_cents": 800})
            agent = Agent(name="travel", model=model, tools=guard_function_tools([make_book_hotel()], binding, SPEND))
            result = await Runner.run(agent, "Book the Savoy")
            state = result.to_state()
            state.reject(result.interruptions[0], rejection_message="Rejected: over the travel policy")
            await Runner.run(agent, state)
            print("rejected:", model.shown())
            assert RAN == ["Ritz"] and "over the travel policy" in model.shown()

            # 3. on_approval answers inline: no interruption (it may be async).
            def reviewer(req: ApprovalRequest) -> Any:
                return {"decision": "reject", "reason": "not this week"} if (req.requested_spend_cents or 0) > 600 else "approve"

            model = ScriptedModel("call_inn", {"hotel": "Inn", "cost_cents": 700})
            tools = guard_function_tools([make_book_hotel()], binding, SPEND, on_approval=reviewer)
            result = await Runner.run(Agent(name="travel", model=model, tools=tools), "Book the Inn")
            print("on_approval:", model.shown())
            assert not result.interruptions and model.shown().startswith("Paybond denied book_hotel")
            assert harbor.stats()["decisions_consumed"] == 1  # only the approved call was reserved


if __name__ == "__main__":
    asyncio.run(main())
