/**
 * `underway rehearse FILE`: the advice "validate on a representative multi-node staging
 * cluster with injected failures" as one command. A throwaway primary and replicas on this
 * machine, a copy of the real schema with a sample of its rows (or the migration history
 * and generated rows), old- and new-version clients writing through a proxy that stands
 * for the primary's address, and the migration run by the real CLI while faults are
 * injected: the underway process killed, the primary failed over, a replica that stops
 * replaying, the network cut, a long transaction holding a lock. The report says what the
 * application saw and whether any write was lost.
 */
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { connect, redactUrl, serverMajorVersion, type Client } from "../db/connection.js";
import { createDatabase } from "../harness/local-server.js";
import { ident, qualified } from "../db/ident.js";
import { Migrator } from "../run/migrator.js";
import { migrationPhase } from "../state/read-model.js";
import { UnderwayError } from "../errors.js";
import { loadMigrationDir, loadMigrationFile, type MigrationFile } from "../format/load.js";
import { TOPOLOGY_FAULTS, allFaults, type Fault, type TopologyKind } from "./faults.js";
import { clusterBinDir, replicaLagBytes } from "../harness/cluster.js";
import { LatencyHistograms, type LatencySummary } from "../harness/latency.js";
import { auditTable, type TableAudit } from "../harness/ledger.js";
import { resolveMasking, SALT_VARIABLE, type MaskPlan } from "../mask/masking-plan.js";
import type { MaskPolicy } from "../mask/policy.js";
import { loadMaskFile, parseMaskPolicy } from "../mask/rules-file.js";
import { copySample, copySchema, generateRows, type SeedResult } from "./seed-data.js";
import { startTopology, type ClusterFault, type LeaderChangeRecord, type RehearsalTopology } from "./topology.js";
import { LedgerWorkload, type QueryError } from "./workload.js";
import { outcomeOf, runUnderway, stoppedByFault, type UnderwayRun } from "./underway-process.js";
import { chooseWorkloadTables, newVersionMapping, relationExists, tableView, type AppVersion } from "./workload-tables.js";

export { FAULTS, TOPOLOGIES, type Fault, type TopologyKind } from "./faults.js";

export interface RehearsalOptions {
  /** The migration file to rehearse. */
  file: string;
  /** Copy the schema and a sample of rows from here; without it, apply the history in the file's directory. */
  from?: string;
  schema?: string;
  stateSchema?: string;
  /** Fraction of each table's rows to copy (default 0.01); tables under 10,000 rows are copied whole. */
  sample?: number;
  /** Generated rows per table without `from` (default 20,000). */
  rows?: number;
  /** Faults to inject (default: every fault the topology can inject). */
  faults?: Fault[];
  /** Where to rehearse (default `simple`): see docs/rehearse.md. */
  topology?: TopologyKind;
  /** PgBouncer in transaction mode in front of the cluster (`patroni` only): the application and underway connect through it. */
  pooler?: "pgbouncer";
  /** How long the backfill should last, so the faults land inside it (default 15 s). */
  backfillSeconds?: number;
  /** Clients per version (default 2), each at `rate` statements per second (default 50). */
  clients?: number;
  rate?: number;
  /**
   * How the sample from `from` is masked (default `{}`: columns that look personal must be
   * given a rule, or the rehearsal refuses before copying anything); `false` copies every
   * value as it is, with a warning in the report. See docs/rehearse.md.
   */
  mask?: RehearsalMask | false;
  /**
   * Called with the throwaway database's superuser URL once the schema and the sample are
   * in it, before the workload starts: to look at what the copy holds.
   */
  onCopied?: (databaseUrl: string) => Promise<void> | void;
  /** Progress lines for people. */
  log?: (line: string) => void;
}

/** The masking of a rehearsal's sample: the rules of a file, given inline, or both (inline rules win per key). */
export interface RehearsalMask extends Omit<MaskPolicy, "source"> {
  /** A rules file (YAML or JSON; see `MaskPolicy`). */
  file?: string;
}

export interface FaultRecord {
  fault: Fault;
  injected: boolean;
  /** When, in seconds from the start of the migration. */
  atSeconds: number | null;
  detail: string;
  /** The longest the application went without an acknowledged write around the fault, in seconds (null: not measured). */
  noWritesSeconds?: number | null;
  /** Rows of the backfill done as the primary had them right after a fault in the backfill: where it went on from. */
  backfillRowsDone?: number;
}

