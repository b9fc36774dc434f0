/**
 * No silent skip: auditAgent lists every tool path and whether Paybond guards it; the guards
 * refuse a path they cannot see (UnguardedToolError) unless its name is in `unguarded: [...]`,
 * and a function tool listed there is a free tool that runs without Harbor.
 */
import { AIMessage, createAgent, tool } from "langchain";
import type { ServerTool } from "@langchain/core/tools";
import { fakeModel } from "@langchain/core/testing";
import { Agent, Runner, setTracingDisabled, tool as agentsTool, Usage, webSearchTool, type Model, type ModelRequest, type ModelResponse } from "@openai/agents";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession, UnguardedToolError } from "paybond-kit";
import * as lc from "paybond-kit/langchain";
import * as oa from "paybond-kit/openai-agents";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

setTracingDisabled(true);

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["book_hotel", "search"], amountCents: 1000 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

/** The UnguardedToolError behind an error (LangChain wraps a middleware's error: it is the cause). */
function unguardedIn(e: unknown): UnguardedToolError {
  while (e instanceof Error && !(e instanceof UnguardedToolError) && e.cause) e = e.cause;
  assert.ok(e instanceof UnguardedToolError, String(e));
  return e;
}

// ---- LangChain ----
const bookHotel = tool(async ({ hotel }) => `booked ${hotel}`, { name: "book_hotel", description: "Book a hotel room (paid)", schema: z.object({ hotel: z.string(), cost_cents: z.number() }) });
const search = tool(async ({ q }) => `found ${q}`, { name: "search", description: "Search (free)", schema: z.object({ q: z.string() }) });
// A provider tool: it runs at the model provider, so no ToolNode (and no guard) ever sees its calls.
const webSearch: ServerTool = { type: "web_search_preview" };
const searching = () => fakeModel().respondWithTools([{ name: "search", args: { q: "inns" }, id: "c-search" }]).respond(new AIMessage("done"));
const spend = { book_hotel: (args: lc.ToolArgs) => Number(args.cost_cents), search: 0 };

let agent = createAgent({ model: searching(), tools: [bookHotel, search, webSearch], middleware: [lc.createPaybondMiddleware({ binding, requestedSpendCents: spend })] });
console.log("LangChain agent:");
for (const p of lc.auditAgent(agent)) console.log(`  ${p.kind.padEnd(9)} ${p.name.padEnd(18)} guarded=${p.guarded}`);

// The middleware refuses before the model is called (guardTools would refuse when it is built).
const refused = await agent.invoke({ messages: [{ role: "user", content: "find an inn" }] }).then(() => null, (e: unknown) => e);
console.log("  refused:", unguardedIn(refused).code, unguardedIn(refused).paths);
assert.equal(harbor.stats().verifies, 0);

// Listed knowingly: the provider tool is accepted, and search (a function tool) runs without Harbor.
const middleware = lc.createPaybondMiddleware({ binding, requestedSpendCents: spend, unguarded: ["web_search_preview", "search"] });
agent = createAgent({ model: searching(), tools: [bookHotel, search, webSearch], middleware: [middleware] });
let before = harbor.stats().verifies;
await agent.invoke({ messages: [{ role: "user", content: "find an inn" }] });
assert.equal(harbor.stats().verifies, before); // the free tool never reached Harbor

// ---- OpenAI Agents ----
/** Turn 1 calls find, turn 2 answers. */
class Scripted implements Model {
  private turns = 0;
  async getResponse(_request: ModelRequest): Promise<ModelResponse> {
    const output =
      ++this.turns === 1
        ? [{ type: "function_call" as const, id: "fc_1", callId: "call_find", name: "find", arguments: JSON.stringify({ q: "inns" }), status: "completed" as const }]
        : [{ type: "message" as const, id: "m1", role: "assistant" as const, status: "completed" as const, content: [{ type: "output_text" as const, text: "done" }] }];
    return { usage: new Usage(), output, responseId: undefined } as unknown as ModelResponse;
  }
  getStreamedResponse(): AsyncIterable<never> {
    throw new Error("not used");
  }
}
const bookRoom = agentsTool({ name: "book_room", description: "Book a hotel room (paid)", parameters: z.object({ hotel: z.string(), cost_cents: z.number() }), execute: async ({ hotel }) => `booked ${hotel}` });
const find = agentsTool({ name: "find", description: "Search (free)", parameters: z.object({ q: z.string() }), execute: async ({ q }) => `found ${q}` });
const helper = new Agent({ name: "helper", instructions: "Answer questions." });
const travel = new Agent({
  name: "travel",
  model: new Scripted(),
  tools: [bookRoom, find, webSearchTool(), helper.asTool({ toolName: "ask_helper", toolDescription: "Ask the helper" })],
  handoffs: [new Agent({ name: "billing", instructions: "Handle billing." })],
});
console.log("OpenAI agent:");
for (const p of oa.auditAgent(travel)) console.log(`  ${p.kind.padEnd(13)} ${p.name.padEnd(19)} guarded=${p.guarded}`);

// guardAgent refuses the hosted tool, the agent tool and the handoff, and changes nothing.
const roomSpend = { book_room: (args: oa.ToolArgs) => Number(args.cost_cents) };
try {
  oa.guardAgent(travel, { binding, requestedSpendCents: roomSpend });
  assert.fail("not refused");
} catch (e) {
  console.log("  refused:", [...unguardedIn(e).paths].sort());
}
assert.ok(oa.auditAgent(travel).every((p) => !p.guarded));

// Listed knowingly; find is a free tool (no Harbor), book_room is guarded.
oa.guardAgent(travel, { binding, requestedSpendCents: roomSpend, unguarded: ["web_search", "ask_helper", "transfer_to_billing", "find"] });
assert.deepEqual(oa.auditAgent(travel).filter((p) => p.guarded).map((p) => p.name), ["book_room"]);
before = harbor.stats().verifies;
const result = await new Runner().run(travel, "find an inn");
assert.equal(result.finalOutput, "done");
assert.equal(harbor.stats().verifies, before);
