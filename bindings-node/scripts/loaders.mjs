// Writes the per-format native loaders and package.json type markers after tsc.
import { mkdirSync, writeFileSync } from "node:fs";
mkdirSync("dist/cjs", { recursive: true });
mkdirSync("dist/esm", { recursive: true });
writeFileSync("dist/cjs/package.json", '{"type":"commonjs"}\n');
writeFileSync("dist/esm/package.json", '{"type":"module"}\n');
writeFileSync("dist/cjs/native-binding.js", 'module.exports = require("../../native/native.js");\n');
writeFileSync(
  "dist/esm/native-binding.js",
  'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\nexport default require("../../native/native.js");\n',
);
