// Human approval through each framework's own pause/resume, on the dev server over HTTP:
// LangChain JS `interrupt` + `Command({ resume })` (MemorySaver, thread_id), OpenAI Agents JS
// `needsApproval` + `RunState.approve/reject`, and the `onApproval` hook for apps without a pause.
// An approved call runs exactly once on one reservation; a rejection reaches the model.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createAgent, tool, AIMessage, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { Command, END, interrupt, MemorySaver, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { Agent, Runner, tool as agentsTool, setTracingDisabled } from "@openai/agents";
import { Usage } from "@openai/agents-core";
import { createPaybondMiddleware, guardTools, type ApprovalRequest, type GuardEvent } from "../dist/esm/langchain.js";
import { guardFunctionTools } from "../dist/esm/openai-agents.js";
import { setup } from "./helpers.js";
import { ScriptedModel } from "./scripted-model.js";

setTracingDisabled(true);

type Stats = Record<string, number>;
type Interrupted = { __interrupt__?: { id: string; value: Record<string, unknown> }[]; messages: unknown[] };

/** An intent (1000 cents by default) whose calls above 500 need a reviewer. */
async function approvalSetup(amountCents = 1000, tools = ["pay"]) {
  const t = await setup();
  const intent = t.harbor.createIntent({ allowedTools: tools, amountCents, approvalThresholdCents: 500 });
  const { CapabilityBinding } = await import("../dist/esm/index.js");
  const binding = new CapabilityBinding(t.session.harbor, intent.intentId, intent.capabilityToken, {
    payeeDid: intent.payeeDid,
    payeeSigningSeed: intent.payeeSigningSeedHex ?? undefined,
  });
  const remaining = async () => (await binding.authorize(tools[0]!, `probe-${Math.random()}`, {}, 0)).remainingCents;
  return { t, binding, remaining, stats: () => t.harbor.stats() as Stats };
}

function lcPay(ran: number[]) {
  return tool(async ({ amount }: { amount: number }) => {
    ran.push(amount);
    return `paid ${amount}`;
  }, { name: "pay", description: "Pay (paid)", schema: z.object({ amount: z.number() }) });
}

/** The call's `amount` (function forms, so these tests do not depend on the per-tool mapping). */
const lcSpend = (req: { toolCall: { args: Record<string, unknown> } }) => Number(req.toolCall.args.amount);
const oaSpend = (d: { toolCall: { arguments?: string } }) => Number(JSON.parse(d.toolCall.arguments ?? "{}").amount);
const toolMessages = (out: { messages: unknown[] }) => out.messages.filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];

