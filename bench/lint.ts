/**
 * `npm run bench:lint`: statements linted per second on a generated migration of 10,000
 * statements (a realistic mix of safe and unsafe DDL over many tables), through the same
 * `lintFile` the CLI calls (read, parse with libpg_query's WASM build, check, sort).
 *
 * Printed figures, each as `value / baseline = ratio (target)`: the baseline is the issue's
 * target of 10,000 statements per second, so a ratio >= 1 meets it.
 * - cold: the first lint in a fresh process, WebAssembly compilation and JIT warm-up included
 *   (what one `underway lint` run in CI pays);
 * - warm: the median of the following runs.
 *
 * Flags: --statements N (default 10000), --runs N (default 7), --json.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { flag, median } from "./support/cli-args.js";


const TARGET_PER_SECOND = 10_000;


/** A deterministic mix of the statements migrations are made of; about a third unsafe. */
export function generateMigration(count: number): string {
  let seed = 42;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const templates: ((t: string, c: string, i: number) => string)[] = [
    (t, c) => `ALTER TABLE ${t} ADD COLUMN ${c} text;`,
    (t, c) => `ALTER TABLE ${t} ADD COLUMN ${c} integer NOT NULL DEFAULT 0;`,
    (t, c) => `ALTER TABLE ${t} ADD COLUMN ${c} uuid DEFAULT gen_random_uuid();`,
    (t, c, i) => `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${t}_${c}_${i}_idx ON ${t} (${c});`,
    (t, c, i) => `CREATE INDEX ${t}_${c}_${i}_idx ON ${t} USING btree (${c}, id) WHERE ${c} IS NOT NULL;`,
    (t, c) => `ALTER TABLE ${t} ALTER COLUMN ${c} SET NOT NULL;`,
    (t, c, i) => `ALTER TABLE ${t} ADD CONSTRAINT ${t}_${c}_${i}_fkey FOREIGN KEY (${c}) REFERENCES parents (id) NOT VALID;`,
    (t, c, i) => `ALTER TABLE ${t} VALIDATE CONSTRAINT ${t}_${c}_${i}_fkey;`,
    (t, c, i) => `ALTER TABLE ${t} ADD CONSTRAINT ${t}_${c}_${i}_check CHECK (${c} > 0 AND ${c} < 1000000);`,
    (t, c) => `ALTER TABLE ${t} ALTER COLUMN ${c} TYPE bigint USING ${c}::bigint;`,
    (t, c) => `ALTER TABLE ${t} RENAME COLUMN ${c} TO ${c}_old;`,
    (t, c) => `UPDATE ${t} SET ${c} = lower(${c}) WHERE id BETWEEN 1 AND 1000;`,
    (t, c, i) => `CREATE TABLE ${t}_${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ${c} text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());`,
    (t, c) => `COMMENT ON COLUMN ${t}.${c} IS 'generated for the lint benchmark';`,
    () => `SET lock_timeout = '2s';`,
  ];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const table = `table_${next(400)}`;
    const column = `col_${next(60)}`;
    lines.push(templates[next(templates.length)]!(table, column, i));
  }
  return `${lines.join("\n")}\n`;
}


async function main(): Promise<void> {
  const statements = flag("statements", 10_000);
  const runs = flag("runs", 7);
  const json = process.argv.includes("--json");
  const dir = await mkdtemp(join(tmpdir(), "underway-bench-lint-"));
  try {
    const path = join(dir, "20240101_generated.sql");
    await writeFile(path, generateMigration(statements));

    // libpg-query compiles its WebAssembly when imported: time the import, not just the load call.
    const loadStart = performance.now();
    const { lintFile } = await import("../src/lint/lint.js");
    const { loadSqlParser } = await import("../src/lint/sql-parser.js");
    await loadSqlParser();
    const loadMs = performance.now() - loadStart;

    const times: number[] = [];
    let findings = 0;
    for (let run = 0; run < runs; run++) {
      const start = performance.now();
      findings = (await lintFile(path)).length;
      times.push(performance.now() - start);
    }
    const cold = statements / ((times[0]! + loadMs) / 1000);
    const warm = statements / (median(times.slice(1).length > 0 ? times.slice(1) : times) / 1000);
    const figures = [
      { id: "cold", title: "statements linted per second, first run in a fresh process (WASM load included)", value: cold },
      { id: "warm", title: `statements linted per second, median of ${Math.max(1, runs - 1)} further runs`, value: warm },
    ].map((f) => ({ ...f, unit: "statements/s", baseline: TARGET_PER_SECOND, ratio: f.value / TARGET_PER_SECOND, target: 1, pass: f.value >= TARGET_PER_SECOND }));
    const report = {
      benchmark: "lint",
      date: new Date().toISOString(),
      machine: { cores: cpus().length, cpuModel: cpus()[0]?.model ?? "?", memoryGiB: totalmem() / 2 ** 30, loadAverageAtEnd: loadavg()[0]!, node: process.version },
      parameters: { statements, runs },
      details: { parserLoadMs: Math.round(loadMs), runMs: times.map((t) => Math.round(t)).join(","), findings },
      figures,
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const m = report.machine;
    const lines = [
      `lint (${report.date})`,
      `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB, node ${m.node}, load average at the end ${m.loadAverageAtEnd.toFixed(2)}`,
      `parameters: statements=${statements} runs=${runs}; parser load ${Math.round(loadMs)} ms; runs (ms): ${report.details.runMs}; ${findings} findings`,
      "",
      ...figures.map(
        (f) =>
          `${f.id}. ${f.title}: ${Math.round(f.value).toLocaleString("en-US")} ${f.unit} / baseline ${f.baseline.toLocaleString("en-US")} ${f.unit} = ratio ${f.ratio.toFixed(2)}  (target >= ${f.target.toFixed(2)})  ${f.pass ? "PASS" : "MISS"}`,
      ),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
