// The tool-call lifecycle through a real LangChain JS agent on the dev server: a tool that
// throws releases its reservation and sends no evidence; a success is consumed, evidence once.
import { describe, expect, it } from "vitest";
import { createAgent, tool, AIMessage, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession } from "../dist/esm/index.js";
import { createPaybondMiddleware } from "../dist/esm/langchain.js";
import { LocalHarbor } from "../dist/esm/testing.js";
import { setup } from "./helpers.js";

describe("spend lifecycle (LangChain createAgent)", () => {
  it("a throwing tool is released, a successful one consumed, evidence only for success", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay", "flaky"], 1000, true);
      const ran: string[] = [];
      const pay = tool(async ({ amount }: { amount: number }) => { ran.push("pay"); return `paid ${amount}`; }, { name: "pay", description: "pay", schema: z.object({ amount: z.number() }) });
      const flaky = tool(async (_: { amount: number }) => { ran.push("flaky"); throw new Error("card declined"); }, { name: "flaky", description: "flaky", schema: z.object({ amount: z.number() }) });
      const events: { toolName: string; ran: boolean; succeeded?: boolean; evidence?: unknown }[] = [];
      const model = fakeModel()
        .respondWithTools([{ name: "flaky", args: { amount: 300 }, id: "c1" }, { name: "pay", args: { amount: 200 }, id: "c2" }])
        .respond(new AIMessage("done"));
      const agent = createAgent({
        model, tools: [pay, flaky],
        middleware: [createPaybondMiddleware({
          binding, requestedSpendCents: (req) => Number((req.toolCall.args as { amount: number }).amount),
          evidence: (_req, res) => ({ result: String((res as ToolMessage).content) }), onDecision: (e) => events.push(e),
        })],
      });
      // The throwing tool either surfaces as an error ToolMessage or fails the run: both must release.
      await agent.invoke({ messages: [{ role: "user", content: "go" }] }).catch(() => undefined);
      // A failed run does not wait for its sibling call: poll until both calls reported.
      for (let i = 0; i < 500 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(ran.sort()).toEqual(["flaky", "pay"]);
      const probe = await binding.authorize("pay", "probe", {}, 0);
      expect(probe.remainingCents).toBe(800);
      const st = t.harbor.stats() as Record<string, number>;
      expect(st.evidenceAccepted).toBe(1);
      expect(st.decisionsConsumed).toBe(1);
      expect(st.decisionsReleased).toBe(1);
      const byTool = Object.fromEntries(events.map((e) => [e.toolName, [e.ran, e.succeeded, e.evidence != null]]));
      expect(byTool).toEqual({ flaky: [true, false, false], pay: [true, true, true] });
    } finally {
      await t.close();
    }
  });

  it("a call id is single-use and bound to its arguments", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 1000);
      const d = await binding.authorize("pay", "c-1", { amount: 1 }, 100);
      expect(d.decision).toBe("allow");
      expect((await binding.authorize("pay", "c-1", { amount: 1 }, 100)).decisionId).toBe(d.decisionId);
      expect((await binding.authorize("pay", "c-1", { amount: 2 }, 100)).code).toBe("call_args_changed");
      const done = await binding.finish("c-1", true);
      expect(done?.remainingCents).toBe(900);
      expect((await binding.authorize("pay", "c-1", { amount: 1 }, 100)).code).toBe("call_replayed");
    } finally {
      await t.close();
    }
  });

  it("a verify whose answer is dropped strands no budget after the hold period (dev clock)", async () => {
    const harbor = await LocalHarbor.start({ reservationHoldSeconds: 30 });
    const session = await ServiceAccountHarborSession.open({
      gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl,
      timeoutSeconds: 1, deadlineSeconds: 2.5, maxRetries: 1,
    });
    try {
      const intent = harbor.createIntent({ allowedTools: ["pay"], amountCents: 1000 });
      const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);
      const ran: string[] = [];
      const pay = tool(async ({ amount }: { amount: number }) => { ran.push("pay"); return `paid ${amount}`; }, { name: "pay", description: "pay", schema: z.object({ amount: z.number() }) });
      const model = fakeModel().respondWithTools([{ name: "pay", args: { amount: 400 }, id: "lost-1" }]).respond(new AIMessage("done"));
      const agent = createAgent({
        model, tools: [pay],
        middleware: [createPaybondMiddleware({ binding, requestedSpendCents: (req) => Number((req.toolCall.args as { amount: number }).amount) })],
      });
      // Harbor reserves, then the connection drops before the answer: the guard sees a transport error.
      harbor.addFault({ route: "/verify", kind: "drop_after", count: 1 });
      const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
      const msg = out.messages.find((m: unknown) => m instanceof ToolMessage) as ToolMessage;
      expect(String(msg.content)).toContain("transport_error");
      expect(ran).toEqual([]);
      const probe = async (id: string) => (await binding.authorize("pay", id, {}, 0)).remainingCents;
      expect(await probe("p1")).toBe(600); // held: the answer was lost, not the reservation
      harbor.advanceClock(31);
      expect(await probe("p2")).toBe(1000); // released by Harbor after the hold period
      expect((harbor.stats() as Record<string, number>).reservationsExpired).toBe(2); // the lost call and the first (0-cent) probe
    } finally {
      await session.dispose();
      await harbor.stop();
    }
  });
});

describe("one call id runs its body once", () => {
  it("two concurrent runs of one call id: the same allow, one claim, one body run", async () => {
    const { GuardCore } = await import("../dist/esm/guard.js");
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 1000);
      const g = new GuardCore({ spend: 100, onError: "deny" });
      let runs = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      let started!: () => void;
      const running = new Promise<void>((r) => { started = r; });
      const body = async () => { runs++; started(); await gate; return "ok"; };
      const first = g.run(binding, "pay", "dup-1", {}, {}, body, (d: { code?: string | null }) => `denied ${d.code}`);
      await running;
      const second = await g.run(binding, "pay", "dup-1", {}, {}, body, (d: { code?: string | null }) => `denied ${d.code}`);
      release();
      expect(await first).toBe("ok");
      expect(second).toBe("denied call_replayed");
      expect(runs).toBe(1);
      expect((await binding.authorize("pay", "probe", {}, 0)).remainingCents).toBe(900);
    } finally {
      await t.close();
    }
  });
});
