#!/usr/bin/env node
/**
 * `paybond-mcp-proxy` (Node): a guarding stdio proxy in front of any stdio MCP server, the twin of
 * the Python console script of the same name and flags.
 *
 * ```sh
 * export PAYBOND_API_KEY=...            # never on the command line
 * export PAYBOND_CAPABILITY_TOKEN=...   # or --capability-token-file PATH
 * npx paybond-mcp-proxy --gateway-url https://gateway... --harbor-url https://harbor... \
 *     --intent-id 7c0e... --tool-spend book_hotel=300 -- node my-server.js
 * ```
 *
 * `tools/list` is forwarded unchanged; every `tools/call` is verified with the one configured
 * binding before it is forwarded, and the upstream's result is returned unchanged. A tool the
 * upstream does not list (after one fresh listing) is denied (`unknown_tool`) without asking
 * Harbor or the upstream. The upstream gets the SDK's default safe environment plus the names
 * given with `--pass-env`: never the API key or the token. Needs `@modelcontextprotocol/sdk`.
 */

import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { CapabilityBinding, ServiceAccountHarborSession } from "./client.js";
import { InvalidArgumentError } from "./errors.js";
import type { GuardEvent, SpendSpec } from "./guard.js";
import { denyResult, isErrorResult, McpGuard, type McpCallToolResult, type McpToolCall } from "./mcp.js";

const MAX_PAGES = 100;

/** Options of {@link buildProxyServer}. */
export interface ProxyOptions {
  /** Cents per call: an integer, a function of the call, or a per-tool mapping. Default 0. */
  requestedSpendCents?: SpendSpec<McpToolCall>;
  /** Called once per call with what happened. */
  onDecision?: (e: GuardEvent) => void;
  /** The server name announced to clients (default `paybond-mcp-proxy`). */
  name?: string;
}

/**
 * A low-level MCP `Server` that fronts `upstream` (a connected SDK `Client`): `tools/list` is
 * forwarded page by page, `tools/call` verified with `binding` and forwarded only after an allow,
 * for tools the upstream lists.
 * @throws {InvalidArgumentError} a missing binding or a bad option.
 */
export function buildProxyServer(upstream: Client, binding: CapabilityBinding, options: ProxyOptions = {}): Server {
  if (!(binding instanceof CapabilityBinding)) throw new InvalidArgumentError("invalid argument `binding`: a paybond-kit CapabilityBinding is required", { field: "binding" });
  const guard = new McpGuard({ binding, requestedSpendCents: options.requestedSpendCents, onDecision: options.onDecision, tools: [] });
  const listed = new Set<string>();
  const refresh = async () => {
    const names = new Set<string>();
    let cursor: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const page = await upstream.listTools(cursor === undefined ? undefined : { cursor });
      for (const t of page.tools) names.add(t.name);
      cursor = page.nextCursor;
      if (cursor === undefined) break;
    }
    listed.clear();
    for (const n of names) listed.add(n);
    guard.setTools([...listed]);
  };
  const server = new Server({ name: options.name ?? "paybond-mcp-proxy", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    const cursor = request.params?.cursor;
    const page = await upstream.listTools(cursor === undefined ? undefined : { cursor });
    if (cursor === undefined) listed.clear();
    for (const t of page.tools) listed.add(t.name);
    guard.setTools([...listed]);
    return page;
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const { name } = request.params;
    const args = { ...(request.params.arguments ?? {}) };
    if (!listed.has(name)) {
      try {
        await refresh();
      } catch (e) {
        // fail closed: no listing, no call
        console.error(`paybond-mcp-proxy: listing the upstream's tools failed: ${e instanceof Error ? e.name : typeof e}`);
        guard.setTools([]);
      }
    }
    const result = await guard.call<McpCallToolResult>(
      name, args, undefined, async () => (await upstream.callTool({ name, arguments: args })) as McpCallToolResult, denyResult, isErrorResult,
    );
    return result as Awaited<ReturnType<Client["callTool"]>>;
  });
  return server;
}

interface Parsed {
  gatewayUrl?: string;
  harborUrl?: string;
  intentId?: string;
  tokenFile?: string;
  spendCents: number;
  toolSpend: Record<string, number>;
  passEnv: string[];
  cwd?: string;
  command: string[];
}

const USAGE = `usage: paybond-mcp-proxy [--gateway-url URL] [--harbor-url URL] [--intent-id ID] [--capability-token-file PATH]
                         [--spend-cents N] [--tool-spend TOOL=CENTS]... [--pass-env NAME]... [--cwd DIR] -- COMMAND [ARGS...]
The API key is read from PAYBOND_API_KEY and the capability token from PAYBOND_CAPABILITY_TOKEN
(or --capability-token-file); neither is accepted on the command line. --gateway-url, --harbor-url
and --intent-id default to PAYBOND_GATEWAY_URL, PAYBOND_HARBOR_URL and PAYBOND_INTENT_ID.`;

