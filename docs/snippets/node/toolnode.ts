/**
 * LangGraph JS: the prebuilt ToolNode has no wrapper option, so guard the tools themselves.
 * guardTools returns structured tools with the same names and schemas; a deny is an error ToolMessage.
 */
import { AIMessage, tool, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { guardTools, type GuardEvent } from "paybond-kit/langchain";
import { LocalHarbor } from "paybond-kit/testing";

const bookFlight = tool(async ({ flight }) => `booked ${flight}`, {
  name: "book_flight",
  description: "Book a flight (paid)",
  schema: z.object({ flight: z.string(), cost_cents: z.number() }),
});

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["book_flight"], amountCents: 500 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

const events: GuardEvent[] = [];
const tools = guardTools([bookFlight], {
  binding,
  requestedSpendCents: (req) => Number(req.toolCall.args.cost_cents),
  onDecision: (e) => events.push(e),
});
const model = fakeModel()
  .respondWithTools([
    { name: "book_flight", args: { flight: "PB101", cost_cents: 300 }, id: "c1" },
    { name: "book_flight", args: { flight: "PB202", cost_cents: 300 }, id: "c2" },
  ])
  .respond(new AIMessage("done"));

const graph = new StateGraph(MessagesAnnotation)
  .addNode("agent", async (s) => ({ messages: [await model.invoke(s.messages)] }))
  .addNode("tools", new ToolNode(tools))
  .addEdge(START, "agent")
  .addConditionalEdges("agent", (s) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? "tools" : END), ["tools", END])
  .addEdge("tools", "agent")
  .compile();

const out = await graph.invoke({ messages: [{ role: "user", content: "Book two flights" }] });
for (const e of events) console.log(e.toolName, e.callId, e.decision.decision, e.decision.reason ?? e.decision.code ?? "", e.ran ? "ran" : "not run");
const statuses = out.messages.filter((m) => ToolMessage.isInstance(m)).map((m) => (m as ToolMessage).status ?? "success").sort();
// $3 + $3 > $5: one booking is allowed, the other is budget_exceeded and never runs.
if (statuses.join() !== "error,success") throw new Error(`unexpected: ${statuses.join()}`);