describe("LangChain JS: approval_required → interrupt → Command({ resume })", () => {
  it("pauses without running the tool; approve resumes and runs it once on one reservation", async () => {
    const { t, binding, remaining, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const events: GuardEvent[] = [];
      const model = fakeModel().respondWithTools([{ name: "pay", args: { amount: 600 }, id: "c1" }]).respond(new AIMessage("done"));
      const agent = createAgent({
        model, tools: [lcPay(ran)], checkpointer: new MemorySaver(),
        middleware: [createPaybondMiddleware({ binding, requestedSpendCents: lcSpend, evidence: () => ({ ok: true }), onDecision: (e) => events.push(e) })],
      });
      const config = { configurable: { thread_id: "approve-1" } };
      const paused = (await agent.invoke({ messages: [{ role: "user", content: "pay" }] }, config)) as Interrupted;
      expect(ran).toEqual([]);
      expect(paused.__interrupt__).toHaveLength(1);
      const payload = paused.__interrupt__![0]!.value;
      expect(payload).toMatchObject({ type: "paybond_approval", toolName: "pay", callId: "c1", args: { amount: 600 }, requestedSpendCents: 600 });
      expect(typeof payload.approvalRequestId).toBe("string");
      expect(String(payload.message)).toContain("approval");
      expect(stats().verifyAllows).toBe(0);

      const out = await agent.invoke(new Command({ resume: "approve" }), config);
      expect(ran).toEqual([600]);
      expect(out.messages.at(-1)!.content).toBe("done");
      expect(toolMessages(out).map((m) => [m.tool_call_id, m.status, m.content])).toEqual([["c1", "success", "paid 600"]]);
      const st = stats();
      expect([st.verifyAllows, st.decisionsConsumed, st.decisionsReleased, st.evidenceAccepted]).toEqual([1, 1, 0, 1]);
      expect(await remaining()).toBe(400);
      expect(events.map((e) => [e.toolName, e.decision.decision, e.ran, e.succeeded, e.approvalRequestId])).toEqual([["pay", "allow", true, true, payload.approvalRequestId]]);
    } finally {
      await t.close();
    }
  });

  it("reject reaches the model as a deny with the reviewer's reason; nothing is reserved", async () => {
    const { t, binding, remaining, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const events: GuardEvent[] = [];
      const model = fakeModel().respondWithTools([{ name: "pay", args: { amount: 700 }, id: "c1" }]).respond(new AIMessage("done"));
      const agent = createAgent({
        model, tools: [lcPay(ran)], checkpointer: new MemorySaver(),
        middleware: [createPaybondMiddleware({ binding, requestedSpendCents: lcSpend, onDecision: (e) => events.push(e) })],
      });
      const config = { configurable: { thread_id: "reject-1" } };
      const paused = (await agent.invoke({ messages: [{ role: "user", content: "pay" }] }, config)) as Interrupted;
      const id = paused.__interrupt__![0]!.value.approvalRequestId;
      const out = await agent.invoke(new Command({ resume: { decision: "reject", reason: "over the travel policy" } }), config);
      expect(ran).toEqual([]);
      const [tm] = toolMessages(out);
      expect(tm!.status).toBe("error");
      expect(String(tm!.content)).toBe("Paybond denied pay: harbor_denied: approval_rejected: over the travel policy");
      expect(out.messages.at(-1)!.content).toBe("done");
      expect(stats().verifyAllows).toBe(0);
      expect(await remaining()).toBe(1000);
      expect(events.map((e) => [e.decision.reason, e.ran, e.approvalRequestId])).toEqual([["approval_rejected", false, id]]);
    } finally {
      await t.close();
    }
  });

  it("parallel calls: each pauses on its own; HITL-shaped answers; the free call below the threshold is not re-run", async () => {
    const { t, binding, remaining, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const model = fakeModel()
        .respondWithTools([{ name: "pay", args: { amount: 100 }, id: "c1" }, { name: "pay", args: { amount: 510 }, id: "c2" }, { name: "pay", args: { amount: 520 }, id: "c3" }])
        .respond(new AIMessage("done"));
      const agent = createAgent({ model, tools: [lcPay(ran)], checkpointer: new MemorySaver(), middleware: [createPaybondMiddleware({ binding, requestedSpendCents: lcSpend })] });
      const config = { configurable: { thread_id: "parallel-1" } };
      const paused = (await agent.invoke({ messages: [{ role: "user", content: "pay" }] }, config)) as Interrupted;
      expect(ran).toEqual([100]);
      const pending = paused.__interrupt__!;
      expect(pending.map((i) => i.value.callId).sort()).toEqual(["c2", "c3"]);
      const resume = Object.fromEntries(pending.map((i) => [i.id, i.value.callId === "c2" ? { type: "approve" } : { type: "reject", message: "one is enough" }]));
      const out = await agent.invoke(new Command({ resume }), config);
      expect(ran.sort((a, b) => a - b)).toEqual([100, 510]);
      const byId = Object.fromEntries(toolMessages(out).map((m) => [m.tool_call_id, String(m.content)]));
      expect(byId).toEqual({ c1: "paid 100", c2: "paid 510", c3: "Paybond denied pay: harbor_denied: approval_rejected: one is enough" });
      expect(stats().verifyAllows).toBe(2);
      expect(stats().decisionsConsumed).toBe(2);
      expect(await remaining()).toBe(390);
    } finally {
      await t.close();
    }
  });

  it("an answer of another shape is a reject that says so", async () => {
    const { t, binding, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const model = fakeModel().respondWithTools([{ name: "pay", args: { amount: 600 }, id: "c1" }]).respond(new AIMessage("done"));
      const agent = createAgent({ model, tools: [lcPay(ran)], checkpointer: new MemorySaver(), middleware: [createPaybondMiddleware({ binding, requestedSpendCents: lcSpend })] });
      const config = { configurable: { thread_id: "odd-1" } };
      await agent.invoke({ messages: [{ role: "user", content: "pay" }] }, config);
      const out = await agent.invoke(new Command({ resume: "yes please" }), config);
      expect(ran).toEqual([]);
      expect(String(toolMessages(out)[0]!.content)).toMatch(/^Paybond denied pay: harbor_denied: approval_rejected: the approval answer was not understood .*"yes please"/);
      expect(stats().verifyAllows).toBe(0);
    } finally {
      await t.close();
    }
  });

  it("without a checkpointer or onApproval, approval_required is a deny (fail closed)", async () => {
    const { t, binding, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const model = fakeModel().respondWithTools([{ name: "pay", args: { amount: 600 }, id: "c1" }]).respond(new AIMessage("done"));
      const agent = createAgent({ model, tools: [lcPay(ran)], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: lcSpend })] });
      const out = await agent.invoke({ messages: [{ role: "user", content: "pay" }] });
      expect(ran).toEqual([]);
      const [tm] = toolMessages(out);
      expect(tm!.status).toBe("error");
      expect(String(tm!.content)).toMatch(/^Paybond denied pay: approval_required: .*\(approval request [0-9a-f-]{36}\)$/);
      expect(out.messages.at(-1)!.content).toBe("done");
      expect(stats().verifyAllows).toBe(0);
    } finally {
      await t.close();
    }
  });

  it("onApproval answers instead of an interrupt (no checkpointer); may be async", async () => {
    const { t, binding, remaining, stats } = await approvalSetup(2000);
    try {
      const ran: number[] = [];
      const asked: ApprovalRequest[] = [];
      const model = fakeModel()
        .respondWithTools([{ name: "pay", args: { amount: 600 }, id: "c1" }, { name: "pay", args: { amount: 800 }, id: "c2" }])
        .respond(new AIMessage("done"));
      const onApproval = async (r: ApprovalRequest) => {
        asked.push(r);
        return r.requestedSpendCents <= 600 ? ("approve" as const) : { decision: "reject" as const, reason: "too much" };
      };
      const agent = createAgent({ model, tools: [lcPay(ran)], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: lcSpend, onApproval })] });
      const out = await agent.invoke({ messages: [{ role: "user", content: "pay" }] });
      expect(ran).toEqual([600]);
      expect(asked.map((r) => [r.toolName, r.callId, r.args, r.requestedSpendCents]).sort()).toEqual([["pay", "c1", { amount: 600 }, 600], ["pay", "c2", { amount: 800 }, 800]]);
      expect(asked.every((r) => /^[0-9a-f-]{36}$/.test(r.approvalRequestId) && r.message.length > 0)).toBe(true);
      const byId = Object.fromEntries(toolMessages(out).map((m) => [m.tool_call_id, String(m.content)]));
      expect(byId).toEqual({ c1: "paid 600", c2: "Paybond denied pay: harbor_denied: approval_rejected: too much" });
      expect(stats().verifyAllows).toBe(1);
      expect(await remaining()).toBe(1400);
    } finally {
      await t.close();
    }
  });

  it("guardTools in a LangGraph ToolNode graph pauses and resumes the same way", async () => {
    const { t, binding, remaining, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const node = new ToolNode(guardTools([lcPay(ran)], { binding, requestedSpendCents: lcSpend }));
      const model = fakeModel().respondWithTools([{ name: "pay", args: { amount: 650 }, id: "c1" }]).respond(new AIMessage("done"));
      const graph = new StateGraph(MessagesAnnotation)
        .addNode("agent", async (s) => ({ messages: [await model.invoke(s.messages)] }))
        .addNode("tools", node)
        .addEdge(START, "agent")
        .addConditionalEdges("agent", (s) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? "tools" : END), ["tools", END])
        .addEdge("tools", "agent")
        .compile({ checkpointer: new MemorySaver() });
      const config = { configurable: { thread_id: "toolnode-1" } };
      const paused = (await graph.invoke({ messages: [{ role: "user", content: "pay" }] }, config)) as unknown as Interrupted;
      expect(ran).toEqual([]);
      expect(paused.__interrupt__?.[0]?.value).toMatchObject({ type: "paybond_approval", toolName: "pay", callId: "c1", requestedSpendCents: 650 });
      const out = await graph.invoke(new Command({ resume: true }), config);
      expect(ran).toEqual([650]);
      expect(out.messages.at(-1)!.content).toBe("done");
      expect(stats().verifyAllows).toBe(1);
      expect(await remaining()).toBe(350);
    } finally {
      await t.close();
    }
  });

  it("a tool body that interrupts is neither finished nor re-reserved; its resume completes the same reservation", async () => {
    const { t, binding, remaining, stats } = await approvalSetup();
    try {
      let started = 0;
      const done: string[] = [];
      const confirm = tool(async ({ amount }: { amount: number }) => {
        started++;
        const answer = interrupt({ question: `really pay ${amount}?` }) as string;
        done.push(answer);
        return `paid ${amount} (${answer})`;
      }, { name: "pay", description: "Pay after asking", schema: z.object({ amount: z.number() }) });
      const model = fakeModel().respondWithTools([{ name: "pay", args: { amount: 100 }, id: "c1" }]).respond(new AIMessage("done"));
      const agent = createAgent({ model, tools: [confirm], checkpointer: new MemorySaver(), middleware: [createPaybondMiddleware({ binding, requestedSpendCents: lcSpend })] });
      const config = { configurable: { thread_id: "body-interrupt-1" } };
      const paused = (await agent.invoke({ messages: [{ role: "user", content: "pay" }] }, config)) as Interrupted;
      expect(paused.__interrupt__?.[0]?.value).toEqual({ question: "really pay 100?" });
      let st = stats();
      expect([st.verifyAllows, st.decisionsConsumed, st.decisionsReleased]).toEqual([1, 0, 0]);
      const out = await agent.invoke(new Command({ resume: "yes" }), config);
      expect([started, done]).toEqual([2, ["yes"]]); // the node re-executes from its start on resume
      expect(String(toolMessages(out)[0]!.content)).toBe("paid 100 (yes)");
      st = stats();
      expect([st.verifyAllows, st.decisionsConsumed, st.decisionsReleased]).toEqual([1, 1, 0]);
      expect(await remaining()).toBe(900);
    } finally {
      await t.close();
    }
  });
});

