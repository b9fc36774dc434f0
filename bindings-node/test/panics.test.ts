// A panic anywhere in a call is an InternalError (code `internal`) and, in a guard, a deny:
// never napi's untyped "Panic in async function", never a crash, never a hang.
// (Own file: the injection hook is process-wide.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { z } from "zod";
import { createAgent, tool, ToolMessage, AIMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { Agent, Runner, tool as agentsTool, setTracingDisabled } from "@openai/agents";
import * as pk from "../dist/esm/index.js";
import { createPaybondMiddleware } from "../dist/esm/langchain.js";
import { guardFunctionTools } from "../dist/esm/openai-agents.js";
import { ScriptedModel } from "./scripted-model.js";
import { setup } from "./helpers.js";

setTracingDisabled(true);
const native = createRequire(import.meta.url)("../native/native.js") as { _injectPanics(n: number): void };

type T = Awaited<ReturnType<typeof setup>>;
let t: T;
beforeAll(async () => {
  t = await setup();
});
afterAll(async () => {
  native._injectPanics(0);
  await t.close();
});

describe("an injected panic", () => {
  it("is not part of the public API", () => {
    expect("_injectPanics" in pk).toBe(false);
  });

  it("verify rejects with InternalError (code internal); the next call works", async () => {
    const i = t.harbor.createIntent({ allowedTools: ["pay"], amountCents: 100 });
    const args = { intentId: i.intentId, token: i.capabilityToken, operation: "pay", requestedSpendCents: 1 };
    native._injectPanics(1);
    const e = await t.session.harbor.verifyCapability(args).catch((x) => x);
    expect(e).toBeInstanceOf(pk.InternalError);
    expect(e).toBeInstanceOf(pk.PaybondError);
    expect(e.code).toBe("internal");
    expect(String(e)).toMatch(/^InternalError: internal error in paybond-kit/);
    expect((await t.session.harbor.verifyCapability(args)).allow).toBe(true);
  });

  it("every async method rejects typed", async () => {
    const { binding, intent } = t.bind(["pay"], 100, true);
    const calls: [string, () => Promise<unknown>][] = [
      ["ledgerTip", () => t.session.harbor.ledgerTip()],
      ["ledgerEvents", () => t.session.harbor.ledgerEvents(0, 1)],
      ["rotateHarborToken", () => t.session.rotateHarborToken()],
      ["forceRotate", () => t.session.tokenProvider.forceRotate()],
      ["binding.submitEvidence", () => binding.submitEvidence("pay", "c-ev", { ok: true })],
      ["harbor.submitEvidence", () => t.session.harbor.submitEvidence(intent.intentId, pk.signPayeeEvidenceBinding({ tenantId: t.harbor.tenantId, intentId: intent.intentId, payeeDid: intent.payeeDid, payload: { a: 1 }, submittedAtRfc3339: "2030-01-02T15:04:05Z", payeeSigningSeed: intent.payeeSigningSeedHex! }))],
      ["open", () => pk.ServiceAccountHarborSession.open({ gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey, harborBaseUrl: t.harbor.harborUrl })],
      ["signal open", () => pk.ServiceAccountSignalSession.open({ gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey })],
    ];
    for (const [name, f] of calls) {
      native._injectPanics(1);
      const e = await f().then(() => "resolved", (x) => x);
      expect(e, name).toBeInstanceOf(pk.InternalError);
    }
    native._injectPanics(0);
  });

  it("authorize resolves to a deny with code internal", async () => {
    const { binding } = t.bind(["pay"], 100);
    native._injectPanics(1);
    const d = await binding.authorize("pay", "c1", {}, 1);
    expect([d.decision, d.code]).toEqual(["deny", "internal"]);
    expect((await binding.authorize("pay", "c2", {}, 1)).decision).toBe("allow");
  });

  it("a LangChain JS agent: deny, tool not run, run finishes", async () => {
    const { binding } = t.bind(["pay"], 100);
    let ran = 0;
    const pay = tool(async () => {
      ran++;
      return "paid";
    }, { name: "pay", description: "Pay", schema: z.object({ to: z.string() }) });
    const model = fakeModel().respondWithTools([{ name: "pay", args: { to: "x" }, id: "c1" }]).respond(new AIMessage("done"));
    const agent = createAgent({ model, tools: [pay], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: 1 })] });
    native._injectPanics(1);
    const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
    expect(ran).toBe(0);
    const tm = out.messages.find((m: unknown) => ToolMessage.isInstance(m)) as ToolMessage;
    expect(tm.status).toBe("error");
    expect(String(tm.content)).toMatch(/^Paybond denied pay: internal: /);
    expect(out.messages.at(-1)!.content).toBe("done");
  });

  it("an OpenAI Agents JS guardrail: reject, tool not run, run finishes", async () => {
    const { binding } = t.bind(["pay"], 100);
    let ran = 0;
    const pay = agentsTool({ name: "pay", description: "Pay", parameters: z.object({ to: z.string() }), execute: async () => { ran++; return "paid"; } });
    const model = new ScriptedModel([["pay", { to: "x" }]]);
    const tools = guardFunctionTools([pay], binding, { requestedSpendCents: 1 });
    native._injectPanics(1);
    const result = await new Runner().run(new Agent({ name: "a", model, tools }), "go");
    expect(result.finalOutput).toBe("done");
    expect(ran).toBe(0);
    expect(model.toolOutputs().call_0).toMatch(/Paybond denied pay: internal: /);
  });
});
