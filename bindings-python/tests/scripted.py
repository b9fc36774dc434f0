"""Scripted chat models for offline framework tests (no network, no API key)."""

from __future__ import annotations

import json
import uuid
from typing import Any, Sequence

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableLambda
from langgraph.graph import END, START, MessagesState, StateGraph


class ScriptedChatModel(GenericFakeChatModel):
    """Plays back AI messages; records what it was shown. ``bind_tools`` returns itself."""

    seen: list[list[BaseMessage]] = []

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def tool_node_graph(node: Any, model: Any) -> Any:
    """agent → tools → agent … → END, with ``node`` (a ``ToolNode``) as the tools step."""
    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    async def aagent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    g = StateGraph(MessagesState)
    g.add_node("agent", RunnableLambda(agent, afunc=aagent))
    g.add_node("tools", node)
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", route, ["tools", END])
    g.add_edge("tools", "agent")
    return g.compile()


def langchain_model(calls: Sequence[tuple[str, dict[str, Any]]], final: str = "done") -> ScriptedChatModel:
    """One AI turn calling every tool in ``calls`` (in parallel), then a final answer."""
    turn = AIMessage(
        content="",
        tool_calls=[{"name": n, "args": a, "id": f"call_{k}_{uuid.uuid4().hex[:6]}", "type": "tool_call"} for k, (n, a) in enumerate(calls)],
    )
    m = ScriptedChatModel(messages=iter([turn, AIMessage(content=final)]))
    m.seen = []
    return m


# ---- OpenAI Agents ----
from agents import Model, ModelResponse, Usage  # noqa: E402
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText  # noqa: E402


class ScriptedAgentsModel(Model):
    """Turn 1: call the tools; turn 2: answer. Records each turn's input items."""

    def __init__(self, calls: Sequence[tuple[str, dict[str, Any]]], final: str = "done") -> None:
        self.calls = list(calls)
        self.final = final
        self.inputs: list[Any] = []

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        self.inputs.append(input)
        if len(self.inputs) == 1:
            output: list[Any] = [
                ResponseFunctionToolCall(type="function_call", id=f"fc_{k}", call_id=f"call_{k}", name=n, arguments=json.dumps(a), status="completed")
                for k, (n, a) in enumerate(self.calls)
            ]
        else:
            output = [
                ResponseOutputMessage(
                    id="msg_1", type="message", role="assistant", status="completed",
                    content=[ResponseOutputText(type="output_text", text=self.final, annotations=[])],
                )
            ]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("scripted model: streaming is not used in these tests")

    def tool_outputs(self) -> dict[str, str]:
        """call_id → output text the model was shown on its second turn."""
        out: dict[str, str] = {}
        for item in self.inputs[-1] if self.inputs else []:
            if isinstance(item, dict) and item.get("type") == "function_call_output":
                out[str(item["call_id"])] = str(item["output"])
        return out
