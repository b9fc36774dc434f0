/**
 * Delegation by attenuation: `CapabilityBinding.attenuate` and the framework hand-offs, with the
 * real @openai/agents and LangGraph JS packages, scripted models and the dev server.
 */
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createAgent, tool, ToolMessage, AIMessage, HumanMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { Agent, Runner, handoff, tool as agentsTool, setTracingDisabled } from "@openai/agents";
import type { Model, ModelRequest, ModelResponse } from "@openai/agents";
import { Usage } from "@openai/agents-core";
import { StateGraph, MessagesAnnotation, START, END } from "@langchain/langgraph";
import { createPaybondMiddleware } from "../dist/esm/langchain.js";
import { guardFunctionTools } from "../dist/esm/openai-agents.js";
import { CapabilityBinding, InvalidArgumentError, delegateAsTool, delegateHandoff, delegateNode, guardSubagent } from "../dist/esm/index.js";
import * as oa from "../dist/esm/openai-agents.js";
import { setup } from "./helpers.js";

setTracingDisabled(true);

/** Turn 1 calls the tools (call ids carry `prefix`: several models share one run), turn 2 says "done". */
class Scripted implements Model {
  inputs: unknown[] = [];
  constructor(
    public prefix: string,
    private calls: [string, Record<string, unknown>][],
  ) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.inputs.push(request.input);
    const output =
      this.inputs.length === 1
        ? this.calls.map(([name, args], k) => ({ type: "function_call" as const, id: `fc_${this.prefix}_${k}`, callId: `${this.prefix}_${k}`, name, arguments: JSON.stringify(args), status: "completed" as const }))
        : [{ type: "message" as const, id: `m_${this.prefix}`, role: "assistant" as const, status: "completed" as const, content: [{ type: "output_text" as const, text: "done" }] }];
    return { usage: new Usage(), output, responseId: undefined } as unknown as ModelResponse;
  }
  // eslint-disable-next-line require-yield
  getStreamedResponse(): AsyncIterable<never> {
    throw new Error("not used");
  }
  /** (tool name, output text) per scripted call, in order. */
  outputs(): [string, string][] {
    const last = (this.inputs.at(-1) ?? []) as { type?: string; callId?: string; output?: unknown }[];
    const byId: Record<string, string> = {};
    for (const it of Array.isArray(last) ? last : []) {
      if (it.type === "function_call_result") byId[String(it.callId)] = JSON.stringify(it.output);
    }
    return this.calls.map(([name], k) => [name, byId[`${this.prefix}_${k}`] ?? ""]);
  }
}

function agentTools(counts: Record<string, number>) {
  const bump = (n: string) => (counts[n] = (counts[n] ?? 0) + 1);
  return [
    agentsTool({ name: "search", description: "Search", parameters: z.object({ query: z.string(), cost_cents: z.number() }), execute: async ({ query }) => { bump("search"); return `found ${query}`; } }),
    agentsTool({ name: "book_hotel", description: "Book", parameters: z.object({ hotel: z.string(), cost_cents: z.number() }), execute: async ({ hotel }) => { bump("book_hotel"); return `booked ${hotel}`; } }),
  ];
}

const spend = (d: { toolCall: { arguments?: string } }) => Number((JSON.parse(d.toolCall.arguments || "{}") as { cost_cents?: number }).cost_cents ?? 0);
const denials = (m: Scripted) => m.outputs().filter(([, o]) => o.includes("Paybond denied")).map(([, o]) => /harbor_denied: (\w+)/.exec(o)?.[1] ?? o).sort();

