#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";

// The SQL parser (lint, convert, plan) is WebAssembly. V8 compiles it with its baseline
// compiler (Liftoff) and, by default, with its optimizing one on background threads too,
// and Node waits for those background compilations before the process exits: in one CLI
// run that wait costs more than the optimized code can save (a few hundred milliseconds on
// two cores). Set before anything is compiled, hence before main.js is imported.
setFlagsFromString("--liftoff-only");

const { main } = await import("../dist/cli/main.js");

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`underway: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
