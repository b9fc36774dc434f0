/**
 * An OpenAI Agents JS agent whose paid tools cannot run unless Paybond Harbor verified each call.
 *
 * Runs against the embedded dev server (`LocalHarbor`) with a scripted model: no account, no
 * network, no API key. The agent tries an allowed paid tool, a tool outside the intent, and a call
 * over budget; the table shows each decision and that denied tools never ran.
 *
 * Run: `make demo` (after the Python demo) or `npx tsx openai_agents_guarded.ts` here.
 */
import { Agent, Runner, setTracingDisabled, tool, Usage, type Model, type ModelRequest, type ModelResponse } from "@openai/agents";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession, ServiceAccountSignalSession, type Decision } from "paybond-kit";
import { guardFunctionTools, type GuardEvent } from "paybond-kit/openai-agents";
import { LocalHarbor } from "paybond-kit/testing";

setTracingDisabled(true);
const ran: Record<string, number> = { book_hotel: 0, wire_money: 0 };

/** Turn 1..n: one tool call each; then a final answer. */
class ScriptedModel implements Model {
  private turn = 0;
  constructor(private readonly calls: [string, Record<string, unknown>][]) {}
  async getResponse(_request: ModelRequest): Promise<ModelResponse> {
    const k = this.turn++;
    const step = this.calls[k];
    const output = step
      ? [{ type: "function_call" as const, id: `fc_${k}`, callId: `call_${k}`, name: step[0], arguments: JSON.stringify(step[1]), status: "completed" as const }]
      : [{ type: "message" as const, id: "m1", role: "assistant" as const, status: "completed" as const,
          content: [{ type: "output_text" as const, text: "Booked one hotel; Paybond refused the wire and the second booking." }] }];
    return { usage: new Usage(), output, responseId: undefined } as unknown as ModelResponse;
  }
  getStreamedResponse(): AsyncIterable<never> {
    throw new Error("the scripted model does not stream");
  }
}

const bookHotel = tool({
  name: "book_hotel",
  description: "Book a hotel room (paid)",
  parameters: z.object({ hotel: z.string(), cost_cents: z.number() }),
  errorFunction: null,
  execute: async ({ hotel, cost_cents }) => {
    ran.book_hotel++;
    return `booked ${hotel} for $${(cost_cents / 100).toFixed(2)}`;
  },
});

const wireMoney = tool({
  name: "wire_money",
  description: "Wire money to an account",
  parameters: z.object({ to: z.string(), amount_cents: z.number() }),
  execute: async ({ to }) => {
    ran.wire_money++;
    return `wired to ${to}`;
  },
});

function fmt(d: Decision): [string, string] {
  return [d.reason ?? d.code ?? "-", d.remainingCents == null ? "-" : `$${(d.remainingCents / 100).toFixed(2)}`];
}

async function main(): Promise<void> {
  await using harbor = await LocalHarbor.start();
  const intent = harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 500, payeeDid: "did:payee:harbor-inn" });
  await using session = await ServiceAccountHarborSession.open({
    gatewayBaseUrl: harbor.gatewayUrl,
    apiKey: harbor.apiKey,
    harborBaseUrl: harbor.harborUrl,
    // A guarded call answers within this deadline (all attempts and waits), whatever the server does.
    deadlineSeconds: 5,
  });
  console.log(`session tenant (from the Gateway): ${session.tenantId}; intent budget $5.00 for book_hotel only`);
  const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);
  const events: GuardEvent[] = [];
  const spend = (d: { toolCall: { arguments?: string } }): number => {
    const a = JSON.parse(d.toolCall.arguments ?? "{}") as { cost_cents?: number; amount_cents?: number };
    return a.cost_cents ?? a.amount_cents ?? 0;
  };
  const tools = guardFunctionTools([bookHotel, wireMoney], binding, { requestedSpendCents: spend, onDecision: (e) => events.push(e) });
  const model = new ScriptedModel([
    ["book_hotel", { hotel: "Harbor Inn", cost_cents: 300 }],
    ["wire_money", { to: "acct-42", amount_cents: 100 }],
    ["book_hotel", { hotel: "Grand Hotel", cost_cents: 300 }],
  ]);
  const result = await new Runner().run(new Agent({ name: "travel", model, tools }), "Book me a hotel and pay acct-42.");

  console.log(`\n${"tool".padEnd(12)} ${"ran".padEnd(4)} ${"decision".padEnd(9)} ${"code".padEnd(24)} ${"remaining".padStart(9)}`);
  for (const e of events) {
    const [code, remaining] = fmt(e.decision);
    console.log(`${e.toolName.padEnd(12)} ${(e.ran ? "yes" : "no").padEnd(4)} ${e.decision.decision.padEnd(9)} ${code.padEnd(24)} ${remaining.padStart(9)}`);
  }
  console.log(`\ntool bodies ran: book_hotel=${ran.book_hotel}, wire_money=${ran.wire_money} (denied calls never ran)`);
  console.log(`agent's final answer: ${String(result.finalOutput)}`);

  // Pin Signal's receipt key (in production: from your Paybond dashboard) so a receipt proves Signal signed it.
  await using sig = await ServiceAccountSignalSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, trustedSigningKeyHex: harbor.signalPublicKeyHex });
  const receipt = await sig.signal.reputationReceipt(intent.payeeDid);
  if (receipt) console.log(`reputation receipt: score ${receipt.receipt.score}, signature checked with the ${receipt.signatureCheckedWith === "pinned_key" ? "pinned Signal key" : "key the receipt names (integrity only)"}`);
  const status = await sig.signal.operatorReviewStatus(intent.payeeDid);
  if (status) console.log(`review status of ${status.operatorDid}: maturity ${status.maturityTier.band}, trust policy ${status.trustPolicy.decisionBand}`);
  if (ran.wire_money !== 0) throw new Error("a denied tool ran");
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
