import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { connect } from "../../src/db/connection.js";
import { registerRehearseCommand } from "../../src/cli/rehearse-command.js";
import { rehearse } from "../../src/rehearse/rehearsal.js";
import { formatReport } from "../../src/rehearse/report.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { printFigures } from "../support/fault-workload.js";

/**
 * `underway rehearse` on a schema made up here (a shop: customers and their orders, with
 * a foreign key, a unique email, an enum and a trigger-free history), copied from a source
 * database with a sample of its rows; the migration renames a column and turns amounts
 * into cents, which needs a backfill. Every fault is injected.
 */
describe("underway rehearse", () => {
  let source: FreshDatabase;
  let dir: string;

  beforeAll(async () => {
    source = await freshDatabase("shop");
    const client = await connect(source.url);
    await client.query(`CREATE TYPE order_state AS ENUM ('new', 'paid', 'shipped')`);
    await client.query(`CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL, credits integer NOT NULL DEFAULT 0)`);
    await client.query(
      `CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers, amount numeric(10,2) NOT NULL,
                            state order_state NOT NULL DEFAULT 'new', note text, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    await client.query(`CREATE INDEX orders_customer ON orders (customer_id)`);
    await client.query(`INSERT INTO customers (email, name, credits) SELECT 'c' || g || '@example.com', 'customer ' || g, g % 50 FROM generate_series(1, 20000) g`);
    await client.query(
      `INSERT INTO orders (customer_id, amount, state, note) SELECT 1 + g % 20000, (g % 10000) / 100.0, (ARRAY['new','paid','shipped']::order_state[])[1 + g % 3], 'n' || g FROM generate_series(1, 80000) g`,
    );
    await client.end();
    dir = await mkdtemp(join(tmpdir(), "underway-rehearse-"));
  });

  afterAll(async () => {
    await source?.drop();
  });

  it("runs the migration under load with every fault, loses nothing and says so", { timeout: 300_000 }, async () => {
    const file = join(dir, "02_amount_cents.yaml");
    await writeFile(
      file,
      YAML.stringify({
        operations: [
          { alter_column: { table: "orders", column: "amount", type: "bigint", up: "(amount * 100)::bigint", down: "(amount / 100.0)::numeric(10,2)" } },
          { rename_column: { table: "orders", from: "note", to: "remark" } },
        ],
      }),
    );
    const lines: string[] = [];
    // The customers' email and name look personal: the sample hashes them (docs/rehearse.md, masking).
    const report = await rehearse({ file, from: source.url, sample: 0.4, backfillSeconds: 10, mask: { flagged: "hash" }, log: (line) => lines.push(line) });
    console.log(formatReport(report));
    printFigures("rehearse", {
      ok: String(report.ok),
      failedQueries: report.failedQueries,
      outageErrors: report.outageErrors,
      lostWrites: report.lostWrites,
      p50BeforeMs: report.latency.before.p50Ms,
      p99BeforeMs: report.latency.before.p99Ms,
      p99DuringMs: report.latency.during.p99Ms,
      maxLagMB: (report.maxReplicaLagBytes ?? 0) / 1024 / 1024,
      longestLockMs: report.longestLock?.ms ?? 0,
      seconds: report.durationSeconds,
    });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.finished).toBe(true);
    expect(report.faults.map((f) => [f.fault, f.injected])).toEqual([
      ["kill", true],
      ["failover", true],
      ["lag", true],
      ["partition", true],
      ["blocker", true],
    ]);
    expect(report.lostWrites).toBe(0);
    expect(report.ledgerWrites).toBeGreaterThan(100);
    const orders = report.tables.find((t) => t.table === "orders")!;
    expect(orders.rows).toBeGreaterThan(20_000);
    expect(orders.rows).toBeLessThan(45_000);
    expect(report.tables.find((t) => t.table === "customers")!.rows).toBeGreaterThan(5000);
    expect(report.audit.map((a) => a.table).sort()).toEqual(["customers", "orders"]);
    expect(report.masked).toEqual([
      { table: "customers", column: "email", rule: "hash" },
      { table: "customers", column: "name", rule: "hash" },
    ]);
  });

  it("builds the schema from the migration history and generated rows without --from", { timeout: 200_000 }, async () => {
    const history = await mkdtemp(join(tmpdir(), "underway-rehearse-history-"));
    await writeFile(
      join(history, "01_items.yaml"),
      YAML.stringify({
        operations: [
          { create_table: { name: "shelves", columns: [{ name: "id", type: "serial", pk: true }, { name: "label", type: "text" }] } },
          {
            create_table: {
              name: "items",
              columns: [
                { name: "id", type: "bigserial", pk: true },
                { name: "shelf_id", type: "integer", references: { name: "items_shelf_fk", table: "shelves", column: "id" } },
                { name: "qty", type: "integer" },
                { name: "label", type: "text" },
              ],
            },
          },
        ],
      }),
    );
    const file = join(history, "02_qty_bigint.yaml");
    await writeFile(file, YAML.stringify({ operations: [{ alter_column: { table: "items", column: "qty", type: "bigint", up: "qty::bigint", down: "qty::integer" } }] }));
    const report = await rehearse({ file, rows: 5000, faults: ["kill", "blocker"], backfillSeconds: 4 });
    console.log(formatReport(report));
    expect(report.problems).toEqual([]);
    expect(report.source).toBe("migration history");
    // Parents first: shelves are filled before the items that point at them.
    expect(report.tables).toEqual([
      { table: "shelves", rows: 5000 },
      { table: "items", rows: 5000 },
    ]);
    expect(report.faults.every((f) => f.injected)).toBe(true);
    expect(report.audit.map((a) => a.table).sort()).toEqual(["items", "shelves"]);
  });

  it("reports a failure with exit code 1 and --json, and refuses bad flags with exit code 2", { timeout: 200_000 }, async () => {
    // A migration whose backfill fails on the copied rows: the rehearsal must say FAILED.
    const file = join(dir, "03_bad_cents.yaml");
    await writeFile(
      file,
      YAML.stringify({ operations: [{ alter_column: { table: "orders", column: "amount", type: "smallint", up: "(amount * 1000)::smallint", down: "amount::numeric(10,2)" } }] }),
    );
    const program = new Command("underway").exitOverride();
    registerRehearseCommand(program);
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => out.push(chunk) > 0) as typeof process.stdout.write;
    const previous = process.exitCode;
    try {
      await program.parseAsync(["node", "underway", "rehearse", file, "--from", source.url, "--mask-flagged", "hash", "--sample", "5%", "--faults", "kill", "--backfill-time", "3s", "--json"]);
    } finally {
      process.stdout.write = write;
    }
    const exitCode = process.exitCode;
    process.exitCode = previous;
    const report = JSON.parse(out.join(""));
    expect(exitCode).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.finished).toBe(false);
    expect(report.problems[0]).toMatch(/did not finish/);
    expect(report.runs.at(-1).outcome).toMatch(/smallint out of range/);

    for (const argv of [["--sample", "0%"], ["--faults", "meteor"], ["--clients", "0"]]) {
      const bad = new Command("underway").exitOverride();
      registerRehearseCommand(bad);
      await expect(bad.parseAsync(["node", "underway", "rehearse", file, ...argv])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    const masking: [string[], RegExp][] = [
      [["--from", source.url, "--mask-flagged", "scramble"], /invalid --mask-flagged "scramble"/],
      [["--from", source.url, "--no-mask", "--mask-flagged", "hash"], /--no-mask copies every value as it is/],
      [["--mask-flagged", "hash"], /mask the sample copied by --from/],
    ];
    for (const [argv, message] of masking) {
      const bad = new Command("underway").exitOverride();
      registerRehearseCommand(bad);
      await expect(bad.parseAsync(["node", "underway", "rehearse", file, ...argv])).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(message) });
    }
  });
});
