/** `underway demo`: a live breaking change (rename + type change) under load, on an embedded PostgreSQL unless given a database. */
import type { Command } from "commander";
import { UnderwayError } from "../../errors.js";

interface DemoFlags {
  databaseUrl?: string;
  rows: string;
  clients: string;
  json?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("run a live breaking change (rename + type change) under load on an embedded PostgreSQL")
    .option("--database-url <url>", "use this database instead of an embedded one (the demo keeps to its own schemas and removes them)")
    .option("--rows <n>", "rows in the demo table", "1000000")
    .option("--clients <n>", "concurrent clients per version", "4")
    .option("--json", "print the summary as JSON")
    .option("--verbose", "print error details")
    .action(demo);
}

async function demo(options: DemoFlags): Promise<void> {
  const rows = Number(options.rows.replaceAll("_", ""));
  const clients = Number(options.clients);
  if (!Number.isInteger(rows) || rows < 1000) throw new UnderwayError("INVALID_ARGUMENT", `--rows must be a whole number >= 1000, got "${options.rows}"`);
  if (!Number.isInteger(clients) || clients < 1 || clients > 64) throw new UnderwayError("INVALID_ARGUMENT", `--clients must be 1-64, got "${options.clients}"`);
  // The demo brings an embedded PostgreSQL and a workload: loaded only for `underway demo`.
  const [{ runDemo }, { print }] = await Promise.all([import("../../demo/demo.js"), import("../output.js")]);
  const summary = await runDemo({ databaseUrl: options.databaseUrl, rows, clients, log: (line) => process.stderr.write(`${line}\n`) });
  print(options, summary, summary.text);
  if (summary.failedQueries > 0 || summary.lostWrites > 0) process.exitCode = 1;
}
