// Writes each ```ts block of a README as its own module, so `tsc` checks the snippets users copy.
// Usage: node readme-snippets.mjs README.md OUTDIR esm|cjs
// The snippets' free variables (credentials, ids) are declared in globals.d.ts. In a CommonJS
// project, top-level await is not allowed: the body goes into an async function there.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [readme, outDir, mode] = process.argv.slice(2);
const blocks = [...readFileSync(readme, "utf8").matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
if (blocks.length === 0) throw new Error(`no ts snippets in ${readme}`);
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, "globals.d.ts"),
  ["gatewayBaseUrl", "apiKey", "harborBaseUrl", "intentId", "capabilityToken"].map((n) => `declare const ${n}: string;\n`).join(""),
);
blocks.forEach((code, i) => {
  const lines = code.split("\n");
  const imports = lines.filter((l) => l.startsWith("import "));
  const body = lines.filter((l) => !l.startsWith("import "));
  const text = mode === "cjs"
    ? `${imports.join("\n")}\n\nexport async function snippet(): Promise<void> {\n${body.map((l) => (l ? `  ${l}` : l)).join("\n")}\n}\n`
    : `${code}\nexport {};\n`;
  writeFileSync(join(outDir, `readme-snippet-${i + 1}.ts`), text);
});
console.log(`${blocks.length} README snippets -> ${outDir}`);