describe("CapabilityBinding.attenuate", () => {
  it("narrows offline; the parent keeps its scope and pays for the child", async () => {
    const t = await setup();
    try {
      const { binding, intent } = t.bind(["search", "book_hotel"], 1000);
      const before = (t.harbor.stats() as Record<string, number>).verifies;
      const child = binding.attenuate({ tools: ["search"], maxSpendPerCallCents: 100, expiresInSeconds: 600, maxCalls: 2 });
      expect((t.harbor.stats() as Record<string, number>).verifies).toBe(before);
      expect(child).toBeInstanceOf(CapabilityBinding);
      expect(child).not.toBe(binding);
      expect([child.intentId, child.tenantId, child.harbor]).toEqual([binding.intentId, binding.tenantId, binding.harbor]);
      const secret = intent.capabilityToken.slice(0, 32);
      expect(JSON.stringify(child)).not.toContain(secret);
      expect(inspect(child)).not.toContain(secret);
      expect((await child.authorize("search", "c1", {}, 100)).decision).toBe("allow");
      expect((await child.authorize("book_hotel", "c2", {}, 1)).reason).toBe("operation_not_allowed");
      expect((await child.authorize("search", "c3", {}, 101n)).reason).toBe("spend_cap_exceeded");
      expect((await child.authorize("search", "c4", {}, 1)).decision).toBe("allow");
      expect((await child.authorize("search", "c5", {}, 1)).reason).toBe("max_calls_exceeded");
      const p = await binding.authorize("book_hotel", "p1", {}, 1);
      expect([p.decision, p.remainingCents]).toEqual(["allow", 1000 - 100 - 1 - 1]);
      t.harbor.advanceClock(601);
      const grandchild = binding.attenuate({ tools: ["search"] });
      expect((await grandchild.authorize("search", "g1", {}, 1)).decision).toBe("allow");
      expect((await child.authorize("search", "c6", {}, 1)).reason).toBe("token_expired");
    } finally {
      await t.close();
    }
  });

  it.each([
    [{ tools: ["wire_money"] }, "tools"],
    [{ tools: [] }, "tools"],
    [{ tools: "search" }, "tools"],
    [{ tools: [1] }, "tools"],
    [{ maxSpendPerCallCents: 1001 }, "maxSpendPerCallCents"],
    [{ maxSpendPerCallCents: -1 }, "maxSpendPerCallCents"],
    [{ maxSpendPerCallCents: 1.5 }, "maxSpendPerCallCents"],
    [{ maxSpendPerCallCents: Number.NaN }, "maxSpendPerCallCents"],
    [{ maxSpendPerCallCents: "100" }, "maxSpendPerCallCents"],
    [{ maxSpendPerCallCents: true }, "maxSpendPerCallCents"],
    [{ expiresInSeconds: 0 }, "expiresInSeconds"],
    [{ expiresInSeconds: 10 * 86400 }, "expiresInSeconds"],
    [{ expiresInSeconds: Infinity }, "expiresInSeconds"],
    [{ maxCalls: 0 }, "maxCalls"],
    [{ maxCalls: 2n ** 70n }, "maxCalls"],
    [{ maxCalls: 2.5 }, "maxCalls"],
  ])("refuses %o naming %s", async (opts, field) => {
    const t = await setup();
    try {
      const { binding } = t.bind(["search"], 1000);
      let err: unknown;
      try {
        binding.attenuate(opts as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe(field);
      expect(() => binding.attenuate(42 as never)).toThrow(InvalidArgumentError);
    } finally {
      await t.close();
    }
  });
});

describe("OpenAI Agents JS delegation", () => {
  it("a handoff's sub-agent is denied outside its scope where the parent could act", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["search", "book_hotel"], 1000);
      const counts: Record<string, number> = {};
      const sub = new Scripted("sub", [["search", { query: "inns", cost_cents: 0 }], ["book_hotel", { hotel: "Inn", cost_cents: 0 }]]);
      const researcher = new Agent({ name: "researcher", model: sub, tools: agentTools(counts) });
      const triage = new Agent({
        name: "triage",
        model: new Scripted("triage", [["transfer_to_researcher", {}]]),
        tools: guardFunctionTools(agentTools(counts).slice(1), binding),
        handoffs: [delegateHandoff(handoff(researcher), { binding, tools: ["search"] })],
      });
      const result = await new Runner().run(triage, "find and book an inn");
      expect(result.finalOutput).toBe("done");
      expect(counts).toEqual({ search: 1 });
      expect(denials(sub)).toEqual(["operation_not_allowed"]);
      expect((await binding.authorize("book_hotel", "p1", {}, 0)).decision).toBe("allow");
      expect(researcher.tools.every((x) => !((x as { inputGuardrails?: unknown[] }).inputGuardrails ?? []).length)).toBe(true);
    } finally {
      await t.close();
    }
  });

  it("auditAgent counts delegated handoffs and agent tools as guarded, and guardAgent accepts them", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["search", "book_hotel"], 1000);
      const counts: Record<string, number> = {};
      const researcher = new Agent({ name: "researcher", model: new Scripted("sub", []), tools: agentTools(counts) });
      const plain = new Agent({ name: "plain", model: new Scripted("p", []), handoffs: [handoff(researcher)], tools: [researcher.asTool({ toolName: "ask", toolDescription: "a" })] });
      expect(oa.auditAgent(plain).filter((p) => !p.guarded).map((p) => p.kind).sort()).toEqual(["agent_as_tool", "handoff"]);
      const triage = new Agent({
        name: "triage",
        model: new Scripted("triage", []),
        handoffs: [delegateHandoff(handoff(researcher), { binding, tools: ["search"] })],
        tools: [delegateAsTool(researcher, { toolName: "research", toolDescription: "r" }, { binding, tools: ["search"] })],
      });
      const paths = oa.auditAgent(triage);
      expect(paths.map((p) => [p.kind, p.guarded]).sort()).toEqual([["agent_as_tool", true], ["handoff", true]]);
      expect(() => oa.guardAgent(triage, { binding })).not.toThrow();
    } finally {
      await t.close();
    }
  });

  it("reads the parent from the run context and replaces the parent's guard on the sub-agent's tools", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["search", "book_hotel"], 1000);
      const counts: Record<string, number> = {};
      const sub = new Scripted("sub", [["book_hotel", { hotel: "A", cost_cents: 0 }], ["search", { query: "q", cost_cents: 0 }]]);
      const researcher = new Agent({ name: "researcher", model: sub, tools: guardFunctionTools(agentTools(counts), binding) });
      const triage = new Agent({ name: "triage", model: new Scripted("triage", [["transfer_to_researcher", {}]]), handoffs: [delegateHandoff(handoff(researcher), { tools: ["search"], maxCalls: 1 })] });
      await new Runner().run(triage, "go", { context: binding });
      expect(counts).toEqual({ search: 1 });
      expect(denials(sub)).toEqual(["operation_not_allowed"]);
    } finally {
      await t.close();
    }
  });

  it("agent.asTool: max calls, the child's cap, spend from the parent intent, a fresh child per call", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["search"], 1000);
      const counts: Record<string, number> = {};
      const sub = new Scripted("sub", [
        ["search", { query: "a", cost_cents: 100 }],
        ["search", { query: "b", cost_cents: 400 }],
        ["search", { query: "c", cost_cents: 100 }],
        ["search", { query: "d", cost_cents: 100 }],
      ]);
      const researcher = new Agent({ name: "researcher", model: sub, tools: agentTools(counts).slice(0, 1) });
      const research = delegateAsTool(researcher, { toolName: "research", toolDescription: "Research a topic." }, { binding, maxSpendPerCallCents: 300, maxCalls: 2, requestedSpendCents: spend });
      const parent = new Scripted("parent", [["research", { input: "inns in Lyon" }]]);
      const result = await new Runner().run(new Agent({ name: "planner", model: parent, tools: [research] }), "plan");
      expect(result.finalOutput).toBe("done");
      expect(counts).toEqual({ search: 2 });
      expect(denials(sub)).toEqual(["max_calls_exceeded", "spend_cap_exceeded"]);
      const after = await binding.authorize("search", "after", {}, 0);
      expect([after.decision, after.remainingCents]).toEqual(["allow", 800]);
      // Another call of the tool is another delegation: a fresh maxCalls (call ids are single-use).
      sub.inputs = [];
      sub.prefix = "sub2";
      parent.inputs = [];
      parent.prefix = "parent2";
      await new Runner().run(new Agent({ name: "planner", model: parent, tools: [research] }), "again");
      expect(counts).toEqual({ search: 4 });
    } finally {
      await t.close();
    }
  });

  it("without a parent binding the agent tool answers a deny and the sub-agent never runs", async () => {
    const t = await setup();
    try {
      const counts: Record<string, number> = {};
      const sub = new Scripted("sub", [["search", { query: "a", cost_cents: 0 }]]);
      const researcher = new Agent({ name: "researcher", model: sub, tools: agentTools(counts).slice(0, 1) });
      const parent = new Scripted("parent", [["research", { input: "x" }]]);
      const research = delegateAsTool(researcher, { toolName: "research", toolDescription: "r" });
      await new Runner().run(new Agent({ name: "planner", model: parent, tools: [research] }), "plan");
      expect(counts).toEqual({});
      expect(sub.inputs).toEqual([]);
      expect(parent.outputs()[0][1]).toMatch(/Paybond denied research: invalid_argument: .*binding/);
    } finally {
      await t.close();
    }
  });

  it("refuses at construction a delegation wider than the parent", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["search"], 1000);
      const researcher = new Agent({ name: "researcher", tools: agentTools({}) }); // book_hotel: not the parent's
      const field = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return (e as InvalidArgumentError).field;
        }
        return "no error";
      };
      expect(field(() => delegateHandoff(handoff(researcher), { binding }))).toBe("tools");
      expect(field(() => delegateAsTool(researcher, { toolName: "r" }, { binding, tools: ["search"], maxSpendPerCallCents: 5000 }))).toBe("maxSpendPerCallCents");
      expect(field(() => delegateHandoff(handoff(researcher), { binding: "nope" as never }))).toBe("binding");
      expect(field(() => delegateHandoff({} as never, { binding }))).toBe("handoff");
      await expect(guardSubagent(researcher, undefined as never)).rejects.toThrow(InvalidArgumentError);
      const copy = await guardSubagent(researcher, binding.attenuate({ tools: ["search"] }));
      expect(copy).not.toBe(researcher);
      expect(copy.tools.length).toBe(2);
    } finally {
      await t.close();
    }
  });
});

