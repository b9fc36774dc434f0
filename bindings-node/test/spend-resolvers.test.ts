// Per-tool spend resolvers, parallel calls in one model turn, and calls that fail (a tool that
// throws, arguments that fail the schema), through the real frameworks on the dev server.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createAgent, tool, AIMessage, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { Agent, Runner, tool as agentsTool, setTracingDisabled } from "@openai/agents";
import { InvalidArgumentError } from "../dist/esm/index.js";
import { createPaybondMiddleware, guardTools, type GuardEvent } from "../dist/esm/langchain.js";
import { guardAgent, guardFunctionTools, paybondCapabilityInputGuardrail } from "../dist/esm/openai-agents.js";
import { setup } from "./helpers.js";
import { ScriptedModel } from "./scripted-model.js";

setTracingDisabled(true);

type Stats = Record<string, number>;
type Setup = Awaited<ReturnType<typeof setup>>;
const remaining = async (b: ReturnType<Setup["bind"]>["binding"], op: string) => (await b.authorize(op, `probe-${Math.random()}`, {}, 0)).remainingCents;

const TOOLS = ["book_flight", "search", "lookup", "broken", "negative"];
/** book_flight and search resolve; lookup is not in the mapping; broken throws; negative returns -1. */
const mapping = {
  book_flight: (args: Record<string, unknown>) => Number(args.cost_cents),
  search: 0,
  broken: (args: Record<string, unknown>) => (args.missing as { cents: number }).cents,
  negative: () => -1,
};
const EXPECTED = {
  book_flight: "booked",
  search: "found",
  lookup: 'Paybond denied lookup: spend_resolver_failed: no spend for tool "lookup": requestedSpendCents maps only "book_flight", "search", "broken", "negative"',
  broken: "Paybond denied broken: spend_resolver_failed: the spend resolver for broken raised TypeError: Cannot read properties of undefined (reading 'cents')",
  negative: /^Paybond denied negative: spend_resolver_failed: the spend resolver for negative returned -1, not a spend \(InvalidArgumentError: .*requestedSpendCents/,
};
const ARGS: Record<string, Record<string, unknown>> = { book_flight: { cost_cents: 300 }, search: { q: "x" }, lookup: { q: "y" }, broken: { q: "z" }, negative: { q: "w" } };

describe("per-tool spend resolvers", () => {
  it("LangChain: each tool's resolver; a throwing one, a non-spend and a missing tool are spend_resolver_failed (no Harbor call)", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(TOOLS, 1000);
      const ran: string[] = [];
      const tools = TOOLS.map((name) => tool(async () => { ran.push(name); return name === "book_flight" ? "booked" : "found"; }, { name, description: name, schema: name === "book_flight" ? z.object({ cost_cents: z.number() }) : z.object({ q: z.string() }) }));
      const model = fakeModel().respondWithTools(TOOLS.map((name, k) => ({ name, args: ARGS[name]!, id: `c${k}` }))).respond(new AIMessage("done"));
      const agent = createAgent({ model, tools, middleware: [createPaybondMiddleware({ binding, requestedSpendCents: mapping })] });
      const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
      expect(ran.sort()).toEqual(["book_flight", "search"]);
      const byName = Object.fromEntries((out.messages.filter((m) => ToolMessage.isInstance(m)) as ToolMessage[]).map((m) => [m.name, String(m.content)]));
      for (const [name, want] of Object.entries(EXPECTED)) {
        if (want instanceof RegExp) expect(byName[name]).toMatch(want);
        else expect(byName[name]).toBe(want);
      }
      expect((t.harbor.stats() as Stats).verifies).toBe(2);
      expect(await remaining(binding, "search")).toBe(700);
    } finally {
      await t.close();
    }
  });

  it("OpenAI Agents: the same mapping, the resolvers take the parsed arguments", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(TOOLS, 1000);
      const ran: string[] = [];
      const tools = TOOLS.map((name) =>
        agentsTool({ name, description: name, parameters: name === "book_flight" ? z.object({ cost_cents: z.number() }) : z.object({ q: z.string() }), execute: async () => { ran.push(name); return name === "book_flight" ? "booked" : "found"; } }),
      );
      const model = new ScriptedModel(TOOLS.map((name) => [name, ARGS[name]!] as [string, Record<string, unknown>]));
      const agent = guardAgent(new Agent({ name: "a", model, tools }), { binding, requestedSpendCents: mapping });
      const result = await new Runner().run(agent, "go");
      expect(result.finalOutput).toBe("done");
      expect(ran.sort()).toEqual(["book_flight", "search"]);
      const outs = model.toolOutputs();
      TOOLS.forEach((name, k) => {
        const want = EXPECTED[name as keyof typeof EXPECTED];
        const text = (JSON.parse(outs[`call_${k}`]!) as { text: string }).text;
        if (want instanceof RegExp) expect(text).toMatch(want);
        else expect(text).toBe(want);
      });
      expect((t.harbor.stats() as Stats).verifyAllows).toBe(2);
      expect(await remaining(binding, "search")).toBe(700);
    } finally {
      await t.close();
    }
  });

  it("a bad static value in a mapping (or an empty mapping) is InvalidArgumentError when the guard is built", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 100);
      for (const bad of [{ pay: -1 }, { pay: 99.5 }, { pay: "300" }, { pay: NaN }, { pay: null }, {}]) {
        const s = bad as never;
        for (const make of [
          () => createPaybondMiddleware({ binding, requestedSpendCents: s }),
          () => guardTools([], { binding, requestedSpendCents: s }),
          () => paybondCapabilityInputGuardrail({ binding, requestedSpendCents: s }),
          () => guardFunctionTools([], binding, { requestedSpendCents: s }),
          () => guardAgent(new Agent({ name: "a" }), { binding, requestedSpendCents: s }),
        ]) {
          let e: unknown;
          try {
            make();
          } catch (x) {
            e = x;
          }
          expect(e, JSON.stringify(bad)).toBeInstanceOf(InvalidArgumentError);
          expect((e as InvalidArgumentError).field).toBe("requestedSpendCents");
        }
      }
      expect(() => createPaybondMiddleware({ binding, requestedSpendCents: { pay: 30n, search: 0, book: (a) => a.cents } })).not.toThrow();
    } finally {
      await t.close();
    }
  });
});