export interface RehearsalReport {
  ok: boolean;
  migration: string;
  source: string;
  postgres: number;
  nodes: { primary: number; replicas: number };
  /** What the rehearsal ran on. */
  topology: { kind: TopologyKind; description: string; pooler: "pgbouncer" | null };
  /** Every leader change a fault caused, with how long it took and how long writes were refused. */
  leaderChanges: LeaderChangeRecord[];
  /**
   * The backfill over the faults: its rows, the rows done once the migration finished, and
   * whether it went on from the cursors the primary kept after each fault in it (false
   * when a fault left it with none and it began again; null when no fault hit it).
   */
  backfill: { rows: number; rowsDone: number; resumedFromCursors: boolean | null };
  tables: { table: string; rows: number }[];
  /** Columns of the sample that do not hold their original values, and how (empty without `from`, or with `mask: false`). */
  masked: { table: string; column: string; rule: string }[];
  faults: FaultRecord[];
  /** Each underway process the rehearsal ran, and how it ended. */
  runs: { command: string; outcome: string }[];
  finished: boolean;
  failedQueries: number;
  /** Failures an injected outage explains (connections lost while the primary was down or the network cut). */
  outageErrors: number;
  lostWrites: number;
  acknowledgedWrites: number;
  ledgerWrites: number;
  latency: { before: LatencySummary; during: LatencySummary; after: LatencySummary };
  maxReplicaLagBytes: number | null;
  longestLock: { ms: number; mode: string; relation: string } | null;
  durationSeconds: number;
  errors: QueryError[];
  audit: TableAudit[];
  warnings: string[];
  /** Why `ok` is false. */
  problems: string[];
}

const CLI = join(dirname(fileURLToPath(import.meta.url)), "../../bin/underway.js");
const OWNER = "rehearsal_owner";
const DATABASE = "rehearsal";
const LAG_LIMIT = "16MB";

/**
 * Runs a rehearsal and returns its report; throws only when it cannot run at all (no
 * PostgreSQL binaries, an unreadable source, an invalid migration file, masking rules
 * that do not fit the source or leave personal-looking columns without a rule).
 *
 * @example
 * const report = await rehearse({ file: "migrations/02_rename.yaml", from: process.env.DATABASE_URL, sample: 0.01, mask: { file: "masks.yaml" } });
 * if (!report.ok) process.exitCode = 1;
 */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalReport> {
  const began = Date.now();
  const log = options.log ?? (() => {});
  const schema = options.schema ?? "public";
  const stateSchema = options.stateSchema ?? "underway";
  const kind = options.topology ?? "simple";
  const faults = new Set(checkFaults(kind, options.faults, options.pooler));
  const file = await loadMigrationFile(options.file);
  const warnings: string[] = [];
  // The rules are checked against the source before any server starts: a refusal copies nothing.
  const mask = options.from && options.mask !== false ? await maskPlan(options.from, schema, options.mask ?? {}) : null;
  if (options.from && options.mask === false) {
    warnings.push("masking is off (--no-mask): the local copy holds the source's values as they are");
    log(`warning: ${warnings[0]}`);
  }
  if (mask?.saltFrom === "random") warnings.push(`masking salt: random for this run (set ${SALT_VARIABLE} or salt: in the rules file for hashes that repeat across runs)`);
  const version = options.from ? await sourceMajor(options.from) : 15;
  const binDir = clusterBinDir(version);
  if (!binDir) {
    throw new UnderwayError(
      "INVALID_STATE",
      `underway rehearse needs the system PostgreSQL ${version} (initdb, postgres, pg_basebackup, pg_dump under /usr/lib/postgresql/${version}/bin): apt-get install postgresql-${version}`,
    );
  }
  // The history is read before any server starts: a bad file beside FILE is refused at once.
  const history = options.from ? [] : (await loadMigrationDir(dirname(file.path))).filter((f) => f.name < file.name);
  const replicas = faults.has("lag") && (faults.has("failover") || faults.has("complete-failover")) ? 2 : 1;
  log(kind === "patroni" ? `starting 2 PostgreSQL ${version} nodes under Patroni with etcd, HAProxy${options.pooler ? " and PgBouncer" : ""}` : `starting a PostgreSQL ${version} primary and ${replicas} replica(s)`);
  const topology = await startTopology({ kind, version, pooler: options.pooler, replicas, users: [OWNER, "postgres"], lagSeconds: 5, quorumLossSeconds: 8 });
  try {
    const ownerUrl = await createDatabase(topology.server, { name: DATABASE, owner: OWNER });
    const adminUrl = withDatabase(topology.server.url, DATABASE);
    await withClient(topology.server.url, (c) => c.query(`GRANT pg_monitor TO ${ident(OWNER)}`));

    let seed: SeedResult;
    if (options.from) {
      log(`copying the schema of ${redactUrl(options.from)} and a ${((options.sample ?? 0.01) * 100).toFixed(2)}% sample of its rows`);
      warnings.push(...(await copySchema(binDir, options.from, ownerUrl)));
      if (mask) log(`masking ${mask.masked.length} column(s) as the source reads them: ${mask.masked.map((m) => `${m.table}.${m.column} ${m.rule}`).join(", ") || "none"}`);
      seed = await copySample(options.from, adminUrl, schema, options.sample ?? 0.01, stateSchema, { mask });
    } else {
      log(`applying ${history.length} earlier migration(s) from ${dirname(file.path)} and generating rows`);
      const migrator = new Migrator({ databaseUrl: ownerUrl, schema, stateSchema, actor: { source: "rehearse" } });
      for (const earlier of history) await migrator.start(earlier, { complete: true });
      seed = await generateRows(adminUrl, schema, options.rows ?? 20_000);
    }
    warnings.push(...seed.warnings);
    await options.onCopied?.(adminUrl);

    const url = topology.appUrl(ownerUrl);
    const masked = mask?.masked ?? [];
    return await runRehearsal({ began, log, schema, stateSchema, faults, file, topology, url, ownerUrl, seed, masked, warnings, options, source: options.from ? redactUrl(options.from) : "migration history", version });
  } finally {
    await topology.stop();
  }
}