describe("LangGraph JS delegation", () => {
  it("a sub-agent node is narrower than its parent, with maxCalls per run", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["search", "book"], 1000);
      const counts: Record<string, number> = {};
      const bump = (n: string) => (counts[n] = (counts[n] ?? 0) + 1);
      const search = tool(async ({ query }: { query: string }) => { bump("search"); return `found ${query}`; }, { name: "search", description: "Search", schema: z.object({ query: z.string() }) });
      const book = tool(async ({ hotel }: { hotel: string }) => { bump("book"); return `booked ${hotel}`; }, { name: "book", description: "Book", schema: z.object({ hotel: z.string() }) });
      let runs = 0;
      const node = delegateNode(
        (child) => {
          runs += 1;
          const model = fakeModel()
            .respondWithTools([{ name: "search", args: { query: "a" }, id: `s1_${runs}` }, { name: "search", args: { query: "b" }, id: `s2_${runs}` }, { name: "book", args: { hotel: "Inn" }, id: `b_${runs}` }])
            .respond(new AIMessage("done"));
          return createAgent({ model, tools: [search, book], middleware: [createPaybondMiddleware({ binding: child })] });
        },
        binding,
        { tools: ["search"], maxCalls: 1 },
      );
      const graph = new StateGraph(MessagesAnnotation).addNode("research", node).addEdge(START, "research").addEdge("research", END).compile();
      const out = await graph.invoke({ messages: [new HumanMessage("research")] });
      expect(counts).toEqual({ search: 1 });
      const tms = out.messages.filter((m: unknown) => ToolMessage.isInstance(m)) as ToolMessage[];
      const denied = tms.map((m) => String(m.content)).filter((c) => c.startsWith("Paybond denied")).map((c) => /harbor_denied: (\w+)/.exec(c)?.[1]).sort();
      expect(denied).toEqual(["max_calls_exceeded", "operation_not_allowed"]);
      expect(out.messages.at(-1)!.content).toBe("done");
      expect((await binding.authorize("book", "p1", {}, 0)).decision).toBe("allow");
      await graph.invoke({ messages: [new HumanMessage("again")] });
      expect([counts.search, runs]).toEqual([2, 2]);
      expect(() => delegateNode(() => createAgent({ model: fakeModel(), tools: [] }), binding, { tools: ["wire_money"] })).toThrow(InvalidArgumentError);
      expect(() => delegateNode(() => createAgent({ model: fakeModel(), tools: [] }), binding, {} as never)).toThrow(/tools/);
    } finally {
      await t.close();
    }
  });
});

describe("attenuate refuses unknown options", () => {
  it("a misspelt limit is an InvalidArgumentError, not a child with the parent's authority", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["search"], 1000);
      expect(() => binding.attenuate({ max_calls: 1 } as never)).toThrow(InvalidArgumentError);
      expect(() => binding.attenuate({ max_calls: 1 } as never)).toThrow(/max_calls/);
      expect(binding.attenuate({ maxCalls: 1 }).intentId).toBe(binding.intentId);
    } finally {
      await t.close();
    }
  });
});
