/**
 * Human approval in OpenAI Agents JS: guardFunctionTools sets each tool's needsApproval, so
 * Harbor's approval_required becomes the SDK's own interruption; `result.state.approve(item)` /
 * `reject(item)`, then run again from the state. `onApproval` decides inline instead.
 */
import { Agent, Runner, setTracingDisabled, tool, Usage, type Model, type ModelRequest, type ModelResponse } from "@openai/agents";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { guardFunctionTools, type ApprovalRequest, type ToolArgs } from "paybond-kit/openai-agents";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

setTracingDisabled(true);

/** Turn 1 books a hotel (call id `callId`), turn 2 answers; keeps what the model was shown. */
class ScriptedModel implements Model {
  inputs: ModelRequest["input"][] = [];
  constructor(private readonly callId: string, private readonly args: Record<string, unknown>) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.inputs.push(request.input);
    const output =
      this.inputs.length === 1
        ? [{ type: "function_call" as const, id: `fc_${this.callId}`, callId: this.callId, name: "book_hotel", arguments: JSON.stringify(this.args), status: "completed" as const }]
        : [{ type: "message" as const, id: "m1", role: "assistant" as const, status: "completed" as const, content: [{ type: "output_text" as const, text: "done" }] }];
    return { usage: new Usage(), output, responseId: undefined } as unknown as ModelResponse;
  }
  getStreamedResponse(): AsyncIterable<never> {
    throw new Error("not used");
  }
  /** The tool output the model read on its last turn. */
  shown(): string {
    const items = this.inputs.at(-1) as { type?: string; output?: unknown }[];
    return JSON.stringify(items.find((i) => i.type === "function_call_result")?.output);
  }
}

const ran: string[] = [];
const makeBookHotel = () =>
  tool({
    name: "book_hotel",
    description: "Book a hotel room (paid)",
    parameters: z.object({ hotel: z.string(), cost_cents: z.number() }),
    execute: async ({ hotel }) => {
      ran.push(hotel);
      return `booked ${hotel}`;
    },
  });
const spend = { book_hotel: (args: ToolArgs) => Number(args.cost_cents) }; // per tool, from the parsed arguments

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 5000, approvalThresholdCents: 500 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);
const runner = new Runner();

// 1. The run stops with an interruption; the tool has not run.
let model = new ScriptedModel("call_ritz", { hotel: "Ritz", cost_cents: 900 });
let agent = new Agent({ name: "travel", model, tools: guardFunctionTools([makeBookHotel()], binding, { requestedSpendCents: spend }) });
let result = await runner.run(agent, "Book the Ritz");
const item = result.interruptions![0]!;
console.log("needs a reviewer:", JSON.stringify(item.rawItem));
assert.deepEqual(ran, []);

// Approve and run again from the state: Harbor records it, the tool runs once.
result.state.approve(item);
result = await runner.run(agent, result.state);
console.log("approved:", model.shown(), "/", result.finalOutput);
assert.deepEqual(ran, ["Ritz"]);

// 2. Reject: the tool does not run; the model reads the rejection.
model = new ScriptedModel("call_savoy", { hotel: "Savoy", cost_cents: 800 });
agent = new Agent({ name: "travel", model, tools: guardFunctionTools([makeBookHotel()], binding, { requestedSpendCents: spend }) });
result = await runner.run(agent, "Book the Savoy");
result.state.reject(result.interruptions![0]!, { message: "Rejected: over the travel policy" });
await runner.run(agent, result.state);
console.log("rejected:", model.shown());
assert.deepEqual(ran, ["Ritz"]);
assert.match(model.shown(), /over the travel policy/);

// 3. onApproval answers inline: no interruption (it may be async).
const onApproval = (r: ApprovalRequest) => (r.requestedSpendCents > 600 ? { decision: "reject" as const, reason: "not this week" } : ("approve" as const));
model = new ScriptedModel("call_inn", { hotel: "Inn", cost_cents: 700 });
const tools = guardFunctionTools([makeBookHotel()], binding, { requestedSpendCents: spend, onApproval });
result = await runner.run(new Agent({ name: "travel", model, tools }), "Book the Inn");
console.log("onApproval:", model.shown());
assert.equal(result.interruptions?.length ?? 0, 0);
assert.match(model.shown(), /approval_rejected: not this week/);
assert.equal(harbor.stats().decisionsConsumed, 1); // only the approved call was reserved
