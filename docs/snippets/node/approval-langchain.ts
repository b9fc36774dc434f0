/**
 * Human approval in LangChain JS: Harbor's approval_required pauses the graph with `interrupt`;
 * the reviewer's answer resumes it with `new Command({ resume })`. The pause needs a checkpointer
 * and a thread_id; `onApproval` decides inline for apps without one.
 */
import { AIMessage, createAgent, tool, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { Command, MemorySaver } from "@langchain/langgraph";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { createPaybondMiddleware, type ApprovalRequest, type PaybondInterruptPayload, type ToolArgs } from "paybond-kit/langchain";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

const ran: string[] = [];
const bookHotel = tool(
  async ({ hotel }) => {
    ran.push(hotel);
    return `booked ${hotel}`;
  },
  { name: "book_hotel", description: "Book a hotel room (paid)", schema: z.object({ hotel: z.string(), cost_cents: z.number() }) },
);

/** Turn 1 books `hotel`, turn 2 answers. */
const oneBooking = (hotel: string, cost_cents: number) =>
  fakeModel().respondWithTools([{ name: "book_hotel", args: { hotel, cost_cents }, id: `call-${hotel}` }]).respond(new AIMessage("done"));

// Per tool: the mapping's functions take the tool's arguments.
const spend = { book_hotel: (args: ToolArgs) => Number(args.cost_cents) };
const toolMessage = (out: { messages: unknown[] }) => out.messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage;
type Paused = { __interrupt__?: { value: PaybondInterruptPayload }[]; messages: unknown[] };

await using harbor = await LocalHarbor.start();
// Calls spending more than 500 need a reviewer.
const intent = harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 5000, approvalThresholdCents: 500 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

const agentFor = (hotel: string, cents: number) =>
  createAgent({ model: oneBooking(hotel, cents), tools: [bookHotel], checkpointer: new MemorySaver(), middleware: [createPaybondMiddleware({ binding, requestedSpendCents: spend })] });

// 1. The call pauses the run: the tool has not run and nothing is reserved.
let agent = agentFor("Ritz", 900);
let config = { configurable: { thread_id: "trip-1" } };
const paused = (await agent.invoke({ messages: [{ role: "user", content: "Book the Ritz" }] }, config)) as Paused;
const request = paused.__interrupt__![0]!.value;
assert.equal(request.type, "paybond_approval");
assert.deepEqual(ran, []);
console.log("needs a reviewer:", request.toolName, request.args, request.requestedSpendCents, "cents");

// The reviewer approves: the guard tells Harbor, authorizes again, and the tool runs once.
const done = await agent.invoke(new Command({ resume: "approve" }), config);
console.log("approved:", toolMessage(done).content);
assert.deepEqual(ran, ["Ritz"]);

// 2. A rejection reaches the model as a deny carrying the reviewer's reason.
agent = agentFor("Savoy", 800);
config = { configurable: { thread_id: "trip-2" } };
await agent.invoke({ messages: [{ role: "user", content: "Book the Savoy" }] }, config);
const out = await agent.invoke(new Command({ resume: { decision: "reject", reason: "over the travel policy" } }), config);
console.log("rejected:", toolMessage(out).content);
assert.equal(String(toolMessage(out).content), "Paybond denied book_hotel: harbor_denied: approval_rejected: over the travel policy");

// 3. No checkpointer: onApproval decides instead of a pause (it may be async).
const asked: ApprovalRequest[] = [];
const onApproval = async (r: ApprovalRequest) => {
  asked.push(r);
  return r.requestedSpendCents <= 1000 ? ("approve" as const) : { decision: "reject" as const, reason: "too much" };
};
const inline = createAgent({ model: oneBooking("Inn", 700), tools: [bookHotel], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: spend, onApproval })] });
const answered = await inline.invoke({ messages: [{ role: "user", content: "Book the Inn" }] });
console.log("onApproval:", asked[0]!.toolName, asked[0]!.approvalRequestId, "->", toolMessage(answered).content);
assert.deepEqual(ran, ["Ritz", "Inn"]);
assert.equal(harbor.stats().decisionsConsumed, 2); // one reservation per approved call