/**
 * The faults asked for, checked against the topology (exit 2 for one it cannot inject);
 * none given: every fault it can. The simple topology fails over once, so it takes
 * `failover` or `complete-failover`, not both.
 */
export function checkFaults(kind: TopologyKind, faults: Fault[] | undefined, pooler?: string): Fault[] {
  if (pooler !== undefined && kind !== "patroni") throw new UnderwayError("INVALID_ARGUMENT", `--pooler ${pooler} runs with --topology patroni`);
  const possible = TOPOLOGY_FAULTS[kind];
  if (faults === undefined) return allFaults(kind);
  const impossible = faults.filter((f) => !possible.includes(f));
  if (impossible.length > 0) {
    throw new UnderwayError("INVALID_ARGUMENT", `the ${kind} topology cannot inject ${impossible.join(", ")}: use --topology patroni, or choose from ${possible.join(", ")}`);
  }
  if (kind === "simple" && faults.includes("failover") && faults.includes("complete-failover")) {
    throw new UnderwayError("INVALID_ARGUMENT", "the simple topology fails over once: choose failover or complete-failover, or use --topology patroni");
  }
  return faults;
}

interface RunContext {
  began: number;
  log: (line: string) => void;
  schema: string;
  stateSchema: string;
  faults: Set<Fault>;
  file: MigrationFile;
  topology: RehearsalTopology;
  /** What underway and the application use: through the relay (and the pooler). */
  url: string;
  /** The owner's URL on the first primary (see `direct()` for the current one). */
  ownerUrl: string;
  seed: SeedResult;
  masked: RehearsalReport["masked"];
  warnings: string[];
  options: RehearsalOptions;
  source: string;
  version: number;
}

