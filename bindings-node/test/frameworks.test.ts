import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createAgent, tool, ToolMessage, AIMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { Agent, Runner, tool as agentsTool, setTracingDisabled } from "@openai/agents";
import { StateGraph, MessagesAnnotation, START, END } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { createPaybondMiddleware, guardTools } from "../dist/esm/langchain.js";
import { guardFunctionTools, paybondCapabilityInputGuardrail } from "../dist/esm/openai-agents.js";
import { PaybondDeniedError } from "../dist/esm/index.js";
import { setup, VERIFY_FAULTS } from "./helpers.js";
import { ScriptedModel } from "./scripted-model.js";

setTracingDisabled(true);

function lcTools(counts: Record<string, number>) {
  const bookHotel = tool(async ({ hotel }: { hotel: string; cost_cents: number }) => {
    counts.book_hotel = (counts.book_hotel ?? 0) + 1;
    return `booked ${hotel}`;
  }, { name: "book_hotel", description: "Book a hotel (paid)", schema: z.object({ hotel: z.string(), cost_cents: z.number() }) });
  const wireMoney = tool(async ({ to }: { to: string }) => {
    counts.wire_money = (counts.wire_money ?? 0) + 1;
    return `sent to ${to}`;
  }, { name: "wire_money", description: "Send money", schema: z.object({ to: z.string() }) });
  return [bookHotel, wireMoney];
}

const spend = (req: { toolCall: { args: Record<string, unknown> } }) => Number(req.toolCall.args.cost_cents ?? 0);

describe("LangChain createAgent middleware", () => {
  it("deny never runs the tool, allow runs once, the model sees the reason", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel"], 500, true);
      const counts: Record<string, number> = {};
      const model = fakeModel()
        .respondWithTools([{ name: "book_hotel", args: { hotel: "Inn", cost_cents: 300 }, id: "c1" }, { name: "wire_money", args: { to: "x" }, id: "c2" }])
        .respond(new AIMessage("done"));
      const agent = createAgent({ model, tools: lcTools(counts), middleware: [createPaybondMiddleware({ binding, requestedSpendCents: spend, evidence: (_req, res) => ({ result: String((res as ToolMessage).content) }) })] });
      const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
      expect(counts).toEqual({ book_hotel: 1 });
      const tms = out.messages.filter((m: unknown) => ToolMessage.isInstance(m)) as ToolMessage[];
      const wire = tms.find((m) => m.name === "wire_money")!;
      expect(wire.status).toBe("error");
      expect(String(wire.content)).toMatch(/^Paybond denied wire_money: harbor_denied: operation_not_allowed/);
      expect(out.messages.at(-1)!.content).toBe("done");
      expect(t.harbor.stats().evidenceAccepted).toBe(1);
    } finally {
      await t.close();
    }
  });

  it.each(VERIFY_FAULTS)("fault %o: deny %s, tool not run, run finishes", async (fault, code) => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel"], 500);
      t.harbor.addFault({ route: "/verify", ...(fault as { kind: "status" }) });
      const counts: Record<string, number> = {};
      const model = fakeModel().respondWithTools([{ name: "book_hotel", args: { hotel: "F", cost_cents: 10 }, id: "c1" }]).respond(new AIMessage("done"));
      const agent = createAgent({ model, tools: lcTools(counts), middleware: [createPaybondMiddleware({ binding, requestedSpendCents: spend })] });
      const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
      expect(counts).toEqual({});
      const tm = out.messages.find((m: unknown) => ToolMessage.isInstance(m)) as ToolMessage;
      expect(tm.status).toBe("error");
      expect(String(tm.content)).toContain(`: ${code}:`);
      expect(out.messages.at(-1)!.content).toBe("done");
    } finally {
      await t.close();
    }
  });

  it("onError: raise throws PaybondDeniedError", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel"], 500);
      const counts: Record<string, number> = {};
      const model = fakeModel().respondWithTools([{ name: "wire_money", args: { to: "x" }, id: "c1" }]).respond(new AIMessage("done"));
      const agent = createAgent({ model, tools: lcTools(counts), middleware: [createPaybondMiddleware({ binding, onError: "raise" })] });
      await expect(agent.invoke({ messages: [{ role: "user", content: "go" }] })).rejects.toThrow(/Paybond denied wire_money/);
      expect(counts).toEqual({});
      expect(() => createPaybondMiddleware({ binding, requestedSpendCents: -1 })).toThrow(/requestedSpendCents/);
    } finally {
      await t.close();
    }
  });
});

