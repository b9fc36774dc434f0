/** A scripted OpenAI Agents model: the first turn calls the given tools, the second says "done". */
import type { Model, ModelRequest, ModelResponse } from "@openai/agents";
import { Usage } from "@openai/agents-core";

export class ScriptedModel implements Model {
  inputs: unknown[] = [];
  constructor(private calls: [string, Record<string, unknown>][]) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.inputs.push(request.input);
    const output =
      this.inputs.length === 1
        ? this.calls.map(([name, args], k) => ({ type: "function_call" as const, id: `fc_${k}`, callId: `call_${k}`, name, arguments: JSON.stringify(args), status: "completed" as const }))
        : [{ type: "message" as const, id: "m1", role: "assistant" as const, status: "completed" as const, content: [{ type: "output_text" as const, text: "done" }] }];
    return { usage: new Usage(), output, responseId: undefined } as unknown as ModelResponse;
  }
  // eslint-disable-next-line require-yield
  getStreamedResponse(): AsyncIterable<never> {
    throw new Error("not used");
  }
  toolOutputs(): Record<string, string> {
    const last = (this.inputs.at(-1) ?? []) as { type?: string; callId?: string; output?: unknown }[];
    const out: Record<string, string> = {};
    for (const it of Array.isArray(last) ? last : []) {
      if (it.type === "function_call_result") out[String(it.callId)] = JSON.stringify(it.output);
    }
    return out;
  }
}
