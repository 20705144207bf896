import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { connect } from "../../src/db/connection.js";
import { personalKind } from "../../src/mask/detect.js";
import { resolveMasking, selectList, type MaskPlan } from "../../src/mask/masking-plan.js";
import type { MaskPolicy } from "../../src/mask/policy.js";
import { loadMaskFile } from "../../src/mask/rules-file.js";
import { Migrator } from "../../src/run/migrator.js";
import { copySample } from "../../src/rehearse/seed-data.js";
import { migrationFile } from "../support/migrations.js";
import { underway } from "../cli/run-cli.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";

/**
 * A source with personal data (users, and orders whose foreign key is the user's email),
 * copied by `copySample` through masking rules into databases made here: the copy must
 * hold none of the original values of a masked column, and keep its keys, uniqueness and
 * joins.
 */
const SCHEMA = `
  CREATE TABLE users (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    phone varchar(20),
    ip inet,
    birth date,
    note text,
    email_lower text GENERATED ALWAYS AS (lower(email)) STORED
  );
  CREATE TABLE orders (id serial PRIMARY KEY, user_email text NOT NULL REFERENCES users (email), amount integer NOT NULL);
  CREATE TABLE products (id serial PRIMARY KEY, title text NOT NULL);
`;

const RULES: MaskPolicy = { tables: { users: { email: "hash", name: "fake", phone: "fake", ip: "hash", birth: "fake", note: "null" } } };