async function runRehearsal(ctx: RunContext): Promise<RehearsalReport> {
  const { log, schema, stateSchema, file, topology, url, faults } = ctx;
  // The current primary's own address (the relay's target changes on a simple failover).
  const direct = () => topology.onPrimary(ctx.ownerUrl);
  const migrator = new Migrator({ databaseUrl: url, schema, stateSchema, actor: { source: "rehearse" } });
  const plan = await migrator.plan(file);
  const histograms = new LatencyHistograms();

  // The old version: the newest completed migration's version schema, or the base schema.
  const old = await withClient(url, async (c) => {
    const latest = await migrator.latest().catch(() => null);
    const versionSchema = latest?.phase === "completed" ? latest.versionSchema : null;
    const { rows } = await c.query<{ ok: boolean }>("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS ok", [versionSchema ?? ""]);
    return rows[0]!.ok ? versionSchema : null;
  });
  const { tables, skipped } = await withClient(url, (c) => chooseWorkloadTables(c, schema, plan));
  for (const s of skipped) ctx.warnings.push(`workload leaves ${s.table} alone: ${s.reason}`);
  if (tables.length === 0) ctx.warnings.push("no table the workload can audit: lost writes cannot be measured");
  const workload = new LedgerWorkload({ url, tables, histograms, ratePerClient: ctx.options.rate ?? 50, workingSet: 500 });
  await withClient(ctx.ownerUrl, (c) => workload.prepare(c));
  const clients = ctx.options.clients ?? 2;
  const oldVersion: AppVersion = { label: "old", versionSchema: old };
  await workload.startVersion(oldVersion, schema, clients);
  log(`workload: ${clients} old-version client(s) on ${tables.map((t) => t.table).join(", ") || "nothing"}; baseline for 3s`);
  await sleep(3000);

  // Rows to backfill, for a rate that makes the backfill last long enough to hold the faults.
  const backfillRows = await withClient(url, async (c) => {
    let n = 0;
    for (const table of plan.backfillTables) {
      const { rows } = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualified(schema, table)}`).catch(() => ({ rows: [{ n: "0" }] }));
      n += Number(rows[0]!.n);
    }
    return n;
  });
  const maxRate = Math.max(50, Math.round(backfillRows / (ctx.options.backfillSeconds ?? 15)));
  const records: FaultRecord[] = [...faults].map((fault) => ({ fault, injected: false, atSeconds: null, detail: "not injected: the migration finished first" }));
  const record = (fault: Fault, detail: string, extra: Partial<FaultRecord> = {}) => {
    const r = records.find((x) => x.fault === fault)!;
    Object.assign(r, { injected: true, atSeconds: Math.round((Date.now() - startedAt) / 100) / 10, detail, ...extra });
    log(`fault ${fault}: ${detail}`);
  };

  histograms.phase = "during";
  const startedAt = Date.now();
  const sampler = startSampler(() => direct(), () => topology.hasReplicas());
  const runs: { command: string; outcome: string }[] = [];
  const lagArgs = faults.has("lag") ? ["--max-lag", LAG_LIMIT] : [];
  const startArgs = ["start", file.path, "--database-url", url, "--schema", schema, "--state-schema", stateSchema, "--lease", "2s", "--max-rate", String(maxRate), ...lagArgs];

  // blocker: a long transaction already holds a lock on the table when start begins.
  let releaseBlocker: (() => Promise<void>) | undefined;
  const lockTable = plan.backfillTables[0] ?? tables[0]?.table;
  if (faults.has("blocker") && lockTable) {
    releaseBlocker = await holdLock(url, qualified(schema, lockTable));
    record("blocker", `a transaction holds ACCESS SHARE on ${lockTable} for 4s as start begins`);
    setTimeout(() => void releaseBlocker?.(), 4000);
  }

  let finished = false;
  let running: UnderwayRun | undefined;
  const progress = async (): Promise<number> =>
    withClient(direct(), async (c) => {
      const { rows } = await c.query<{ n: string | null }>(
        `SELECT sum(r.rows_done)::text AS n FROM ${qualified(stateSchema, "backfill_ranges")} r JOIN ${qualified(stateSchema, "backfill_jobs")} j ON j.id = r.job_id WHERE j.migration = $1`,
        [file.name],
      );
      return Number(rows[0]?.n ?? 0);
    }).catch(() => 0);
  const leaderChanges: LeaderChangeRecord[] = [];
  /**
   * Runs a fault as an outage of the application's: its lost connections are the outage's,
   * and the longest it went without an acknowledged write around it is measured (seconds,
   * null when writes did not come back in time).
   */
  const asOutage = async <T>(run: () => Promise<T>): Promise<{ value: T; noWritesSeconds: number | null }> => {
    const end = workload.beginOutage();
    const writes = workload.watchWrites();
    let value: T;
    try {
      value = await run();
    } finally {
      end();
    }
    const noWritesMs = await writes.end();
    return { value, noWritesSeconds: noWritesMs === null ? null : Math.round(noWritesMs / 100) / 10 };
  };
  /** A fault of the cluster's own; all but `lag` are outages for the application. */
  const clusterFault = async (fault: ClusterFault, during: "backfill" | "complete") => {
    const { value: result, noWritesSeconds } = fault === "lag" ? { value: await topology.inject(fault), noWritesSeconds: undefined } : await asOutage(() => topology.inject(fault));
    if (result.injected === false) {
      records.find((x) => x.fault === fault)!.detail = result.detail;
      log(`fault ${fault}: ${result.detail}`);
      return;
    }
    if (result.change) leaderChanges.push(result.change);
    const extra: Partial<FaultRecord> = fault === "lag" ? {} : { noWritesSeconds };
    if (during === "backfill" && fault !== "lag") extra.backfillRowsDone = await progress();
    record(fault, `${result.detail}${fault === "lag" ? ` (backfill --max-lag ${LAG_LIMIT})` : ""}`, extra);
  };
  const backfillFaults: { fault: Fault; inject: () => Promise<void> }[] = [
    { fault: "lag", inject: () => clusterFault("lag", "backfill") },
    {
      fault: "kill",
      inject: async () => {
        running?.kill();
        record("kill", "kill -9 of the underway process in the backfill; it is run again", { backfillRowsDone: await progress() });
      },
    },
    {
      fault: "partition",
      inject: async () => {
        const { noWritesSeconds } = await asOutage(async () => {
          topology.cut();
          await sleep(3000);
          topology.heal();
        });
        record("partition", "every connection to the cluster reset and new ones refused for 3s", { noWritesSeconds, backfillRowsDone: await progress() });
      },
    },
    { fault: "switchover", inject: () => clusterFault("switchover", "backfill") },
    { fault: "postmaster", inject: () => clusterFault("postmaster", "backfill") },
    { fault: "patroni", inject: () => clusterFault("patroni", "backfill") },
    { fault: "etcd", inject: () => clusterFault("etcd", "backfill") },
    { fault: "failover", inject: () => clusterFault("failover", "backfill") },
  ];
  // Spread over the backfill in this order, by its progress: each fault waits for the one before.
  const chosen = backfillFaults.filter((s) => faults.has(s.fault));
  const schedule = chosen.map((s, i) => ({ ...s, at: chosen.length === 1 ? 0.5 : 0.1 + (0.7 * i) / (chosen.length - 1) }));

  // start, re-run whenever it stops (killed, or a lost connection), while faults fire on backfill progress.
  let injecting: Promise<void> = Promise.resolve();
  const watcher = setInterval(() => {
    void (async () => {
      if (schedule.length === 0 || backfillRows === 0) return;
      const fraction = (await progress()) / backfillRows;
      const due = schedule[0]!;
      if (fraction >= due.at) {
        schedule.shift();
        injecting = injecting.then(() =>
          due.inject().catch((error: unknown) => {
            ctx.warnings.push(`injecting ${due.fault}: ${String(error)}`);
          }),
        );
      }
    })();
  }, 200);
  try {
    for (let attempt = 0; attempt < 8 && !finished; attempt++) {
      running = runUnderway(CLI, startArgs);
      const result = await running.exited;
      runs.push({ command: "start", outcome: outcomeOf(result) });
      await injecting;
      finished = result.code === 0;
      // Re-run what a fault stopped (a kill, a lost connection); a failure of the migration itself is the finding.
      if (!finished && result.signal === null && !stoppedByFault(result)) break;
      if (!finished) await sleep(1000);
    }
  } finally {
    clearInterval(watcher);
    await injecting;
    await releaseBlocker?.();
  }

  let version: AppVersion | undefined;
  if (finished) {
    const next = newVersionMapping(plan);
    if (next) {
      version = { label: "new", versionSchema: next.versionSchema, mapping: next.mapping };
      await workload.startVersion(version, schema, clients);
      log(`workload: ${clients} new-version client(s) started; old ones retire before complete`);
      await sleep(2000);
    }
    await workload.stop("old");
    finished = false;
    // The kill lands in the first run of complete, the failover in the next.
    const failoverAttempt = faults.has("complete-failover") ? (faults.has("kill") ? 1 : 0) : -1;
    for (let attempt = 0; attempt < 4 && !finished; attempt++) {
      const killHere = faults.has("kill") && attempt === 0;
      // complete-failover: a report's transaction holds ACCESS SHARE, so complete waits inside a contract step; the leader fails then.
      const blocker = attempt === failoverAttempt && lockTable ? await holdLock(url, qualified(schema, lockTable)) : undefined;
      running = runUnderway(CLI, ["complete", "--database-url", url, "--schema", schema, "--state-schema", stateSchema]);
      if (killHere) void running.waitFor((e) => (e.event === "step" || e.event === "step-skipped") && e.action === "complete" && e.index === 1).then(() => {
        running?.kill();
        log("fault kill: kill -9 of underway complete at its second step; it is run again");
      }, () => undefined);
      let failing: Promise<void> = Promise.resolve();
      if (blocker) {
        failing = running.waitFor((e) => e.event === "retry").then(
          async () => {
            // A lock is retried within the step begun last.
            const step = running!.lastStep("complete");
            const at = step?.index !== undefined ? `${step.index + 1}/${step.total}` : undefined;
            await clusterFault("complete-failover", "complete");
            const r = records.find((x) => x.fault === "complete-failover")!;
            r.detail = `in complete${at ? ` step ${at}` : ""}, waiting for its lock: ${r.detail}`;
          },
          () => undefined,
        ).catch((error: unknown) => {
          ctx.warnings.push(`injecting complete-failover: ${String(error)}`);
        }).finally(() => blocker());
      }
      const result = await running.exited;
      await failing;
      runs.push({ command: "complete", outcome: outcomeOf(result) });
      const phase = () => withClient(url, (c) => migrationPhase(c, { stateSchema, schema }, file.name)).catch(() => undefined);
      let reached = await phase();
      // A failover that lost commits can leave start unfinished on the new primary, which complete refuses: resume finishes it.
      if (result.code !== 0 && (reached === "started" || reached === "backfilling")) {
        const resumed = await runUnderway(CLI, ["resume", "--database-url", url, "--schema", schema, "--state-schema", stateSchema]).exited;
        runs.push({ command: "resume", outcome: outcomeOf(resumed) });
        reached = await phase();
      }
      finished = reached === "completed";
    }
  }
  histograms.phase = "after";
  await sleep(2000);
  await workload.stop();
  const sampled = await sampler.stop();

  const audit = await withClient(url, async (c) => {
    const audits: TableAudit[] = [];
    for (const t of tables) {
      const view = tableView(t, finished && version ? version : oldVersion);
      if (view && (await relationExists(c, view.relation))) audits.push(await auditTable(c, view));
    }
    return audits;
  });
  const lostWrites = audit.reduce((n, a) => n + a.lost, 0);
  const problems: string[] = [];
  for (const change of leaderChanges) {
    if ((change.maxPrimaries ?? 0) > 1) problems.push(`${change.maxPrimaries} nodes took writes at once during the ${change.fault} fault`);
  }
  if (!finished) problems.push(`the migration did not finish (${runs.map((r) => `${r.command}: ${r.outcome}`).join("; ")})`);
  if (lostWrites > 0) problems.push(`${lostWrites} row(s) lost writes the ledger recorded`);
  if (workload.failedQueries > 0) problems.push(`${workload.failedQueries} application queries failed outside the injected outages`);
  return {
    ok: problems.length === 0,
    migration: file.name,
    source: ctx.source,
    postgres: ctx.version,
    nodes: topology.nodes,
    topology: { kind: topology.kind, description: topology.description, pooler: ctx.options.pooler ?? null },
    leaderChanges,
    backfill: { rows: backfillRows, rowsDone: await progress(), resumedFromCursors: resumed(records) },
    tables: ctx.seed.tables,
    masked: ctx.masked,
    faults: records,
    runs,
    finished,
    failedQueries: workload.failedQueries,
    outageErrors: workload.outageErrors,
    lostWrites,
    acknowledgedWrites: workload.acknowledgedWrites,
    ledgerWrites: audit.reduce((n, a) => n + a.writes, 0),
    latency: { before: histograms.summary("before"), during: histograms.summary("during"), after: histograms.summary("after") },
    maxReplicaLagBytes: sampled.maxLagBytes,
    longestLock: sampled.longestLock,
    durationSeconds: Math.round((Date.now() - ctx.began) / 100) / 10,
    errors: workload.firstErrors,
    audit,
    warnings: ctx.warnings,
    problems,
  };
}

/** Whether the backfill went on from saved cursors after each fault in it that changed the primary or cut it off. */
function resumed(records: FaultRecord[]): boolean | null {
  const hit = records.filter((r) => r.injected && r.backfillRowsDone !== undefined);
  return hit.length === 0 ? null : hit.every((r) => r.backfillRowsDone! > 0);
}

/**
 * Samples the primary every 100 ms: the largest replica replay lag, and how long an
 * underway session held a lock that blocks the application's writes (SHARE or stronger)
 * on a table, the longest such stretch seen.
 */
function startSampler(url: () => string, hasReplicas: () => boolean) {
  let stopped = false;
  let maxLagBytes: number | null = null;
  const held = new Map<string, { since: number; mode: string; relation: string }>();
  let longestLock: { ms: number; mode: string; relation: string } | null = null;
  const loop = (async () => {
    let client: Client | undefined;
    while (!stopped) {
      try {
        client ??= await connect(url(), { applicationName: "underway rehearse (sampler)" });
        if (hasReplicas()) {
          const lag = await replicaLagBytes({ url: url() }).catch(() => null);
          if (lag !== null) maxLagBytes = Math.max(maxLagBytes ?? 0, lag);
        }
        const { rows } = await client.query<{ key: string; mode: string; relation: string }>(
          `SELECT l.pid || '/' || l.relation || '/' || l.mode AS key, l.mode, l.relation::regclass::text AS relation
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.granted AND l.locktype = 'relation' AND a.application_name LIKE 'underway%' AND a.application_name NOT LIKE 'underway rehearse%'
              AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
              AND l.relation IN (SELECT oid FROM pg_class WHERE relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema')))`,
        );
        const now = Date.now();
        const seen = new Set(rows.map((r) => r.key));
        for (const r of rows) if (!held.has(r.key)) held.set(r.key, { since: now, mode: r.mode, relation: r.relation });
        for (const [key, h] of held) {
          const ms = now - h.since;
          if (!longestLock || ms > longestLock.ms) longestLock = { ms, mode: h.mode, relation: h.relation };
          if (!seen.has(key)) held.delete(key);
        }
      } catch {
        await client?.end().catch(() => undefined);
        client = undefined;
      }
      await sleep(100);
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { maxLagBytes, longestLock };
    },
  };
}

