import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { connect } from "../../src/db/connection.js";
import { rehearse } from "../../src/rehearse/rehearsal.js";
import { underway } from "../cli/run-cli.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";

/**
 * `rehearse --from` on a source with personal columns (users, and orders keyed to them by
 * email, large enough to be sampled by that key): the throwaway cluster's copy must hold
 * no original value of a masked column, while the orders still join their users.
 */
describe("underway rehearse --from with masking", () => {
  let source: FreshDatabase;
  let dir: string;
  let rules: string;
  let migration: string;
  let originals: string[];

  beforeAll(async () => {
    source = await freshDatabase("mask_rehearse");
    const client = await connect(source.url);
    await client.query(`CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, phone text, ip inet, birth date, note text)`);
    await client.query(`CREATE TABLE orders (id bigserial PRIMARY KEY, user_email text NOT NULL REFERENCES users (email), amount integer NOT NULL)`);
    await client.query(
      `INSERT INTO users (email, full_name, phone, ip, birth, note)
       SELECT 'private.person' || g || '@corp.example', 'Original Person ' || g, '+44 20 7946 ' || lpad(g::text, 4, '0'),
              ('192.0.2.' || (g % 250))::inet, date '1930-01-01' + g % 3000, 'secret note ' || g FROM generate_series(1, 2000) g`,
    );
    await client.query(`INSERT INTO orders (user_email, amount) SELECT 'private.person' || (1 + g % 2000) || '@corp.example', g FROM generate_series(1, 12000) g`);
    const { rows } = await client.query<{ v: string }>(`SELECT DISTINCT unnest(ARRAY[email, full_name, phone, host(ip), birth::text, note]) AS v FROM users`);
    originals = rows.map((r) => r.v);
    await client.end();
    dir = await mkdtemp(join(tmpdir(), "underway-rehearse-mask-"));
    rules = join(dir, "masks.yaml");
    await writeFile(rules, YAML.stringify({ salt: "rehearsal salt", tables: { users: { email: "hash", full_name: "fake", phone: "fake", ip: "hash", birth: "fake", note: "null" } } }));
    migration = join(dir, "02_add_flag.yaml");
    await writeFile(migration, YAML.stringify({ operations: [{ add_column: { table: "orders", column: { name: "flag", type: "boolean", nullable: true } } }] }));
  });

  afterAll(async () => {
    await source?.drop();
  });

  it("leaves no original value in the local copy, and orders still join their users", { timeout: 300_000 }, async () => {
    let copy: { rows: string[]; orders: number; joined: number } | undefined;
    const report = await rehearse({
      file: migration,
      from: source.url,
      sample: 0.5,
      faults: [],
      backfillSeconds: 3,
      mask: { file: rules },
      onCopied: async (url) => {
        const client = await connect(url);
        try {
          const { rows: tables } = await client.query<{ name: string }>(
            `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
          );
          const rows: string[] = [];
          for (const { name } of tables) rows.push(...(await client.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM ${name} t`)).rows.map((r) => r.j));
          const { rows: counts } = await client.query<{ orders: number; joined: number }>(
            `SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM orders o JOIN users u ON u.email = o.user_email) AS joined`,
          );
          copy = { rows, ...counts[0]! };
        } finally {
          await client.end();
        }
      },
    });
    expect(report.problems).toEqual([]);
    expect(report.masked.map((m) => `${m.table}.${m.column} ${m.rule}`)).toEqual([
      "orders.user_email hash",
      "users.email hash",
      "users.full_name fake:name",
      "users.phone fake:phone",
      "users.ip hash",
      "users.birth fake:birth",
      "users.note null",
    ]);
    expect(copy!.rows.length).toBeGreaterThan(2000 + 4000);
    const dump = copy!.rows.join("\n");
    expect(originals.length).toBe(2000 * 4 + 250 + 2000);
    expect(originals.filter((v) => dump.includes(v))).toEqual([]);
    // Sampled by the original email on the source, masked the same way on both sides: every sampled order finds its user.
    expect(copy!.orders).toBeGreaterThan(4000);
    expect(copy!.joined).toBe(copy!.orders);
  });

  it("runs from the CLI with --mask-file, and refuses unmasked personal columns without one", { timeout: 300_000 }, async () => {
    const run = await underway(["rehearse", migration, "--from", source.url, "--mask-file", rules, "--faults", "none", "--backfill-time", "2s", "--sample", "10%"]);
    expect(run.stdout).toMatch(/PASSED/);
    expect(run.stdout).toMatch(/masked: orders\.user_email \(hash\), users\.email \(hash\), users\.full_name \(fake:name\)/);
    expect(run.code).toBe(0);
    const refused = await underway(["rehearse", migration, "--from", source.url, "--faults", "none"]);
    expect(refused.code).toBe(2);
    expect(refused.errorLines).toEqual([expect.stringMatching(/^underway: refusing to copy 6 column\(s\) that look personal without a rule: public\.orders\.user_email \(email\), public\.users\.email \(email\), public\.users\.full_name \(name\)/)]);
  });
});
