// `make dist-check`: the packed tarballs used as an app uses them. Compiled with `tsc --strict` in
// an ESM (nodenext) and in a CommonJS project, then run on each Node version.
import { createRequire } from "node:module";
import { join } from "node:path";
import { AIMessage, createAgent, tool, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { tool as agentsTool } from "@openai/agents";
import { z } from "zod";
import { CapabilityBinding, InvalidArgumentError, PaybondError, ServiceAccountHarborSession } from "paybond-kit";
import { createPaybondMiddleware, guardTools } from "paybond-kit/langchain";
import { guardFunctionTools, paybondCapabilityInputGuardrail } from "paybond-kit/openai-agents";
import { LocalHarbor } from "paybond-kit/testing";

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`dist-check smoke: ${what}`);
}

async function main(): Promise<void> {
  const mode = typeof require === "function" ? "cjs" : "esm";
  const ran: string[] = [];
  const search = tool(async ({ q }: { q: string }) => (ran.push("search"), `found ${q}`), {
    name: "search", description: "Search (paid)", schema: z.object({ q: z.string() }),
  });
  const wire = tool(async ({ to }: { to: string }) => (ran.push("wire"), `sent to ${to}`), {
    name: "wire", description: "Send money", schema: z.object({ to: z.string() }),
  });

  await using harbor = await LocalHarbor.start();
  const intent = harbor.createIntent({ allowedTools: ["search"], amountCents: 500 });
  await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
  const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

  // LangChain createAgent + the middleware: one allow (runs), one deny (never runs).
  const model = fakeModel()
    .respondWithTools([{ name: "search", args: { q: "inns" }, id: "c1" }, { name: "wire", args: { to: "acct-42" }, id: "c2" }])
    .respond(new AIMessage("done"));
  const agent = createAgent({ model, tools: [search, wire], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: 100 })] });
  const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
  const status = Object.fromEntries(out.messages.filter((m) => ToolMessage.isInstance(m)).map((m) => [(m as ToolMessage).name, (m as ToolMessage).status]));
  check(JSON.stringify(ran) === '["search"]', `createAgent ran ${JSON.stringify(ran)}`);
  check(status.search === "success" && status.wire === "error", `createAgent statuses ${JSON.stringify(status)}`);

  // LangGraph ToolNode over guardTools(): the wrapped tools keep their types (no cast here).
  const node = new ToolNode(guardTools([search, wire], { binding, requestedSpendCents: 100 }));
  const calls = new AIMessage({ content: "", tool_calls: [{ name: "wire", args: { to: "x" }, id: "c3", type: "tool_call" }] });
  const res = (await node.invoke({ messages: [calls] })) as { messages: ToolMessage[] };
  check(res.messages[0]?.status === "error" && ran.length === 1, "ToolNode ran a denied tool");

  // OpenAI Agents: the guardrail attached by guardFunctionTools, called as the runner calls it.
  const [bookTool] = guardFunctionTools([agentsTool({ name: "search", description: "Search", parameters: z.object({ q: z.string() }), execute: async () => "ok" })], binding);
  check(bookTool?.inputGuardrails?.length === 1, "guardFunctionTools attached no guardrail");
  const guardrail = paybondCapabilityInputGuardrail({ binding, requestedSpendCents: 100 });
  const verdict = async (name: string) =>
    (await guardrail.run({ toolCall: { name, callId: `g-${name}`, arguments: "{}" }, context: { context: binding } } as never)).behavior.type;
  check((await verdict("search")) === "allow" && (await verdict("wire")) === "rejectContent", "OpenAI Agents guardrail verdicts");

  // One copy of the kit's identity across its two builds: an object from one build is accepted
  // by the other's adapters and passes the other's instanceof.
  const req = createRequire(join(process.cwd(), "package.json"));
  const cjs = req("paybond-kit") as typeof import("paybond-kit");
  const cjsLangchain = req("paybond-kit/langchain") as typeof import("paybond-kit/langchain");
  const esm = await import("paybond-kit");
  const esmLangchain = await import("paybond-kit/langchain");
  check((cjs.CapabilityBinding as unknown) !== esm.CapabilityBinding, "expected two copies of the classes (one per build)");
  // (Typed per build, the two copies' classes differ by their private members: cast.)
  cjsLangchain.createPaybondMiddleware({ binding: binding as never });
  esmLangchain.createPaybondMiddleware({ binding: binding as never });
  check(binding instanceof cjs.CapabilityBinding && binding instanceof esm.CapabilityBinding, "CapabilityBinding instanceof across builds");
  let err: unknown;
  try {
    createPaybondMiddleware({ binding, requestedSpendCents: -1 });
  } catch (e) {
    err = e;
  }
  check(err instanceof cjs.InvalidArgumentError && err instanceof esm.PaybondError && err instanceof InvalidArgumentError && err instanceof PaybondError, "errors instanceof across builds");
  check(!(new Error("x") instanceof cjs.PaybondError), "a plain Error is not a PaybondError");

  console.log(`dist-check: node ${process.versions.node} ${mode}: LocalHarbor, createAgent allow+deny, ToolNode deny, OpenAI Agents guardrail allow+deny, one identity across ESM/CJS: ok`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
