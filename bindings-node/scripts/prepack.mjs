// `npm pack` / `npm publish` hook: the license and the changelog live once, at the repository
// root; copy them in (npm skips symlinks). The copies are git-ignored.
import { copyFileSync } from "node:fs";
for (const f of ["LICENSE", "CHANGELOG.md"]) copyFileSync(new URL(`../../${f}`, import.meta.url), new URL(`../${f}`, import.meta.url));