describe("LangGraph ToolNode with guarded tools", () => {
  it("guards tools wrapped for a ToolNode", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel"], 500);
      const counts: Record<string, number> = {};
      const node = new ToolNode(guardTools(lcTools(counts), { binding, requestedSpendCents: spend }) as never);
      const model = fakeModel()
        .respondWithTools([{ name: "book_hotel", args: { hotel: "A", cost_cents: 300 }, id: "c1" }, { name: "wire_money", args: { to: "x" }, id: "c2" }])
        .respond(new AIMessage("done"));
      const graph = new StateGraph(MessagesAnnotation)
        .addNode("agent", async (s) => ({ messages: [await model.invoke(s.messages)] }))
        .addNode("tools", node)
        .addEdge(START, "agent")
        .addConditionalEdges("agent", (s) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? "tools" : END), ["tools", END])
        .addEdge("tools", "agent")
        .compile();
      const out = await graph.invoke({ messages: [{ role: "user", content: "go" }] });
      expect(counts).toEqual({ book_hotel: 1 });
      const wire = out.messages.find((m) => ToolMessage.isInstance(m) && m.name === "wire_money") as ToolMessage;
      expect(String(wire.content)).toMatch(/Paybond denied wire_money/);
      expect(out.messages.at(-1)!.content).toBe("done");
    } finally {
      await t.close();
    }
  });
});

function agentTools(counts: Record<string, number>) {
  return [
    agentsTool({ name: "book_hotel", description: "Book", parameters: z.object({ hotel: z.string(), cost_cents: z.number() }), execute: async ({ hotel }) => { counts.book_hotel = (counts.book_hotel ?? 0) + 1; return `booked ${hotel}`; }, errorFunction: null }),
    agentsTool({ name: "wire_money", description: "Wire", parameters: z.object({ to: z.string() }), execute: async () => { counts.wire_money = (counts.wire_money ?? 0) + 1; return "sent"; } }),
  ];
}

const agentSpend = (d: { toolCall: { arguments?: string } }) => Number(JSON.parse(d.toolCall.arguments ?? "{}").cost_cents ?? 0);

describe("OpenAI Agents guardrail", () => {
  it("deny is rejectContent, allow runs once, model sees the reason", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel"], 500);
      const counts: Record<string, number> = {};
      const model = new ScriptedModel([["book_hotel", { hotel: "Inn", cost_cents: 300 }], ["wire_money", { to: "x" }]]);
      const tools = guardFunctionTools(agentTools(counts), binding, { requestedSpendCents: agentSpend });
      const result = await new Runner().run(new Agent({ name: "a", model, tools }), "go");
      expect(result.finalOutput).toBe("done");
      expect(counts).toEqual({ book_hotel: 1 });
      expect(model.toolOutputs().call_1).toMatch(/Paybond denied wire_money: harbor_denied: operation_not_allowed/);
    } finally {
      await t.close();
    }
  });

  it("guarded function tools consume their spend after the body ran (no hold-period refund)", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel"], 500);
      const counts: Record<string, number> = {};
      const model = new ScriptedModel([["book_hotel", { hotel: "Inn", cost_cents: 300 }]]);
      const tools = guardFunctionTools(agentTools(counts), binding, { requestedSpendCents: agentSpend });
      await new Runner().run(new Agent({ name: "a", model, tools }), "go");
      expect(counts).toEqual({ book_hotel: 1 });
      expect((t.harbor.stats() as Record<string, number>).decisionsConsumed).toBe(1);
      expect((await binding.authorize("book_hotel", "probe", {}, 0)).remainingCents).toBe(200);
    } finally {
      await t.close();
    }
  });

  it("binding from the run context; budget deny", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel"], 500);
      const counts: Record<string, number> = {};
      const model = new ScriptedModel([["book_hotel", { hotel: "A", cost_cents: 300 }], ["book_hotel", { hotel: "B", cost_cents: 300 }]]);
      const g = paybondCapabilityInputGuardrail({ requestedSpendCents: agentSpend });
      const tools = agentTools(counts);
      (tools[0] as { inputGuardrails?: unknown[] }).inputGuardrails = [g];
      const result = await new Runner().run(new Agent({ name: "a", model, tools }), "go", { context: binding });
      expect(result.finalOutput).toBe("done");
      expect(counts).toEqual({ book_hotel: 1 });
      expect(Object.values(model.toolOutputs()).some((o) => o.includes("budget_exceeded"))).toBe(true);
    } finally {
      await t.close();
    }
  });

  it.each(VERIFY_FAULTS)("fault %o: %s, never an uncaught error", async (fault, code) => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel"], 500);
      t.harbor.addFault({ route: "/verify", ...(fault as { kind: "status" }) });
      const counts: Record<string, number> = {};
      const model = new ScriptedModel([["wire_money", { to: "x" }]]);
      const tools = guardFunctionTools(agentTools(counts), binding);
      const result = await new Runner().run(new Agent({ name: "a", model, tools }), "go");
      expect(result.finalOutput).toBe("done");
      expect(counts).toEqual({});
      expect(model.toolOutputs().call_0).toContain(`: ${code}:`);
    } finally {
      await t.close();
    }
  });
});

it("PaybondDeniedError is exported", () => {
  expect(new PaybondDeniedError("m", "t", "c", null).code).toBe("denied");
});
