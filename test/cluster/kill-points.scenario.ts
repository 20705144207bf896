import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../src/run/migrator.js";
import { startCluster, type Cluster } from "../support/cluster.js";
import { accountsDatabase, printFigures, queryOnce, startWorkload, underway, widenScore } from "../support/fault-workload.js";
import type { MigrationPlan } from "../../src/plan/step.js";
import type { AppVersion } from "../../src/rehearse/workload-tables.js";

const ROWS = 40_000;
/** --max-rate of the backfill, so it lasts BACKFILL_MS and kills can land inside it. */
const RATE = 20_000;
const BACKFILL_MS = (ROWS / RATE) * 1000;
/** Rounds after the calibration round; each kills `start` once and `complete` once. */
const ROUNDS = 16;
const SEED = Number(process.env.UNDERWAY_SCENARIO_SEED ?? 20_241_121);

/** mulberry32: a small seeded generator, so a failing point can be replayed with UNDERWAY_SCENARIO_SEED. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface KillPoint {
  /** The stderr line the delay counts from; null: from the start of the process. */
  after: RegExp | null;
  delayMs: number;
}

interface Landing {
  round: number;
  command: "start" | "complete";
  point: string;
  /** Where the kill found the migration: expand, backfill, verify, contract, or finished. */
  where: string;
}

/**
 * kill -9 of the underway process at seeded random moments of `start` (expand steps and
 * backfill) and `complete` (verify and contract steps), round after round on one table
 * under old- and new-version clients: each time the same command run again finishes the
 * phase, and at the end the ledger holds every write.
 */
