/**
 * Where a backfill's time goes (`npm run bench:backfill -- --breakdown`): the same rows
 * rewritten in several ways, each on its own slice of one table, so the cost of the
 * dual-write trigger, of the batch statement's shape and of JIT can be told apart from
 * the single UPDATE of figure 1.
 */
import { performance } from "node:perf_hooks";
import type { Client } from "../../src/db/connection.js";
import { ident } from "../../src/db/ident.js";
import { choosePaging, keyBatchSql } from "../../src/backfill/paging.js";
import { dualWriteTriggerNames } from "../../src/plan/dual-write.js";
import { Migrator } from "../../src/run/migrator.js";
import { bigintMigration, type BenchContext } from "./bench-context.js";
import { foreignShare, ownCpuSeconds, sampleCpu } from "./cpu-usage.js";
import { checkpoint, walPosition } from "./tables.js";

export interface BreakdownCase {
  label: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** CPU of this process, its server and their children, per row. */
  cpuMicrosPerRow: number | null;
  walBytesPerRow: number;
  /** Share of the machine's CPU other processes used meanwhile. */
  foreign: number | null;
}

export interface BreakdownContext {
  db: Client;
  admin: Client;
  postmasterPid: number | undefined;
  /** The table, with its migration started and the backfill deferred (trigger installed). */
  table: string;
  /** The physical column the migration added, which `up` fills. */
  newColumn: string;
  /** Rows in the table; each case takes the next slice of `rows / 7` keys. */
  rows: number;
  batchRows: number;
  log: (message: string) => void;
}

/**
 * `--breakdown`: the migration of figures 2 and 3 started on pgbench_accounts with the
 * backfill deferred, then its rows rewritten slice by slice in the ways `backfillBreakdown` lists.
 */
