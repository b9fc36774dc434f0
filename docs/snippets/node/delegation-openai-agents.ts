/**
 * Hand-offs with a narrower binding (OpenAI Agents JS): delegateHandoff and delegateAsTool give
 * the sub-agent a fresh child of the parent binding on every delegation. Its call outside that
 * scope is denied even where the parent could have made it.
 */
import { Agent, handoff, Runner, setTracingDisabled, tool, Usage, type Model, type ModelRequest, type ModelResponse } from "@openai/agents";
import { z } from "zod";
import { CapabilityBinding, delegateAsTool, delegateHandoff, ServiceAccountHarborSession } from "paybond-kit";
import { auditAgent } from "paybond-kit/openai-agents";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

setTracingDisabled(true);

/** Turn 1 makes `calls` (call ids prefixed: several models share one run), turn 2 says "done". */
class Scripted implements Model {
  inputs: ModelRequest["input"][] = [];
  constructor(private readonly prefix: string, private readonly calls: [string, Record<string, unknown>][]) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.inputs.push(request.input);
    const output =
      this.inputs.length === 1
        ? this.calls.map(([name, args], k) => ({ type: "function_call" as const, id: `fc_${this.prefix}_${k}`, callId: `${this.prefix}_${k}`, name, arguments: JSON.stringify(args), status: "completed" as const }))
        : [{ type: "message" as const, id: `m_${this.prefix}`, role: "assistant" as const, status: "completed" as const, content: [{ type: "output_text" as const, text: "done" }] }];
    return { usage: new Usage(), output, responseId: undefined } as unknown as ModelResponse;
  }
  getStreamedResponse(): AsyncIterable<never> {
    throw new Error("not used");
  }
  /** The tool outputs the model read on its last turn, in the order of its calls. */
  shown(): string[] {
    const items = this.inputs.at(-1) as { type?: string; callId?: string; output?: unknown }[];
    const byId = new Map(items.filter((i) => i.type === "function_call_result").map((i) => [i.callId, JSON.stringify(i.output)]));
    return this.calls.map((_, k) => byId.get(`${this.prefix}_${k}`) ?? "");
  }
}

const search = tool({ name: "search", description: "Search the web", parameters: z.object({ query: z.string() }), execute: async ({ query }) => `found ${query}` });
const bookHotel = tool({ name: "book_hotel", description: "Book a hotel room", parameters: z.object({ hotel: z.string() }), execute: async ({ hotel }) => `booked ${hotel}` });

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["search", "book_hotel"], amountCents: 1000 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

// 1. A handoff: the researcher may only search, although the parent could also book.
let sub = new Scripted("sub", [["search", { query: "inns in Lyon" }], ["book_hotel", { hotel: "Inn" }]]);
const researcher = new Agent({ name: "researcher", model: sub, tools: [search, bookHotel] });
const triage = new Agent({
  name: "triage",
  model: new Scripted("triage", [["transfer_to_researcher", {}]]),
  handoffs: [delegateHandoff(handoff(researcher), { binding, tools: ["search"], maxCalls: 3 })],
});
console.log(auditAgent(triage).map((p) => [p.kind, p.name, p.guarded]));
const result = await new Runner().run(triage, "find and book an inn");
console.log(result.lastAgent?.name, "->", sub.shown());
assert.match(sub.shown()[0]!, /found inns in Lyon/);
assert.match(sub.shown()[1]!, /Paybond denied book_hotel: harbor_denied: operation_not_allowed/);
assert.equal((await binding.authorize("book_hotel", "parent-1", {}, 0)).decision, "allow"); // the parent could

// 2. An agent as a tool: each call of the tool runs the sub-agent under a fresh child.
sub = new Scripted("sub2", [["search", { query: "a" }], ["search", { query: "b" }]]);
const research = delegateAsTool(new Agent({ name: "researcher", model: sub, tools: [search] }), { toolName: "research", toolDescription: "Research a topic." }, { binding, maxCalls: 1 });
const planner = new Agent({ name: "planner", model: new Scripted("planner", [["research", { input: "inns in Lyon" }]]), tools: [research] });
await new Runner().run(planner, "plan a trip");
console.log("research ->", sub.shown());
assert.deepEqual(sub.shown().map((s) => s.includes("max_calls_exceeded")).sort(), [false, true]);
