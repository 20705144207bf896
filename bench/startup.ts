/**
 * `npm run bench:startup`: how long one process of the built CLI takes, from spawn to exit,
 * next to a bare `node -e 0` measured in the same run (a CI loop over many migration files
 * pays this once per file).
 *
 * Printed figures, each as `value / baseline = ratio (target)`, the baseline being the
 * median wall time of `node -e 0`:
 * - version: `underway --version` (target: within 3x);
 * - help: `underway --help` (target: within 3x);
 * - lint: `underway lint small.sql` on a three-statement file (target: within 6x);
 * - import: `node -e 'import("underway")'`, the package's main entry resolved from this
 *   repository's dist (information only: no target).
 *
 * Every command runs `--runs` times (default 11) after one unmeasured warm-up round; the
 * commands take turns within each round, so a change in the machine's load falls on all of
 * them alike. Each figure is the median. The CLI runs from `dist/` (the npm script builds it).
 *
 * Flags: --runs N, --json.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { flag, median } from "./support/cli-args.js";

/** The repository: this file runs from `.tmp/bench-startup/bench/`, or from `bench/`. */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "bin", "underway.js"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the repository (package.json beside bin/underway.js) above this script");
    dir = parent;
  }
  return dir;
}



/** A small migration as a CI loop would lint it: one finding (a warning), so exit code 0. */
const SMALL_SQL = `CREATE TABLE audit_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, happened_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
ALTER TABLE users ADD COLUMN nickname text;
`;

interface Command {
  id: string;
  title: string;
  args: string[];
  /** Exit codes that mean the command did its job. */
  codes: number[];
  target: number | null;
}

interface Figure {
  id: string;
  title: string;
  command: string;
  unit: "ms";
  value: number;
  baseline: number;
  ratio: number;
  /** The most the ratio may be; null: information only. */
  target: number | null;
  pass: boolean | null;
  runsMs: number[];
}

/** Runs `node ARGS` once; the wall time in ms, or throws with the output when it failed. */
function timeOnce(command: Command, cwd: string): number {
  const start = performance.now();
  const run = spawnSync(process.execPath, command.args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const ms = performance.now() - start;
  if (run.error) throw run.error;
  if (run.status === null || !command.codes.includes(run.status)) {
    throw new Error(`node ${command.args.join(" ")} exited ${run.status ?? run.signal}:\n${run.stdout}${run.stderr}`);
  }
  return ms;
}

async function main(): Promise<void> {
  const runs = flag("runs", 11);
  const json = process.argv.includes("--json");
  const root = repositoryRoot();
  const cli = join(root, "bin", "underway.js");
  if (!existsSync(join(root, "dist", "cli", "main.js")) || !existsSync(join(root, "dist", "index.js"))) {
    throw new Error(`${join(root, "dist")} is incomplete: run "npm run build" first (npm run bench:startup does)`);
  }
  const dir = await mkdtemp(join(tmpdir(), "underway-bench-startup-"));
  try {
    const sql = join(dir, "20240101_add_nickname.sql");
    await writeFile(sql, SMALL_SQL);
    const baseline: Command = { id: "baseline", title: "node -e 0", args: ["-e", "0"], codes: [0], target: null };
    const commands: Command[] = [
      { id: "version", title: "underway --version", args: [cli, "--version"], codes: [0], target: 3 },
      { id: "help", title: "underway --help", args: [cli, "--help"], codes: [0], target: 3 },
      { id: "lint", title: "underway lint FILE (3 statements)", args: [cli, "lint", sql], codes: [0], target: 6 },
      // Run from the repository, so "underway" resolves to its own dist through package.json's exports.
      { id: "import", title: `node -e 'import("underway")'`, args: ["-e", `import("underway")`], codes: [0], target: null },
    ];
    const all = [baseline, ...commands];
    const times = new Map<string, number[]>(all.map((c) => [c.id, []]));
    const loadAtStart = loadavg()[0]!;
    for (const command of all) timeOnce(command, root);
    for (let round = 0; round < runs; round++) {
      for (const command of all) times.get(command.id)!.push(timeOnce(command, root));
    }
    const base = median(times.get("baseline")!);
    const figures: Figure[] = commands.map((c) => {
      const value = median(times.get(c.id)!);
      const ratio = value / base;
      return {
        id: c.id,
        title: c.title,
        command: `node ${c.args.map((a) => (a.startsWith(root) ? a.slice(root.length + 1) : a)).join(" ")}`,
        unit: "ms",
        value,
        baseline: base,
        ratio,
        target: c.target,
        pass: c.target === null ? null : ratio <= c.target,
        runsMs: times.get(c.id)!.map((t) => Math.round(t)),
      };
    });
    const report = {
      benchmark: "startup",
      date: new Date().toISOString(),
      machine: {
        cores: cpus().length,
        cpuModel: cpus()[0]?.model ?? "?",
        memoryGiB: totalmem() / 2 ** 30,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg()[0]!,
        node: process.version,
      },
      parameters: { runs },
      details: { baselineRunsMs: times.get("baseline")!.map((t) => Math.round(t)) },
      figures,
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const m = report.machine;
    const lines = [
      `startup (${report.date})`,
      `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB, node ${m.node}, load average ${m.loadAverageAtStart.toFixed(2)} at the start, ${m.loadAverageAtEnd.toFixed(2)} at the end`,
      `parameters: runs=${runs} (median of each; one warm-up round first); baseline node -e 0 runs (ms): ${report.details.baselineRunsMs.join(",")}`,
      "",
      ...figures.map(
        (f) =>
          `${f.id}. ${f.title}: ${f.value.toFixed(0)} ms / baseline ${f.baseline.toFixed(0)} ms = ratio ${f.ratio.toFixed(2)}  ` +
          (f.target === null ? "(information, no target)" : `(target <= ${f.target.toFixed(2)})  ${f.pass ? "PASS" : "MISS"}`),
      ),
      "",
      ...figures.map((f) => `runs of ${f.id} (ms): ${f.runsMs.join(",")}`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:startup: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