export async function runBreakdown(ctx: BenchContext): Promise<BreakdownCase[]> {
  const file = await bigintMigration(ctx.dir, "01_breakdown_bigint", "pgbench_accounts");
  await new Migrator({ databaseUrl: ctx.url }).start(file, { backfill: false });
  const { rows } = await ctx.db.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = 'pgbench_accounts'::regclass AND attnum > 0 AND NOT attisdropped
        AND attname NOT IN ('aid', 'bid', 'abalance', 'filler')`,
  );
  const newColumn = rows[0]?.name;
  if (newColumn === undefined) throw new Error("the migration added no column to pgbench_accounts");
  ctx.log(`breakdown: ${Math.floor(ctx.rows / 7).toLocaleString("en-US")} rows per case, new column ${newColumn}`);
  return backfillBreakdown({
    db: ctx.db,
    admin: ctx.admin,
    postmasterPid: ctx.postmasterPid,
    table: "pgbench_accounts",
    newColumn,
    rows: ctx.rows,
    batchRows: 20_000,
    log: ctx.log,
  });
}

/** Runs the seven cases; the table's integer key must run from 1 to `rows` (pgbench's does). */
export async function backfillBreakdown(ctx: BreakdownContext): Promise<BreakdownCase[]> {
  const { db, table } = ctx;
  const ref = ident(table);
  const paging = await choosePaging(db, "public", table);
  if (paging.kind !== "key" || paging.columns.length !== 1) throw new Error(`${table} needs a one-column key for the breakdown`);
  const key = ident(paging.columns[0]!.name);
  const touch = ident(paging.touch);
  const batchSql = keyBatchSql("public", table, paging.columns, paging.touch, true);
  const slice = Math.floor(ctx.rows / 7 / 1000) * 1000;
  const trigger = (enabled: boolean) => db.query(`ALTER TABLE ${ref} ${enabled ? "ENABLE" : "DISABLE"} TRIGGER ${ident(dualWriteTriggerNames([], false).late)}`);
  // The backfill's own session: the trigger computes every new column from the old ones.
  await db.query("SELECT set_config('underway.backfill', 'on', false)");

  const inBatches = async (from: number, to: number, statement: (lo: number, hi: number) => Promise<number>) => {
    let rows = 0;
    for (let lo = from; lo < to; lo += ctx.batchRows) {
      await db.query("BEGIN");
      rows += await statement(lo, Math.min(to, lo + ctx.batchRows));
      await db.query("COMMIT");
    }
    return rows;
  };
  const rangeUpdate = (set: string) => async (lo: number, hi: number) =>
    (await db.query(`UPDATE ${ref} SET ${set} WHERE ${key} > $1 AND ${key} <= $2`, [lo, hi])).rowCount ?? 0;
  const batchStatement = async (from: number, to: number) => {
    // The job's own statement, driven by its cursor as the worker drives it.
    let cursor = String(from);
    let rows = 0;
    for (;;) {
      await db.query("BEGIN");
      const { rows: result } = await db.query<{ selected: number; last: string[] | null }>(batchSql.bound, [String(to), cursor, ctx.batchRows]);
      const row = result[0]!;
      if (row.last !== null) rows += (await db.query(batchSql.update, [row.last[0]!, cursor])).rowCount ?? 0;
      await db.query("COMMIT");
      if (Number(row.selected) < ctx.batchRows || row.last === null) return rows;
      cursor = row.last[0]!;
    }
  };

  const cases: { label: string; trigger: boolean; jit: boolean; run: (from: number, to: number) => Promise<number> }[] = [
    {
      label: "one UPDATE setting the new column, no trigger (figure 1's baseline)",
      trigger: false,
      jit: true,
      run: async (from, to) => rangeUpdate(`${ident(ctx.newColumn)} = abalance::bigint`)(from, to),
    },
    { label: "one UPDATE rewriting the rows through the trigger", trigger: true, jit: true, run: async (from, to) => rangeUpdate(`${touch} = ${touch}`)(from, to) },
    { label: `the job's batch statement, ${ctx.batchRows}-row batches, no trigger`, trigger: false, jit: true, run: batchStatement },
    { label: `the job's batch statement through the trigger (what the job does)`, trigger: true, jit: true, run: batchStatement },
    { label: "the same with jit = off", trigger: true, jit: false, run: batchStatement },
    {
      label: "key-range UPDATE batches through the trigger, jit = off",
      trigger: true,
      jit: false,
      run: (from, to) => inBatches(from, to, rangeUpdate(`${touch} = ${touch}`)),
    },
    {
      label: "key-range UPDATE batches setting the new column, no trigger, jit = off",
      trigger: false,
      jit: false,
      run: (from, to) => inBatches(from, to, rangeUpdate(`${ident(ctx.newColumn)} = abalance::bigint`)),
    },
  ];

  const results: BreakdownCase[] = [];
  let from = 0;
  try {
    for (const c of cases) {
      await trigger(c.trigger);
      await db.query(`SET jit = ${c.jit ? "on" : "off"}`);
      await checkpoint(ctx.admin);
      const wal = await walPosition(ctx.admin);
      const cpu = sampleCpu(ctx.postmasterPid);
      const started = performance.now();
      const rows = await c.run(from, from + slice);
      const seconds = (performance.now() - started) / 1000;
      const after = sampleCpu(ctx.postmasterPid);
      const own = ownCpuSeconds(cpu, after);
      const result: BreakdownCase = {
        label: c.label,
        rows,
        seconds,
        rowsPerSecond: rows / seconds,
        cpuMicrosPerRow: own === null ? null : (own * 1e6) / rows,
        walBytesPerRow: Number((await walPosition(ctx.admin)) - wal) / rows,
        foreign: foreignShare(cpu, after),
      };
      ctx.log(`  ${c.label}: ${Math.round(result.rowsPerSecond).toLocaleString("en-US")} rows/s`);
      results.push(result);
      from += slice;
    }
  } finally {
    await trigger(true);
    await db.query("RESET jit");
    await db.query("RESET underway.backfill");
  }
  return results;
}

export function formatBreakdown(cases: BreakdownCase[]): string {
  const lines = ["case | rows/s | CPU us/row | WAL B/row | other processes' CPU"];
  for (const c of cases) {
    const cpu = c.cpuMicrosPerRow === null ? "n/a" : c.cpuMicrosPerRow.toFixed(2);
    const foreign = c.foreign === null ? "n/a" : `${(c.foreign * 100).toFixed(0)}%`;
    lines.push(`${c.label} | ${Math.round(c.rowsPerSecond).toLocaleString("en-US")} | ${cpu} | ${c.walBytesPerRow.toFixed(0)} | ${foreign}`);
  }
  return lines.join("\n");
}