/** Opens a transaction that reads the table (ACCESS SHARE) and keeps it open until the returned function is called. */
async function holdLock(url: string, relation: string): Promise<() => Promise<void>> {
  const client = await connect(url, { applicationName: "long report (rehearse blocker)" });
  await client.query("BEGIN");
  await client.query(`SELECT count(*) FROM ${relation}`);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await client.query("COMMIT").catch(() => undefined);
    await client.end().catch(() => undefined);
  };
}

/** The rules of a file and inline, checked against the source's catalog. */
async function maskPlan(from: string, schema: string, mask: RehearsalMask): Promise<MaskPlan> {
  const { file, ...inline } = mask;
  const { source = "rehearse({ mask })", ...fromFile }: MaskPolicy = file ? await loadMaskFile(file) : {};
  const tables: MaskPolicy["tables"] = { ...fromFile.tables };
  for (const [table, rules] of Object.entries(inline.tables ?? {})) tables[table] = { ...tables[table], ...rules };
  const given = Object.fromEntries(Object.entries(inline).filter(([, value]) => value !== undefined));
  const policy = parseMaskPolicy({ ...fromFile, ...given, tables }, source);
  return withClient(from, (c) => resolveMasking(c, schema, policy));
}

async function sourceMajor(url: string): Promise<number> {
  return withClient(url, (c) => serverMajorVersion(c));
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(url, { applicationName: "underway rehearse" });
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