describe("kill -9 of underway at random points", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 0 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it(`finishes after every kill and keeps the ledger (seed ${SEED})`, { timeout: 480_000 }, async () => {
    const began = Date.now();
    const random = seeded(SEED);
    const url = await accountsDatabase(cluster.primary, "kills", ROWS);
    const migrator = new Migrator({ databaseUrl: url });
    const first = await widenScore("100");
    const app = await startWorkload(url, { oldVersion: "public_01_accounts", plan: await migrator.plan(first.file), rate: 40 });
    app.histograms.phase = "during";
    const args = (command: string[]) => [...command, "--database-url", url];
    const landings: Landing[] = [];
    let durations = { start: 0, complete: 0 };
    let current: AppVersion["label"] = "old";

    const record = async (name: string) =>
      (
        await queryOnce<{ phase: string; running: string | null; start_done: number; complete_done: number; rows: string | null }>(
          url,
          `SELECT m.phase, m.running, m.start_done, m.complete_done,
                  (SELECT sum(r.rows_done)::text FROM underway.backfill_ranges r JOIN underway.backfill_jobs j ON j.id = r.job_id WHERE j.migration = m.name) AS rows
             FROM underway.migrations m WHERE m.name = $1`,
          [name],
        )
      )[0];

    /**
     * Runs `command` and SIGKILLs it `point.delayMs` after its stderr first matches
     * `point.after` (or after it starts, without one), then says where the kill found the
     * migration. Without a point it runs to the end and its duration is kept.
     */
    const killed = async (round: number, command: "start" | "complete", argv: string[], name: string, point: KillPoint | null) => {
      const startedAt = Date.now();
      const run = underway(args(argv));
      let timer: NodeJS.Timeout | undefined;
      if (point) {
        const arm = () => (timer = setTimeout(() => run.kill(), point.delayMs));
        if (point.after) run.waitFor(point.after).then(arm, () => undefined);
        else arm();
      }
      const result = await run.exited;
      clearTimeout(timer);
      if (!point) {
        expect(result.code, result.stderr).toBe(0);
        durations = { ...durations, [command]: Date.now() - startedAt };
        return;
      }
      const state = await record(name);
      let where: string;
      if (result.signal !== "SIGKILL") where = `${command} finished`;
      else if (!state) where = "expand, before the record";
      else if (command === "start") where = state.phase === "backfilling" ? `backfill (${state.rows ?? 0} rows)` : state.phase === "ready" ? "start finished" : `expand step ${state.start_done}`;
      else where = state.phase === "completed" ? "complete finished" : state.running === "complete" ? `contract step ${state.complete_done}` : "verify";
      landings.push({ round, command, point: `${point.after?.source ?? "spawn"} +${point.delayMs}ms`, where });
    };

    /**
     * A seeded point: in start, as a random step begins or
     * somewhere in the backfill; in complete, after a random step's line or during verify.
     */
    const pick = (command: "start" | "complete", plan: MigrationPlan): KillPoint => {
      const steps = plan[command].length;
      const backfill = plan.start.findIndex((step) => step.kind === "backfill");
      const r = random();
      if (command === "start" && r < 0.5) {
        return { after: new RegExp(`start ${backfill + 1}/${steps}:`), delayMs: Math.round((0.1 + 0.8 * random()) * BACKFILL_MS) };
      }
      if (command === "complete" && r < 0.3) return { after: null, delayMs: Math.round(durations.complete * random()) };
      const step = 1 + Math.floor(random() * steps);
      // A step line is printed as the step begins, and most steps take milliseconds: kill at once.
      return { after: new RegExp(`${command} ${step}/${steps}:`), delayMs: Math.round(3 * random()) };
    };

    for (let round = 0; round <= ROUNDS; round++) {
      const { file } = round === 0 ? first : await widenScore(`1${String(round).padStart(2, "0")}`, round % 2 === 1);
      const plan = await migrator.plan(file);
      // Round 0 runs without a kill, to measure how long complete takes.
      const at = (command: "start" | "complete") => (round === 0 ? null : pick(command, plan));
      await killed(round, "start", ["start", file.path, "--max-rate", String(RATE), "--lease", "2s"], file.name, at("start"));
      const again = await underway(args(["start", file.path])).exited;
      expect(again.code, `start again after round ${round}'s kill:\n${again.stderr}`).toBe(0);

      // Roll the new version out, retire the old one, then contract.
      const next: AppVersion["label"] = current === "old" ? "new" : "old";
      await app.startNew(plan, 2, next);
      await app.workload.stop(current);
      current = next;
      await killed(round, "complete", ["complete"], file.name, at("complete"));
      const state = await record(file.name);
      if (state?.phase !== "completed") {
        const done = await underway(args(["complete"])).exited;
        expect(done.code, `complete again after round ${round}'s kill:\n${done.stderr}`).toBe(0);
      }
      const [row] = await queryOnce<{ type: string }>(
        url,
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'score'`,
      );
      expect(row!.type).toBe(round % 2 === 1 ? "integer" : "bigint");
    }
    await app.workload.stop();
    const audit = await app.audit();

    const kills = landings.filter((l) => !l.where.endsWith("finished"));
    const by = (prefix: string) => kills.filter((l) => l.where.startsWith(prefix)).length;
    const during = app.histograms.summary("during");
    printFigures("kill -9 at random points", {
      seed: SEED,
      kills: kills.length,
      expand: by("expand"),
      backfill: by("backfill"),
      verify: by("verify"),
      contract: by("contract"),
      startMs: durations.start,
      completeMs: durations.complete,
      failedQueries: app.workload.failedQueries,
      acknowledgedWrites: app.workload.acknowledgedWrites,
      lostWrites: audit.lost,
      p99Ms: during.p99Ms,
      maxMs: during.maxMs,
      seconds: (Date.now() - began) / 1000,
    });
    console.log(landings.map((l) => `  round ${l.round} ${l.command} killed at ${l.point}: ${l.where}`).join("\n"));
    expect(kills.length).toBeGreaterThanOrEqual(20);
    expect(by("expand") + by("backfill")).toBeGreaterThanOrEqual(5);
    expect(by("backfill")).toBeGreaterThanOrEqual(3);
    expect(by("verify") + by("contract")).toBeGreaterThanOrEqual(5);
    expect(audit.lost, JSON.stringify(audit.tables)).toBe(0);
    expect(app.workload.failedQueries, JSON.stringify(app.workload.firstErrors)).toBe(0);
  });
});
