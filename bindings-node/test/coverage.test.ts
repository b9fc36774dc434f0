// Nothing unguarded by surprise: `auditAgent` lists every tool path, the guards refuse to build
// around a path they cannot see unless it is listed in `unguarded`, a listed function tool skips
// Harbor (free tool), and a dynamic LangChain tool (`request.tool` undefined) is a deny.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createAgent, createMiddleware, tool, AIMessage, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { Agent, MCPServerStdio, Runner, hostedMcpTool, shellTool, tool as agentsTool, setTracingDisabled, webSearchTool } from "@openai/agents";
import { UnguardedToolError } from "../dist/esm/index.js";
import * as lc from "../dist/esm/langchain.js";
import * as oa from "../dist/esm/openai-agents.js";
import { setup } from "./helpers.js";
import { ScriptedModel } from "./scripted-model.js";

setTracingDisabled(true);

type Stats = Record<string, number>;

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectUnguarded(e: unknown, paths: string[]): void {
  expect(e, String(e)).toBeInstanceOf(UnguardedToolError);
  const err = e as UnguardedToolError;
  expect(err.code).toBe("unguarded_tool");
  expect([...err.paths].sort()).toEqual([...paths].sort());
  for (const p of paths) expect(err.message).toContain(p);
  expect(err.message).toContain("unguarded: [...]");
}

function agentsTools(ran: string[]) {
  const pay = agentsTool({ name: "pay", description: "Pay", parameters: z.object({ amount: z.number() }), execute: async ({ amount }) => { ran.push("pay"); return `paid ${amount}`; } });
  const search = agentsTool({ name: "search", description: "Search (free)", parameters: z.object({ q: z.string() }), execute: async ({ q }) => { ran.push("search"); return `found ${q}`; } });
  return { pay, search };
}

describe("OpenAI Agents: auditAgent and guardAgent", () => {
  it("reports a hosted tool, hosted MCP, a shell tool, a handoff, an agent-as-tool and an MCP server; guardAgent refuses them unless listed", () => {
    const ran: string[] = [];
    const { pay } = agentsTools(ran);
    const billing = new Agent({ name: "Billing desk", instructions: "bill" });
    const researcher = new Agent({ name: "researcher", instructions: "research" });
    const build = () =>
      new Agent({
        name: "travel",
        tools: [
          pay,
          webSearchTool(),
          hostedMcpTool({ serverLabel: "crm", serverUrl: "https://mcp.example.invalid" }),
          shellTool({ shell: { run: async () => ({ output: [] }) } as never }),
          researcher.asTool({ toolName: "research", toolDescription: "Ask the researcher" }),
        ],
        handoffs: [billing],
        mcpServers: [new MCPServerStdio({ name: "files", fullCommand: "true" })],
      });
    const agent = build();
    const paths = oa.auditAgent(agent).map((p) => [p.kind, p.name, p.guarded]);
    expect(paths).toEqual([
      ["function", "pay", false],
      ["hosted", "web_search", false],
      ["mcp", "crm", false],
      ["shell", "shell", false],
      ["agent_as_tool", "research", false],
      ["handoff", "transfer_to_Billing_desk", false],
      ["mcp", "files", false],
    ]);
    const all = ["hosted:web_search", "mcp:crm", "shell:shell", "agent_as_tool:research", "handoff:transfer_to_Billing_desk", "mcp:files"];
    expectUnguarded(thrown(() => oa.guardAgent(agent)), all);
    expect((pay as { inputGuardrails?: unknown[] }).inputGuardrails ?? []).toEqual([]); // nothing half-guarded
    expectUnguarded(thrown(() => oa.guardAgent(build(), { unguarded: ["web_search", "crm", "shell", "research", "transfer_to_Billing_desk"] })), ["mcp:files"]);

    const ok = oa.guardAgent(build(), { unguarded: ["web_search", "crm", "shell", "research", "transfer_to_Billing_desk", "files"] });
    expect(oa.auditAgent(ok).filter((p) => p.guarded).map((p) => p.name)).toEqual(["pay"]);
  });

  it("guardFunctionTools refuses a hosted tool or an agent-as-tool in the list unless listed", () => {
    const ran: string[] = [];
    const { pay } = agentsTools(ran);
    const sub = new Agent({ name: "helper", instructions: "help" }).asTool({ toolName: "helper", toolDescription: "Help" });
    expectUnguarded(thrown(() => oa.guardFunctionTools([pay, webSearchTool(), sub] as never[])), ["hosted:web_search", "agent_as_tool:helper"]);
    const tools = oa.guardFunctionTools([pay, webSearchTool(), sub] as never[], undefined, { unguarded: ["web_search", "helper"] });
    expect(tools).toHaveLength(3);
    expect(((sub as { inputGuardrails?: unknown[] }).inputGuardrails ?? []).length).toBe(0);
    expect(((pay as { inputGuardrails?: unknown[] }).inputGuardrails ?? []).length).toBe(1);
  });

  it("a function tool listed in unguarded runs without Harbor; the others still verify", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 1000);
      const ran: string[] = [];
      const { pay, search } = agentsTools(ran);
      const model = new ScriptedModel([["search", { q: "inns" }], ["pay", { amount: 100 }]]);
      const agent = oa.guardAgent(new Agent({ name: "a", model, tools: [pay, search] }), { binding, requestedSpendCents: { pay: (a) => a.amount }, unguarded: ["search"] });
      expect(oa.auditAgent(agent).map((p) => [p.name, p.guarded])).toEqual([["pay", true], ["search", false]]);
      const result = await new Runner().run(agent, "go");
      expect(result.finalOutput).toBe("done");
      expect(ran.sort()).toEqual(["pay", "search"]);
      const st = t.harbor.stats() as Stats;
      expect([st.verifies, st.verifyAllows, st.decisionsConsumed]).toEqual([1, 1, 1]); // only pay reached Harbor
    } finally {
      await t.close();
    }
  });

  it("bad unguarded values are InvalidArgumentError", () => {
    for (const bad of ["search", [""], [1]]) {
      const e = thrown(() => oa.guardFunctionTools([], undefined, { unguarded: bad as never })) as { code?: string; field?: string };
      expect([e?.code, e?.field]).toEqual(["invalid_argument", "unguarded"]);
    }
  });
});

