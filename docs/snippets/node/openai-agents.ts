/**
 * OpenAI Agents JS: guardFunctionTools adds a Paybond tool input guardrail to every function tool.
 * A deny is rejectContent: the tool does not run and the model reads why.
 */
import { Agent, Runner, setTracingDisabled, tool, Usage, type Model, type ModelRequest, type ModelResponse } from "@openai/agents";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { guardFunctionTools } from "paybond-kit/openai-agents";
import { LocalHarbor } from "paybond-kit/testing";

setTracingDisabled(true); // offline: no trace export

/** Turn 1 calls the tools, turn 2 answers; keeps what the model was shown. */
class ScriptedModel implements Model {
  inputs: ModelRequest["input"][] = [];
  constructor(private readonly calls: [string, Record<string, unknown>][]) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.inputs.push(request.input);
    const output =
      this.inputs.length === 1
        ? this.calls.map(([name, args], k) => ({ type: "function_call" as const, id: `fc_${k}`, callId: `call_${k}`, name, arguments: JSON.stringify(args), status: "completed" as const }))
        : [{ type: "message" as const, id: "m1", role: "assistant" as const, status: "completed" as const, content: [{ type: "output_text" as const, text: "done" }] }];
    return { usage: new Usage(), output, responseId: undefined } as unknown as ModelResponse;
  }
  getStreamedResponse(): AsyncIterable<never> {
    throw new Error("not used");
  }
}

const ran: string[] = [];
const bookHotel = tool({
  name: "book_hotel",
  description: "Book a hotel room (paid)",
  parameters: z.object({ hotel: z.string(), cost_cents: z.number() }),
  execute: async ({ hotel }) => {
    ran.push("book_hotel");
    return `booked ${hotel}`;
  },
});
const wireMoney = tool({
  name: "wire_money",
  description: "Wire money (not in the intent)",
  parameters: z.object({ to: z.string() }),
  execute: async () => {
    ran.push("wire_money");
    return "wired";
  },
});

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 500 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

// The guardrail data carries the call's raw JSON arguments.
const spend = (d: { toolCall: { arguments?: string } }) => Number(JSON.parse(d.toolCall.arguments ?? "{}").cost_cents ?? 0);
const tools = guardFunctionTools([bookHotel, wireMoney], binding, { requestedSpendCents: spend });
const model = new ScriptedModel([["book_hotel", { hotel: "Harbor Inn", cost_cents: 300 }], ["wire_money", { to: "acct-42" }]]);
const result = await new Runner().run(new Agent({ name: "travel", model, tools }), "Book a hotel and pay acct-42");

console.log("final output:", result.finalOutput);
const shown = (model.inputs.at(-1) as { type?: string; callId?: string; output?: unknown }[]).filter((i) => i.type === "function_call_result");
for (const i of shown) console.log(i.callId, "->", JSON.stringify(i.output));
if (ran.join() !== "book_hotel") throw new Error(`a denied tool ran: ${ran.join()}`);
if (harbor.stats().decisionsConsumed !== 1) throw new Error("the allowed call's spend was not consumed");