describe("parallel tool calls in one model turn are each reserved", () => {
  // n calls of 200 against a budget of 200 * (n - 1): exactly one is budget_exceeded, whatever the order.
  it.each([2, 4, 6])("LangChain createAgent: %i calls", async (n) => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 200 * (n - 1));
      let ran = 0;
      const pay = tool(async () => { ran++; return "paid"; }, { name: "pay", description: "pay", schema: z.object({ k: z.number() }) });
      const model = fakeModel().respondWithTools(Array.from({ length: n }, (_, k) => ({ name: "pay", args: { k }, id: `c${k}` }))).respond(new AIMessage("done"));
      const agent = createAgent({ model, tools: [pay], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: 200 })] });
      const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
      const tms = out.messages.filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];
      expect(ran).toBe(n - 1);
      expect(tms.filter((m) => m.status === "error").map((m) => String(m.content))).toEqual([expect.stringMatching(/^Paybond denied pay: harbor_denied: budget_exceeded/)]);
      const st = t.harbor.stats() as Stats;
      expect([st.verifyAllows, st.decisionsConsumed, st.decisionsReleased]).toEqual([n - 1, n - 1, 0]);
      expect(await remaining(binding, "pay")).toBe(0);
    } finally {
      await t.close();
    }
  });

  it.each([2, 4, 6])("OpenAI Agents: %i calls", async (n) => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 200 * (n - 1));
      let ran = 0;
      const pay = agentsTool({ name: "pay", description: "pay", parameters: z.object({ k: z.number() }), execute: async () => { ran++; return "paid"; } });
      const model = new ScriptedModel(Array.from({ length: n }, (_, k) => ["pay", { k }] as [string, Record<string, unknown>]));
      const result = await new Runner().run(new Agent({ name: "a", model, tools: guardFunctionTools([pay], binding, { requestedSpendCents: 200 }) }), "go");
      expect(result.finalOutput).toBe("done");
      expect(ran).toBe(n - 1);
      expect(Object.values(model.toolOutputs()).filter((o) => o.includes("budget_exceeded"))).toHaveLength(1);
      const st = t.harbor.stats() as Stats;
      expect([st.verifyAllows, st.decisionsConsumed, st.decisionsReleased]).toEqual([n - 1, n - 1, 0]);
      expect(await remaining(binding, "pay")).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe("a call that fails leaves the budget where it was and sends no evidence", () => {
  it("OpenAI Agents: a tool that throws and arguments that fail the schema are released; a success is consumed", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay", "boom"], 1000);
      const events: GuardEvent[] = [];
      const bodies: string[] = [];
      const pay = agentsTool({ name: "pay", description: "pay", parameters: z.object({ amount: z.number() }), execute: async ({ amount }) => { bodies.push(`pay ${amount}`); return "paid"; } });
      const boom = agentsTool({ name: "boom", description: "fails", parameters: z.object({ amount: z.number() }), execute: async () => { bodies.push("boom"); throw new Error("card declined"); } });
      // call_0 succeeds, call_1's body throws, call_2's arguments are valid JSON but not the schema.
      const model = new ScriptedModel([["pay", { amount: 100 }], ["boom", { amount: 200 }], ["pay", { amount: "lots" }]]);
      const spend = (d: { toolCall: { arguments?: string } }) => {
        const amount = JSON.parse(d.toolCall.arguments ?? "{}").amount;
        return typeof amount === "number" ? amount : 300;
      };
      const tools = guardFunctionTools([pay, boom], binding, { requestedSpendCents: spend, onDecision: (e) => events.push(e) });
      const result = await new Runner().run(new Agent({ name: "a", model, tools }), "go");
      expect(result.finalOutput).toBe("done");
      expect(bodies.sort()).toEqual(["boom", "pay 100"]);
      const st = t.harbor.stats() as Stats;
      expect([st.verifyAllows, st.decisionsConsumed, st.decisionsReleased, st.evidenceAccepted]).toEqual([3, 1, 2, 0]);
      expect(await remaining(binding, "pay")).toBe(900);
      const byCall = Object.fromEntries(events.map((e) => [e.callId, [e.toolName, e.ran, e.succeeded]]));
      expect(byCall).toEqual({ call_0: ["pay", true, true], call_1: ["boom", true, false], call_2: ["pay", false, false] });
    } finally {
      await t.close();
    }
  });

  it("LangChain createAgent: arguments that fail the schema are released, no evidence, reported as not run", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 1000, true);
      const bodies: number[] = [];
      const events: GuardEvent[] = [];
      const pay = tool(async ({ amount }: { amount: number }) => { bodies.push(amount); return `paid ${amount}`; }, { name: "pay", description: "pay", schema: z.object({ amount: z.number() }) });
      const model = fakeModel()
        .respondWithTools([{ name: "pay", args: { amount: "lots" }, id: "c1" }, { name: "pay", args: { amount: 100 }, id: "c2" }])
        .respond(new AIMessage("done"));
      const agent = createAgent({
        model, tools: [pay],
        middleware: [createPaybondMiddleware({ binding, requestedSpendCents: 250, evidence: (_r, res) => ({ result: String((res as ToolMessage).content) }), onDecision: (e) => events.push(e) })],
      });
      const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
      expect(bodies).toEqual([100]);
      const bad = out.messages.find((m) => ToolMessage.isInstance(m) && m.tool_call_id === "c1") as ToolMessage;
      expect(bad.status).toBe("error");
      expect(await remaining(binding, "pay")).toBe(750);
      const st = t.harbor.stats() as Stats;
      expect([st.decisionsConsumed, st.decisionsReleased, st.evidenceAccepted]).toEqual([1, 1, 1]);
      const byCall = Object.fromEntries(events.map((e) => [e.callId, [e.ran, e.succeeded, e.evidence != null]]));
      expect(byCall).toEqual({ c1: [false, false, false], c2: [true, true, true] });
    } finally {
      await t.close();
    }
  });
});