function lcTools(ran: string[]) {
  const pay = tool(async ({ amount }: { amount: number }) => { ran.push("pay"); return `paid ${amount}`; }, { name: "pay", description: "Pay", schema: z.object({ amount: z.number() }) });
  const search = tool(async ({ q }: { q: string }) => { ran.push("search"); return `found ${q}`; }, { name: "search", description: "Search (free)", schema: z.object({ q: z.string() }) });
  return { pay, search };
}

const providerTool = { type: "web_search_preview" } as const;

describe("LangChain: auditAgent, provider tools, free tools, dynamic tools", () => {
  it("auditAgent reports a provider tool; the middleware refuses it before the model is called unless listed", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 1000);
      const ran: string[] = [];
      const { pay } = lcTools(ran);
      let modelCalls = 0;
      const counting = createMiddleware({ name: "Count", wrapModelCall: async (req, handler) => { modelCalls++; return handler(req); } });
      const make = (unguarded?: string[]) =>
        createAgent({
          model: fakeModel().respondWithTools([{ name: "pay", args: { amount: 100 }, id: "c1" }]).respond(new AIMessage("done")),
          tools: [pay, providerTool as never],
          middleware: [lc.createPaybondMiddleware({ binding, requestedSpendCents: 100, unguarded }), counting],
        });
      const agent = make();
      expect(lc.auditAgent(agent).map((p) => [p.kind, p.name, p.guarded])).toEqual([["function", "pay", true], ["provider", "web_search_preview", false]]);
      // LangChain wraps a middleware's error in its MiddlewareError: the UnguardedToolError is its cause.
      let e = await agent.invoke({ messages: [{ role: "user", content: "go" }] }).catch((x: unknown) => x);
      while (e instanceof Error && !(e instanceof UnguardedToolError) && e.cause) e = e.cause;
      expectUnguarded(e, ["provider:web_search_preview"]);
      expect([modelCalls, ran.length, (t.harbor.stats() as Stats).verifies]).toEqual([0, 0, 0]);

      const listed = make(["web_search_preview"]);
      const out = await listed.invoke({ messages: [{ role: "user", content: "go" }] });
      expect(out.messages.at(-1)!.content).toBe("done");
      expect(ran).toEqual(["pay"]);
      expect(lc.auditAgent(listed).map((p) => [p.kind, p.name, p.guarded])).toEqual([["function", "pay", true], ["provider", "web_search_preview", false]]);
    } finally {
      await t.close();
    }
  });

  it("auditAgent on an agent without the middleware, a ToolNode of guardTools, and a tool list", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 1000);
      const ran: string[] = [];
      const { pay, search } = lcTools(ran);
      const bare = createAgent({ model: fakeModel(), tools: [pay, search] });
      expect(lc.auditAgent(bare).map((p) => [p.name, p.guarded])).toEqual([["pay", false], ["search", false]]);
      const node = new ToolNode(lc.guardTools([pay, search], { binding, unguarded: ["search"] }));
      expect(lc.auditAgent(node).map((p) => [p.name, p.guarded])).toEqual([["pay", true], ["search", false]]);
      expect(lc.auditAgent([pay, providerTool]).map((p) => [p.kind, p.guarded])).toEqual([["function", false], ["provider", false]]);
      expect((thrown(() => lc.auditAgent(42)) as { code?: string }).code).toBe("invalid_argument");
    } finally {
      await t.close();
    }
  });

  it("guardTools refuses a provider tool in the list unless listed (then passes it through untouched)", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 1000);
      const { pay } = lcTools([]);
      expectUnguarded(thrown(() => lc.guardTools([pay, providerTool as never], { binding })), ["provider:web_search_preview"]);
      const out = lc.guardTools([pay, providerTool as never], { binding, unguarded: ["web_search_preview"] });
      expect(out[1]).toBe(providerTool);
      expect(out[0]).not.toBe(pay);
    } finally {
      await t.close();
    }
  });

  it("a function tool listed in unguarded skips Harbor (middleware and guardTools); the verify count does not move", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 1000);
      const ran: string[] = [];
      const { pay, search } = lcTools(ran);
      const model = fakeModel()
        .respondWithTools([{ name: "search", args: { q: "inns" }, id: "c1" }, { name: "pay", args: { amount: 100 }, id: "c2" }])
        .respond(new AIMessage("done"));
      const agent = createAgent({ model, tools: [pay, search], middleware: [lc.createPaybondMiddleware({ binding, requestedSpendCents: 100, unguarded: ["search"] })] });
      expect(lc.auditAgent(agent).map((p) => [p.name, p.guarded])).toEqual([["pay", true], ["search", false]]);
      const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
      expect(ran.sort()).toEqual(["pay", "search"]);
      expect((out.messages.filter((m) => ToolMessage.isInstance(m)) as ToolMessage[]).every((m) => m.status !== "error")).toBe(true);
      expect((t.harbor.stats() as Stats).verifies).toBe(1);

      const [, freeSearch] = lc.guardTools([pay, search], { binding, unguarded: ["search"] });
      expect(freeSearch).toBe(search);
      await freeSearch!.invoke({ q: "x" });
      expect((t.harbor.stats() as Stats).verifies).toBe(1);
    } finally {
      await t.close();
    }
  });

  it("a dynamic tool (request.tool undefined) is a deny unguarded_tool, unless listed", async () => {
    const t = await setup();
    try {
      // "ghost" is even allowed by the intent: the deny is the guard's, before any Harbor call.
      const { binding } = t.bind(["pay", "ghost"], 1000);
      const ran: string[] = [];
      const { pay } = lcTools(ran);
      const ghost = tool(async () => { ran.push("ghost"); return "boo"; }, { name: "ghost", description: "registered at run time", schema: z.object({}) });
      // An inner middleware supplies the tool for calls the agent did not register.
      const supplier = createMiddleware({
        name: "Supplier",
        wrapToolCall: async (req, handler) => (req.toolCall.name === "ghost" && !req.tool ? handler({ ...req, tool: ghost }) : handler(req)),
      });
      const make = (unguarded?: string[]) =>
        createAgent({
          model: fakeModel().respondWithTools([{ name: "ghost", args: {}, id: "c1" }]).respond(new AIMessage("done")),
          tools: [pay],
          middleware: [lc.createPaybondMiddleware({ binding, unguarded }), supplier],
        });
      const out = await make().invoke({ messages: [{ role: "user", content: "go" }] });
      expect(ran).toEqual([]);
      const tm = out.messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage;
      expect(tm.status).toBe("error");
      expect(String(tm.content)).toMatch(/^Paybond denied ghost: unguarded_tool: ghost is not a tool this agent registered/);
      expect((t.harbor.stats() as Stats).verifies).toBe(0);

      const listed = await make(["ghost"]).invoke({ messages: [{ role: "user", content: "go" }] });
      expect(ran).toEqual(["ghost"]);
      expect(listed.messages.at(-1)!.content).toBe("done");
      expect((t.harbor.stats() as Stats).verifies).toBe(0);
    } finally {
      await t.close();
    }
  });
});