function parse(argv: readonly string[]): Parsed | string {
  const env = process.env;
  const p: Parsed = {
    gatewayUrl: env.PAYBOND_GATEWAY_URL, harborUrl: env.PAYBOND_HARBOR_URL, intentId: env.PAYBOND_INTENT_ID,
    spendCents: 0, toolSpend: {}, passEnv: [], command: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      p.command = argv.slice(i + 1);
      break;
    }
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case "--gateway-url": p.gatewayUrl = value(); break;
      case "--harbor-url": p.harborUrl = value(); break;
      case "--intent-id": p.intentId = value(); break;
      case "--capability-token-file": p.tokenFile = value(); break;
      case "--cwd": p.cwd = value(); break;
      case "--pass-env": p.passEnv.push(String(value())); break;
      case "--spend-cents": {
        const v = String(value());
        if (!/^\d+$/.test(v)) return `--spend-cents expects a whole number of cents, got ${JSON.stringify(v)}`;
        p.spendCents = Number(v);
        break;
      }
      case "--tool-spend": {
        const v = String(value());
        const m = /^([^=]+)=(\d+)$/.exec(v);
        if (!m) return `--tool-spend expects TOOL=CENTS, got ${JSON.stringify(v)}`;
        p.toolSpend[m[1]] = Number(m[2]);
        break;
      }
      case "-h":
      case "--help":
        return USAGE;
      default:
        return `unknown argument ${JSON.stringify(a)} (put the upstream command after --)\n${USAGE}`;
    }
  }
  return p;
}

/**
 * The `paybond-mcp-proxy` bin: open the session, start the upstream, serve on stdio until stdin
 * closes. Resolves to the exit status (2: bad configuration or a session that cannot open).
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const p = parse(argv);
  if (p === USAGE) {
    console.log(USAGE);
    return 0;
  }
  if (typeof p === "string") {
    console.error(`paybond-mcp-proxy: ${p}`);
    return 2;
  }
  const missing: string[] = [];
  if (!p.gatewayUrl) missing.push("--gateway-url");
  if (!p.harborUrl) missing.push("--harbor-url");
  if (!p.intentId) missing.push("--intent-id");
  const apiKey = process.env.PAYBOND_API_KEY;
  if (!apiKey) missing.push("PAYBOND_API_KEY");
  let token: string | undefined;
  if (p.tokenFile) {
    try {
      token = readFileSync(p.tokenFile, "utf8").trim();
    } catch (e) {
      console.error(`paybond-mcp-proxy: cannot read --capability-token-file: ${(e as { code?: string }).code ?? "error"}`);
      return 2;
    }
  } else {
    token = process.env.PAYBOND_CAPABILITY_TOKEN;
  }
  if (!token) missing.push("PAYBOND_CAPABILITY_TOKEN (or --capability-token-file)");
  if (p.command.length === 0) missing.push("the upstream command after --");
  if (missing.length > 0) {
    console.error(`paybond-mcp-proxy: missing ${missing.join(", ")}`);
    return 2;
  }
  const perTool = p.toolSpend;
  const spend: SpendSpec<McpToolCall> = Object.keys(perTool).length === 0 ? p.spendCents : (c: McpToolCall) => perTool[c.toolName] ?? p.spendCents;
  let session: ServiceAccountHarborSession;
  let binding: CapabilityBinding;
  try {
    session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: p.gatewayUrl!, apiKey: apiKey!, harborBaseUrl: p.harborUrl! });
    binding = new CapabilityBinding(session.harbor, p.intentId!, token!);
  } catch (e) {
    // the core scrubs secrets from its messages
    const err = e as { code?: string; message?: string };
    console.error(`paybond-mcp-proxy: ${err.code ?? "error"}: ${err.message ?? String(e)}`);
    return 2;
  }
  const env = getDefaultEnvironment();
  for (const k of p.passEnv) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  const upstream = new Client({ name: "paybond-mcp-proxy", version: "1.0.0" });
  try {
    await upstream.connect(new StdioClientTransport({ command: p.command[0], args: p.command.slice(1), env, cwd: p.cwd, stderr: "inherit" }));
  } catch (e) {
    console.error(`paybond-mcp-proxy: cannot start the upstream ${JSON.stringify(p.command[0])}: ${e instanceof Error ? e.message : String(e)}`);
    await session.dispose();
    return 2;
  }
  const server = buildProxyServer(upstream, binding, { requestedSpendCents: spend });
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
    process.stdin.once("end", () => resolve());
  });
  await server.connect(new StdioServerTransport());
  await closed;
  await upstream.close().catch(() => undefined);
  await session.dispose();
  return 0;
}

// The bin is the CommonJS build; the ESM copy of this file only exports.
if (typeof require !== "undefined" && typeof module !== "undefined" && require.main === module) {
  main().then((code) => process.exit(code), (e) => {
    console.error(`paybond-mcp-proxy: ${e instanceof Error ? e.name : "error"}`);
    process.exit(1);
  });
}