describe("masked samples", () => {
  let source: FreshDatabase;
  const targets: FreshDatabase[] = [];
  let dir: string;
  let originals: string[];

  beforeAll(async () => {
    source = await freshDatabase("mask_src");
    const client = await connect(source.url);
    await client.query(SCHEMA);
    await client.query(
      `INSERT INTO users (email, name, phone, ip, birth, note)
       SELECT 'Private.Person' || g || '@corp.example', 'Original Person ' || g, '+44 20 7946 ' || lpad(g::text, 4, '0'),
              ('192.0.2.' || g)::inet, date '1930-01-01' + g, CASE WHEN g % 5 <> 0 THEN 'secret note ' || g END
         FROM generate_series(1, 60) g`,
    );
    await client.query(`INSERT INTO products (title) VALUES ('lamp'), ('desk'), ('chair')`);
    await client.query(`INSERT INTO orders (user_email, amount) SELECT 'Private.Person' || (1 + g % 40) || '@corp.example', g FROM generate_series(1, 300) g`);
    const { rows } = await client.query<{ v: string }>(
      `SELECT unnest(ARRAY[email, name, phone, host(ip), birth::text, note, email_lower]) AS v FROM users`,
    );
    originals = rows.map((r) => r.v).filter((v) => v !== null);
    await client.end();
    dir = await mkdtemp(join(tmpdir(), "underway-mask-"));
  });

  afterAll(async () => {
    await source?.drop();
    for (const target of targets) await target.drop();
  });

  async function plan(policy: MaskPolicy, environment: NodeJS.ProcessEnv = {}): Promise<MaskPlan> {
    const client = await connect(source.url);
    try {
      return await resolveMasking(client, "public", policy, environment);
    } finally {
      await client.end();
    }
  }

  /** A new database with the source's tables, filled by copySample through `mask`. */
  async function copyInto(mask: MaskPlan | null): Promise<FreshDatabase> {
    const target = await freshDatabase("mask_dst");
    targets.push(target);
    const client = await connect(target.url);
    await client.query(SCHEMA);
    await client.end();
    const result = await copySample(source.url, target.adminUrl, "public", 1, "underway", { mask });
    expect(result.warnings).toEqual([]);
    return target;
  }

  async function query<T extends object>(url: string, sql: string): Promise<T[]> {
    const client = await connect(url);
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  /** Every row of every table of a database, as JSON text. */
  async function everything(url: string): Promise<string[]> {
    const tables = await query<{ name: string }>(
      url,
      `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    const rows: string[] = [];
    for (const { name } of tables) rows.push(...(await query<{ j: string }>(url, `SELECT row_to_json(t)::text AS j FROM ${name} t`)).map((r) => r.j));
    return rows;
  }

  it("copies no original value of a masked column, and keeps keys unique and joins matching", async () => {
    const target = await copyInto(await plan(RULES, { UNDERWAY_MASK_SALT: "salt-number-one" }));
    const rows = await everything(target.url);
    expect(rows.length).toBe(363); // a table with no masked column is read without the salt
    expect(rows).toContain(`{"id":3,"title":"chair"}`);
    const dump = rows.join("\n");
    expect(originals.length).toBeGreaterThan(300);
    expect(originals.filter((v) => dump.includes(v))).toEqual([]);

    const [users] = await query<{ n: number; emails: number; notes: number; names: number }>(
      target.url,
      `SELECT count(*)::int AS n, count(DISTINCT email)::int AS emails, count(note)::int AS notes, count(DISTINCT name)::int AS names FROM users`,
    );
    expect(users).toEqual({ n: 60, emails: 60, notes: 0, names: expect.any(Number) });
    expect(users!.names).toBeGreaterThan(1);
    // The foreign key by email still joins, and each user keeps as many orders.
    const perUser = (url: string) => query<{ n: number }>(url, `SELECT count(o.id)::int AS n FROM users u LEFT JOIN orders o ON o.user_email = u.email GROUP BY u.id ORDER BY 1`);
    expect((await query<{ n: number }>(target.url, `SELECT count(*)::int AS n FROM orders o JOIN users u ON u.email = o.user_email`))[0]!.n).toBe(300);
    expect(await perUser(target.url)).toEqual(await perUser(source.url));
    // Types and shapes: a hex digest, a fake phone in varchar(20), an IPv6 of fd00::/8, a fake birth date; the generated column follows the masked email.
    const [row] = await query<{ email: string; phone: string; ip: string; birth: string; email_lower: string }>(target.url, `SELECT email, phone, host(ip) AS ip, birth::text AS birth, email_lower FROM users ORDER BY id LIMIT 1`);
    expect(row!.email).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.phone).toMatch(/^\+1 555 \d{7}$/);
    expect(row!.ip).toMatch(/^fd[0-9a-f]{2}:/);
    expect(row!.birth >= "1940-01-01").toBe(true);
    expect(row!.email_lower).toBe(row!.email);
  });

  it("copies the source's completed migrations with their ids, and the copy's next migration row comes after them", async () => {
    const history = await freshDatabase("mask_hist");
    targets.push(history);
    const items = [{ create_table: { name: "items", columns: [{ name: "id", type: "serial", pk: true }, { name: "title", type: "text", nullable: true }] } }];
    await new Migrator({ databaseUrl: history.url }).start(await migrationFile("01_items", items), { complete: true });
    await new Migrator({ databaseUrl: history.url }).start(await migrationFile("02_more", [{ add_column: { table: "items", column: { name: "note", type: "text", nullable: true } } }]), { complete: true });
    const copy = await freshDatabase("mask_hist_dst");
    targets.push(copy);
    await new Migrator({ databaseUrl: copy.url }).init();
    await query(copy.url, "CREATE TABLE items (id serial PRIMARY KEY, title text, note text)");
    const result = await copySample(history.url, copy.adminUrl, "public", 1, "underway", { mask: null });
    expect(result.warnings).toEqual([]);
    const [row] = await query<{ next: string; top: string }>(
      copy.url,
      "SELECT nextval(pg_get_serial_sequence('underway.migrations', 'id'))::text AS next, (SELECT max(id) FROM underway.migrations)::text AS top",
    );
    expect(Number(row!.top)).toBeGreaterThanOrEqual(2);
    expect(Number(row!.next)).toBeGreaterThan(Number(row!.top));
  });

  it("gives the same values for the same salt, other values for another, and says when the salt is random", async () => {
    const emails = async (mask: MaskPlan) => (await query<{ email: string }>((await copyInto(mask)).url, "SELECT email FROM users ORDER BY id")).map((r) => r.email);
    const first = await emails(await plan(RULES, { UNDERWAY_MASK_SALT: "salt-number-one" }));
    expect(await emails(await plan({ ...RULES, salt: "salt-number-one" }))).toEqual(first);
    const other = await emails(await plan(RULES, { UNDERWAY_MASK_SALT: "salt-number-two" }));
    expect(other.filter((e) => first.includes(e))).toEqual([]);
    expect((await plan(RULES)).saltFrom).toBe("random");
  });

  it("keeps what a rule says to keep", async () => {
    const target = await copyInto(await plan({ flagged: "keep", tables: { "public.users": { email: "hash" } } }, { UNDERWAY_MASK_SALT: "salt-number-one" }));
    const names = (url: string) => query<{ name: string; note: string | null }>(url, "SELECT name, note FROM users ORDER BY id");
    expect(await names(target.url)).toEqual(await names(source.url));
    expect((await query<{ n: number }>(target.url, "SELECT count(*)::int AS n FROM users WHERE email LIKE '%@corp.example'"))[0]!.n).toBe(0);
  });

  it("refuses flagged columns without a rule, listing each, before reading a row", async () => {
    await expect(plan({})).rejects.toThrow(
      /refusing to copy 6 column\(s\) that look personal without a rule: public\.orders\.user_email \(email\), public\.users\.email \(email\), public\.users\.name \(name\), public\.users\.phone \(phone\), public\.users\.ip \(ip\), public\.users\.birth \(birth\);.*--mask-file.*--mask-flagged.*--no-mask/,
    );
  });

  it("refuses rules a column cannot take, naming it", async () => {
    await expect(plan({ tables: { users: { ...RULES.tables!.users, name: "null" } } })).rejects.toThrow(/table users, column name: is NOT NULL: the null rule cannot apply/);
    // A foreign key masked otherwise than the key it references would no longer join.
    await expect(plan({ tables: { users: RULES.tables!.users!, orders: { user_email: "fake" } } })).rejects.toThrow(
      /public\.orders\.user_email references public\.users\.email but is masked differently \(fake:email of text, against hash of text\)/,
    );
    await expect(plan({ tables: { ...RULES.tables, nobody: { x: "hash" } } })).rejects.toThrow(/table nobody: no such table in schema public/);
  });

  it("refuses a hash that cannot stay unique or has no value of the type", async () => {
    const client = await connect(source.url);
    await client.query(`CREATE TABLE narrow (code varchar(8) PRIMARY KEY, tags text[], small integer UNIQUE)`);
    await client.end();
    try {
      const error = await plan({ default: "hash", flagged: "hash" }).catch((e: unknown) => e as Error);
      expect(String(error)).toMatch(/public\.narrow\.code \(default: hash\): is unique, and hash of character varying\(8\) keeps only 32 bits/);
      expect(String(error)).toMatch(/public\.narrow\.tags \(default: hash\): is an array \(text\[\]\): hash cannot mask it/);
      expect(String(error)).toMatch(/public\.narrow\.small \(default: hash\): is unique, and hash of integer keeps only 32 bits/);
    } finally {
      const c = await connect(source.url);
      await c.query("DROP TABLE narrow");
      await c.end();
    }
  });

  it("gives every supported type a value of its own type under hash and fake, and keeps NULL", async () => {
    const client = await connect(source.url);
    await client.query(`CREATE TYPE mood AS ENUM ('calm', 'cross'); CREATE DOMAIN label AS text CHECK (VALUE <> '')`);
    await client.query(
      `CREATE TABLE typed (t text, v varchar(40), c char(20), b bytea, u uuid, big bigint, i integer, s smallint, n numeric, n2 numeric(8,2), r real, d double precision,
                           flag boolean, day date, ts timestamp, tz timestamptz, addr inet, net cidr, mac macaddr, j json, jb jsonb, m mood, l label)`,
    );
    await client.query(
      `INSERT INTO typed VALUES ('text', 'varchar', 'char', '\\x00ff', '00000000-0000-0000-0000-000000000001', 9007199254740993, 7, 3, 1.5, 12.25, 1.5, 2.5,
                                 true, '2001-02-03', '2001-02-03 04:05:06', '2001-02-03 04:05:06+00', '198.51.100.7', '198.51.100.0/24', '08:00:2b:01:02:03', '{"a":1}', '{"a":1}', 'calm', 'lbl'),
                                (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    try {
      const { rows: before } = await client.query<Record<string, unknown>>(`SELECT * FROM typed ORDER BY t NULLS LAST`);
      for (const rule of ["hash", "fake"] as const) {
        const columns = Object.keys(before[0]!);
        const rules = Object.fromEntries(columns.map((c) => [c, c === "m" && rule === "hash" ? "keep" : rule] as const));
        const masking = await resolveMasking(client, "public", { flagged: "keep", tables: { typed: rules } }, { UNDERWAY_MASK_SALT: "salt-number-one" });
        const { sql, params } = selectList(masking, "typed");
        await client.query("CREATE TEMP TABLE masked (LIKE typed)");
        await client.query(`INSERT INTO masked SELECT ${sql} FROM typed t`, params);
        const { rows: after } = await client.query<Record<string, unknown>>(`SELECT * FROM masked ORDER BY t NULLS LAST`);
        await client.query("DROP TABLE masked");
        // Same column types as the source, NULL kept, and every value changed (a boolean or an enum may land on the same one).
        expect(after[1]).toEqual(Object.fromEntries(columns.map((c) => [c, null])));
        const same = columns.filter((c) => JSON.stringify(after[0]![c]) === JSON.stringify(before[0]![c]));
        expect(same.filter((c) => !["flag", "m"].includes(c)), rule).toEqual([]);
        expect(after[0]!.u, rule).toMatch(/^[0-9a-f-]{36}$/);
      }
    } finally {
      await client.query("DROP TABLE typed; DROP TYPE mood; DROP DOMAIN label");
      await client.end();
    }
  });

  it("flags columns by name and type, and leaves names of things alone", () => {
    const kinds = Object.fromEntries(
      ["email", "e_mail", "userEmail", "work_phone", "mobile", "first_name", "LastName", "full_name", "username", "name", "home_address", "street", "city", "zip", "postal_code",
        "ip_address", "last_ip", "date_of_birth", "dob", "birthday", "ssn", "passport_number", "table_name", "product_name", "schema_name", "profile", "created_at", "amount", "shipping"].map((n) => [n, personalKind(n, "text")]),
    );
    expect(kinds).toEqual({
      email: "email", e_mail: "email", userEmail: "email", work_phone: "phone", mobile: "phone", first_name: "first_name", LastName: "last_name", full_name: "name",
      username: "username", name: "name", home_address: "address", street: "address", city: "city", zip: "postal", postal_code: "postal", ip_address: "ip", last_ip: "ip",
      date_of_birth: "birth", dob: "birth", birthday: "birth", ssn: "identifier", passport_number: "identifier",
      table_name: null, product_name: null, schema_name: null, profile: null, created_at: null, amount: null, shipping: null,
    });
    expect(personalKind("origin", "inet")).toBe("ip");
  });

  it("rehearse --from refuses before starting anything, with exit 2, on flagged columns or a bad rules file", async () => {
    const migration = join(dir, "02_add_flag.yaml");
    await writeFile(migration, YAML.stringify({ operations: [{ add_column: { table: "orders", column: { name: "flag", type: "boolean", nullable: true } } }] }));
    const refused = await underway(["rehearse", migration, "--from", source.url]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to copy 6 column\(s\) that look personal without a rule: public\.orders\.user_email \(email\), public\.users\.email/);
    expect(refused.stderr).not.toMatch(/starting a PostgreSQL/);

    const rules = join(dir, "masks.yaml");
    await writeFile(rules, YAML.stringify({ tables: { users: { ...RULES.tables!.users, emial: "hash" } } }));
    const unknown = await underway(["rehearse", migration, "--from", source.url, "--mask-file", rules]);
    expect(unknown.code).toBe(2);
    expect(unknown.errorLines).toEqual([`underway: ${rules}: table users, column emial: no such column`]);

    await writeFile(rules, YAML.stringify({ tables: { users: { email: "scramble" } } }));
    const badRule = await underway(["rehearse", migration, "--from", source.url, "--mask-file", rules]);
    expect(badRule.code).toBe(2);
    expect(badRule.errorLines).toEqual([expect.stringMatching(new RegExp(`^underway: ${rules}: table users, column email: unknown rule \\(rules are: keep, hash, null, fake, fake:<kind>`))]);
    await expect(loadMaskFile(rules)).rejects.toThrow(/column email: unknown rule/);
    // A bare YAML null is the null rule.
    await writeFile(rules, "salt: twelve-chars\ntables:\n  public.users: { note: null, email: hash, ip: 'fake:ip' }\n");
    expect(await loadMaskFile(rules)).toEqual({ salt: "twelve-chars", tables: { "public.users": { note: "null", email: "hash", ip: "fake:ip" } }, source: rules });

    const flagged = await underway(["rehearse", migration, "--from", source.url, "--mask-flagged", "scramble"]);
    expect(flagged.code).toBe(2);
    expect(flagged.stderr).toMatch(/invalid --mask-flagged "scramble"/);
  });
});