/** A scripted OpenAI Agents model: turn k calls `turns[k]` (ids `call_k_j`), then it says "done". */
class TurnsModel extends ScriptedModel {
  constructor(private turns: [string, Record<string, unknown>][][]) {
    super([]);
  }
  override async getResponse(request: Parameters<ScriptedModel["getResponse"]>[0]) {
    this.inputs.push(request.input);
    const k = this.inputs.length - 1;
    const calls = this.turns[k];
    const output = calls
      ? calls.map(([name, args], j) => ({ type: "function_call" as const, id: `fc_${k}_${j}`, callId: `call_${k}_${j}`, name, arguments: JSON.stringify(args), status: "completed" as const }))
      : [{ type: "message" as const, id: "m1", role: "assistant" as const, status: "completed" as const, content: [{ type: "output_text" as const, text: "done" }] }];
    return { usage: new Usage(), output, responseId: undefined } as unknown as Awaited<ReturnType<ScriptedModel["getResponse"]>>;
  }
}

function agentsPay(ran: number[]) {
  return agentsTool({
    name: "pay", description: "Pay (paid)", parameters: z.object({ amount: z.number() }),
    execute: async ({ amount }) => {
      ran.push(amount);
      return `paid ${amount}`;
    },
  });
}

describe("OpenAI Agents JS: approval_required → needsApproval → RunState.approve / reject", () => {
  it("pauses without running the tool; state.approve resumes, Harbor records it, the tool runs once on one reservation", async () => {
    const { t, binding, remaining, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const events: GuardEvent[] = [];
      const model = new ScriptedModel([["pay", { amount: 600 }]]);
      const agent = new Agent({ name: "a", model, tools: guardFunctionTools([agentsPay(ran)], binding, { requestedSpendCents: oaSpend, onDecision: (e) => events.push(e) }) });
      const first = await new Runner().run(agent, "pay");
      expect(ran).toEqual([]);
      expect(first.interruptions).toHaveLength(1);
      expect(first.interruptions![0]!.rawItem).toMatchObject({ name: "pay", callId: "call_0" });
      expect(stats().verifyAllows).toBe(0);

      first.state.approve(first.interruptions![0]!);
      const second = await new Runner().run(agent, first.state);
      expect(second.finalOutput).toBe("done");
      expect(ran).toEqual([600]);
      expect(model.toolOutputs().call_0).toContain("paid 600");
      const st = stats();
      expect([st.verifyAllows, st.decisionsConsumed, st.decisionsReleased]).toEqual([1, 1, 0]);
      expect(await remaining()).toBe(400);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ toolName: "pay", callId: "call_0", ran: true, succeeded: true });
      expect(events[0]!.approvalRequestId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await t.close();
    }
  });

  it("state.reject never runs the tool; the model reads the rejection text; nothing is reserved", async () => {
    const { t, binding, remaining, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const model = new ScriptedModel([["pay", { amount: 900 }]]);
      const agent = new Agent({ name: "a", model, tools: guardFunctionTools([agentsPay(ran)], binding, { requestedSpendCents: oaSpend }) });
      const first = await new Runner().run(agent, "pay");
      first.state.reject(first.interruptions![0]!, { message: "not this month" });
      const second = await new Runner().run(agent, first.state);
      expect(second.finalOutput).toBe("done");
      expect(ran).toEqual([]);
      expect(model.toolOutputs().call_0).toContain("not this month");
      expect(stats().verifyAllows).toBe(0);
      expect(await remaining()).toBe(1000);
    } finally {
      await t.close();
    }
  });

  it("with preApprovalInputGuardrails the guardrail's first pass lets the pause happen; approve still runs once", async () => {
    const { t, binding, remaining, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const model = new ScriptedModel([["pay", { amount: 600 }], ["pay", { amount: 50 }]]);
      const agent = new Agent({ name: "a", model, tools: guardFunctionTools([agentsPay(ran)], binding, { requestedSpendCents: oaSpend }) });
      const runner = new Runner({ toolExecution: { preApprovalInputGuardrails: true } });
      const first = await runner.run(agent, "pay");
      expect(first.interruptions!.map((i) => (i.rawItem as { callId: string }).callId)).toEqual(["call_0"]);
      expect(ran).toEqual([50]);
      first.state.approve(first.interruptions![0]!);
      const second = await runner.run(agent, first.state);
      expect(second.finalOutput).toBe("done");
      expect(ran.sort((a, b) => a - b)).toEqual([50, 600]);
      expect(stats().verifyAllows).toBe(2);
      expect(await remaining()).toBe(350);
    } finally {
      await t.close();
    }
  });

  it("onApproval answers instead of the SDK pause: no interruption", async () => {
    const { t, binding, remaining } = await approvalSetup(2000);
    try {
      const ran: number[] = [];
      const asked: ApprovalRequest[] = [];
      const model = new ScriptedModel([["pay", { amount: 600 }], ["pay", { amount: 700 }]]);
      const onApproval = (r: ApprovalRequest) => {
        asked.push(r);
        return r.callId === "call_0";
      };
      const agent = new Agent({ name: "a", model, tools: guardFunctionTools([agentsPay(ran)], binding, { requestedSpendCents: oaSpend, onApproval }) });
      const result = await new Runner().run(agent, "pay");
      expect(result.interruptions ?? []).toEqual([]);
      expect(result.finalOutput).toBe("done");
      expect(ran).toEqual([600]);
      expect(asked.map((r) => [r.callId, r.requestedSpendCents]).sort()).toEqual([["call_0", 600], ["call_1", 700]]);
      expect(model.toolOutputs().call_1).toContain("approval_rejected");
      expect(await remaining()).toBe(1400);
    } finally {
      await t.close();
    }
  });

  it("a sticky approval (alwaysApprove) is not forwarded to Harbor for a later call", async () => {
    const { t, binding, stats } = await approvalSetup();
    try {
      const ran: number[] = [];
      const own = agentsTool({ name: "pay", description: "Pay", parameters: z.object({ amount: z.number() }), needsApproval: true, execute: async ({ amount }) => { ran.push(amount); return "paid"; } });
      // Turn 1 pays 100 (below Harbor's threshold; the tool's own needsApproval pauses), turn 2 pays 800.
      const model = new TurnsModel([[["pay", { amount: 100 }]], [["pay", { amount: 800 }]]]);
      const agent = new Agent({ name: "a", model, tools: guardFunctionTools([own], binding, { requestedSpendCents: oaSpend }) });
      const first = await new Runner().run(agent, "pay");
      expect(first.interruptions).toHaveLength(1);
      first.state.approve(first.interruptions![0]!, { alwaysApprove: true });
      const second = await new Runner().run(agent, first.state);
      expect(second.interruptions ?? []).toEqual([]); // the sticky approval covers turn 2 in the SDK
      expect(second.finalOutput).toBe("done");
      expect(ran).toEqual([100]);
      expect(model.toolOutputs().call_1_0).toContain("approval_required");
      expect(stats().verifyAllows).toBe(1);
    } finally {
      await t.close();
    }
  });
});
