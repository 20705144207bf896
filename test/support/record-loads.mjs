/**
 * Preloaded with `node --import` by test/cli/startup-imports.test.ts: appends to the file
 * named by UNDERWAY_RECORD_LOADS every module the process loads, one URL or path a line.
 *
 * ES modules are seen by a resolve hook (`module.register`, Node 20.6+), which runs on the
 * loader's own thread and writes each URL as it resolves. CommonJS modules loaded with
 * `require` (which Node 20 does not pass through that hook) are read from the require
 * cache when the process exits.
 */
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";

const out = process.env.UNDERWAY_RECORD_LOADS;
if (!out) throw new Error("record-loads.mjs: set UNDERWAY_RECORD_LOADS to the file to write");

const hooks = `
import { appendFileSync } from "node:fs";
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(out, result.url + "\\n");
  return result;
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { out } });

const cache = createRequire(import.meta.url).cache;
process.on("exit", () => {
  appendFileSync(out, Object.keys(cache).map((path) => `${path}\n`).join(""));
});
