/**
 * A LangGraph JS sub-agent node with a narrower binding: delegateNode builds the sub-agent for a
 * fresh child of the parent binding on every run of the node.
 */
import { AIMessage, createAgent, HumanMessage, tool, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { z } from "zod";
import { CapabilityBinding, delegateNode, ServiceAccountHarborSession } from "paybond-kit";
import { createPaybondMiddleware } from "paybond-kit/langchain";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

const search = tool(async ({ query }) => `found ${query}`, { name: "search", description: "Search the web", schema: z.object({ query: z.string() }) });
const bookHotel = tool(async ({ hotel }) => `booked ${hotel}`, { name: "book_hotel", description: "Book a hotel room", schema: z.object({ hotel: z.string() }) });

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["search", "book_hotel"], amountCents: 1000 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

let runs = 0;
/** The sub-agent, guarded with the child binding it is given (called on every run of the node). */
const buildResearcher = (child: CapabilityBinding) => {
  runs += 1;
  const model = fakeModel()
    .respondWithTools([
      { name: "search", args: { query: "a" }, id: `s1-${runs}` },
      { name: "search", args: { query: "b" }, id: `s2-${runs}` },
      { name: "book_hotel", args: { hotel: "Inn" }, id: `b-${runs}` },
    ])
    .respond(new AIMessage("done"));
  return createAgent({ model, tools: [search, bookHotel], middleware: [createPaybondMiddleware({ binding: child })] });
};

const graph = new StateGraph(MessagesAnnotation)
  .addNode("research", delegateNode(buildResearcher, binding, { tools: ["search"], maxCalls: 1 }))
  .addEdge(START, "research")
  .addEdge("research", END)
  .compile();

const out = await graph.invoke({ messages: [new HumanMessage("research inns")] });
const results = out.messages.filter((m) => ToolMessage.isInstance(m)).map((m) => String(m.content)).sort();
for (const text of results) console.log(text);
// One search ran; the second is over maxCalls; book_hotel is outside the child's tools.
assert.deepEqual(results.map((r) => r.startsWith("found")), [false, false, true]);
assert.equal(results.filter((r) => r.includes("max_calls_exceeded")).length, 1);
assert.equal(results.filter((r) => r.includes("operation_not_allowed")).length, 1);
assert.equal((await binding.authorize("book_hotel", "parent-1", {}, 0)).decision, "allow"); // the parent could

await graph.invoke({ messages: [new HumanMessage("again")] }); // a fresh child: a fresh maxCalls
assert.equal(runs, 2);
