import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import postgres from "postgres";
import { CompiledQuery, Kysely, PostgresDialect } from "kysely";
import { drizzle } from "drizzle-orm/node-postgres";
import { sql as drizzleSql } from "drizzle-orm";
import { Migrator } from "../../src/run/migrator.js";
import { pinVersionSql } from "../../src/client/pg-version.js";
import { literal } from "../../src/db/ident.js";
import { startPgBouncer, type PgBouncer } from "../../src/harness/pgbouncer.js";
import { freshDatabase, serverInfo, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";

/**
 * Every write ends visible in both versions with the value the statement wrote, or fails
 * with a clear error: whatever the client library, however the session names its version
 * (search_path, underway.version, the SET LOCAL helpers), and whichever relation the SQL
 * names (an unqualified name, the physical table, a version's view). The direction of a
 * write comes from the relation it went through, never from the session's claim.
 *
 * The migration renames `name` to `title`, widens `amount` to bigint with up = x10 and
 * down = /10 (so a value shows which way it went), adds `label` (up: upper(name)) and drops
 * `legacy` (down: 'from new').
 */
const OLD = "public_01_items";
const NEW = "public_02_items_v2";
const NEW_MIGRATION = "02_items_v2";

type Version = "old" | "new";
type Mode = "search_path" | "underway.version" | "helper";
type Addressing = "unqualified" | "physical" | "old view" | "new view";

/** A client library, reduced to: run SQL (optionally inside a pinned transaction), COPY if it can. */
interface Writer {
  name: string;
  run(text: string, pin?: { versionSchema: string }): Promise<void>;
  setSession(text: string): Promise<void>;
  copy?(table: string, columns: string[], rows: string[][]): Promise<void>;
  end(): Promise<void>;
}

async function pgWriter(url: string): Promise<Writer> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name: "node-postgres",
    async run(text, pin) {
      if (!pin) {
        await client.query(text);
        return;
      }
      await client.query("BEGIN");
      try {
        await client.query(pinVersionSql(pin));
        await client.query(text);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
    },
    setSession: async (text) => void (await client.query(text)),
    end: () => client.end(),
  };
}

async function postgresJsWriter(url: string, options: { prepare: boolean }): Promise<Writer> {
  const sql = postgres(url, { max: 1, prepare: options.prepare, onnotice: () => undefined });
  return {
    name: `postgres.js${options.prepare ? "" : " (prepare: false)"}`,
    async run(text, pin) {
      if (!pin) {
        await sql.unsafe(text);
        return;
      }
      const p = pinVersionSql(pin);
      await sql.begin(async (tx) => {
        await tx.unsafe(p.text, p.values);
        await tx.unsafe(text);
      });
    },
    setSession: async (text) => void (await sql.unsafe(text)),
    async copy(table, columns, rows) {
      const stream = await sql.unsafe(`COPY ${table} (${columns.join(", ")}) FROM STDIN`).writable();
      await new Promise<void>((resolve, reject) => {
        stream.on("error", reject);
        stream.on("finish", () => resolve());
        stream.end(rows.map((r) => r.join("\t")).join("\n") + "\n");
      });
    },
    end: () => sql.end({ timeout: 5 }),
  };
}

async function kyselyWriter(url: string): Promise<Writer> {
  const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
  return {
    name: "Kysely",
    async run(text, pin) {
      if (!pin) {
        await db.executeQuery(CompiledQuery.raw(text));
        return;
      }
      const p = pinVersionSql(pin);
      await db.transaction().execute(async (trx) => {
        await trx.executeQuery(CompiledQuery.raw(p.text, p.values));
        await trx.executeQuery(CompiledQuery.raw(text));
      });
    },
    setSession: async (text) => void (await db.executeQuery(CompiledQuery.raw(text))),
    end: () => db.destroy(),
  };
}

async function drizzleWriter(url: string): Promise<Writer> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const db = drizzle(pool);
  return {
    name: "drizzle",
    async run(text, pin) {
      if (!pin) {
        await db.execute(drizzleSql.raw(text));
        return;
      }
      const p = pinVersionSql(pin);
      await db.transaction(async (tx) => {
        await tx.execute(drizzleSql.raw(`SELECT set_config('search_path', ${literal(p.values[0]!)}, true), set_config('underway.version', ${literal(p.values[1]!)}, true)`));
        await tx.execute(drizzleSql.raw(text));
      });
    },
    setSession: async (text) => void (await db.execute(drizzleSql.raw(text))),
    end: () => pool.end(),
  };
}

/** The relation a statement names, and the representation its write is in. */
function target(addressing: Addressing, mode: Mode, version: Version): { table: string; rep: Version } {
  switch (addressing) {
    case "physical":
      return { table: "public.items", rep: "old" };
    case "old view":
      return { table: `${OLD}.items`, rep: "old" };
    case "new view":
      return { table: `${NEW}.items`, rep: "new" };
    case "unqualified":
      // underway.version alone leaves search_path at public: the name is the physical table.
      return { table: "items", rep: mode === "underway.version" ? "old" : version };
  }
}

interface Row {
  name: string | null;
  oldAmount: number | null;
  legacy: string | null;
  title: string | null;
  newAmount: string | null;
  label: string | null;
}

describe("the direction of a write comes from what it wrote", () => {
  let db: FreshDatabase;
  let admin: pg.Client;
  let bouncer: PgBouncer;
  let nextId = 1000;

  beforeAll(async () => {
    db = await freshDatabase("direction");
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("01_items", [
        {
          create_table: {
            name: "items",
            columns: [
              { name: "id", type: "bigserial", pk: true },
              { name: "name", type: "text", nullable: true },
              { name: "amount", type: "integer", default: "0" },
              { name: "legacy", type: "text", default: "'L'", nullable: true },
              { name: "note", type: "text", nullable: true },
            ],
          },
        },
      ]),
      { complete: true },
    );
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`INSERT INTO items (name, amount) SELECT 'seed ' || g, g FROM generate_series(1, 200) g`);
    await migrator.start(
      await migrationFile(NEW_MIGRATION, [
        { rename_column: { table: "items", from: "name", to: "title" } },
        { alter_column: { table: "items", column: "amount", type: "bigint", up: "amount::bigint * 10", down: "(amount / 10)::integer" } },
        { add_column: { table: "items", column: { name: "label", type: "text", nullable: true }, up: "upper(title)" } },
        { drop_column: { table: "items", column: "legacy", down: "'from new'" } },
      ]),
    );
    const { hostname, port } = new URL(serverInfo().adminUrl);
    bouncer = await startPgBouncer({ host: hostname, port: Number(port), poolSize: 2 });
  });
  afterAll(async () => {
    await bouncer?.stop();
    await admin?.end();
    await db?.drop();
  });

  const read = async (id: number): Promise<Row | null> => {
    const { rows: o } = await admin.query(`SELECT name, amount, legacy FROM ${OLD}.items WHERE id = $1`, [id]);
    const { rows: n } = await admin.query(`SELECT title, amount::text, label FROM ${NEW}.items WHERE id = $1`, [id]);
    if (o.length === 0 && n.length === 0) return null;
    return { name: o[0].name, oldAmount: o[0].amount, legacy: o[0].legacy, title: n[0].title, newAmount: n[0].amount, label: n[0].label };
  };

  /** A row written through the old representation, to update. */
  const seed = async (): Promise<number> => {
    const id = nextId++;
    await admin.query(`INSERT INTO public.items (id, name, amount) VALUES ($1, 'base', 1)`, [id]);
    return id;
  };

  /** What a row holds after a write of `text`/`amount` in one representation. */
  const expected = (rep: Version, text: string, amount: number, label: string | null): Row =>
    rep === "old"
      ? { name: text, oldAmount: amount, legacy: "L", title: text, newAmount: String(amount * 10), label: label ?? text.toUpperCase() }
      : { name: text, oldAmount: Math.trunc(amount / 10), legacy: "from new", title: text, newAmount: String(amount), label };

  /** Runs every kind of write through one writer, relation and version choice, and checks each row. */
  async function everyWrite(writer: Writer, mode: Mode, version: Version, addressing: Addressing): Promise<void> {
    const { table, rep } = target(addressing, mode, version);
    const textColumn = rep === "old" ? "name" : "title";
    const pin = mode === "helper" ? { versionSchema: version === "old" ? OLD : NEW } : undefined;
    const run = (text: string) => writer.run(text, pin);
    const where = `${writer.name}, ${mode}=${version}, ${addressing} (${table})`;

    // INSERT
    const inserted = nextId++;
    await run(`INSERT INTO ${table} (id, ${textColumn}, amount${rep === "new" ? ", label" : ""}) VALUES (${inserted}, 'ins', 70${rep === "new" ? ", 'lbl'" : ""})`);
    expect(await read(inserted), `INSERT: ${where}`).toEqual(expected(rep, "ins", 70, rep === "new" ? "lbl" : null));

    // UPDATE of a changed column
    const updated = await seed();
    await run(`UPDATE ${table} SET amount = 40 WHERE id = ${updated}`);
    expect(await read(updated), `UPDATE amount: ${where}`).toEqual(
      rep === "old"
        ? { name: "base", oldAmount: 40, legacy: "L", title: "base", newAmount: "400", label: "BASE" }
        : { name: "base", oldAmount: 4, legacy: "L", title: "base", newAmount: "40", label: "BASE" },
    );

    // UPDATE of a column no version changes: nothing is recomputed
    const untouched = await seed();
    await run(`UPDATE ${table} SET note = 'n' WHERE id = ${untouched}`);
    expect(await read(untouched), `UPDATE note: ${where}`).toEqual({ name: "base", oldAmount: 1, legacy: "L", title: "base", newAmount: "10", label: "BASE" });

    // INSERT ... ON CONFLICT DO UPDATE on an existing row
    const upserted = await seed();
    await run(`INSERT INTO ${table} (id, ${textColumn}, amount) VALUES (${upserted}, 'up', 90) ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount`);
    expect(await read(upserted), `ON CONFLICT: ${where}`).toEqual(
      rep === "old"
        ? { name: "base", oldAmount: 90, legacy: "L", title: "base", newAmount: "900", label: "BASE" }
        : { name: "base", oldAmount: 9, legacy: "L", title: "base", newAmount: "90", label: "BASE" },
    );

    // DELETE
    const deleted = await seed();
    await run(`DELETE FROM ${table} WHERE id = ${deleted}`);
    expect(await read(deleted), `DELETE: ${where}`).toBeNull();

    // COPY: into the table it is a write of the old representation; a view refuses it
    // (checked through node-postgres: postgres.js does not report an error to COPY FROM STDIN).
    const intoView = addressing === "old view" || addressing === "new view" || (addressing === "unqualified" && mode === "search_path");
    if (intoView && writer.name === "node-postgres" && mode !== "helper") {
      await expect(writer.run(`COPY ${table} (id, ${textColumn}, amount) FROM STDIN`), `COPY: ${where}`).rejects.toThrow(/cannot copy to view/);
    } else if (!intoView && writer.copy && mode !== "helper") {
      const copied = nextId++;
      await writer.copy(table, ["id", textColumn, "amount"], [[String(copied), "cp", "30"]]);
      expect(await read(copied), `COPY: ${where}`).toEqual(expected("old", "cp", 30, null));
    }
  }

  const modes: Mode[] = ["search_path", "underway.version", "helper"];
  const addressings: Addressing[] = ["unqualified", "physical", "old view", "new view"];
  const makers: [string, (url: string) => Promise<Writer>][] = [
    ["node-postgres", pgWriter],
    ["postgres.js", (url) => postgresJsWriter(url, { prepare: true })],
    ["Kysely", kyselyWriter],
    ["drizzle", drizzleWriter],
  ];

  for (const [name, make] of makers) {
    for (const mode of modes) {
      for (const version of ["old", "new"] as Version[]) {
        it(`${name}, version chosen by ${mode} = ${version}: every write through every relation ends as written`, async () => {
          const writer = await make(db.url);
          try {
            if (mode === "search_path") await writer.setSession(`SET search_path TO ${version === "old" ? OLD : NEW}, public`);
            if (mode === "underway.version") await writer.setSession(`SET underway.version = ${literal(version === "old" ? OLD : NEW_MIGRATION)}`);
            for (const addressing of addressings) await everyWrite(writer, mode, version, addressing);
          } finally {
            await writer.end();
          }
        });
      }
    }
  }

  // Behind PgBouncer in transaction mode a session SET does not follow the client; the
  // SET LOCAL helpers and qualified names do.
  for (const [name, make] of [
    ["node-postgres", pgWriter],
    ["postgres.js", (url: string) => postgresJsWriter(url, { prepare: false })],
  ] as [string, (url: string) => Promise<Writer>][]) {
    for (const version of ["old", "new"] as Version[]) {
      it(`${name} through PgBouncer (transaction mode), helper = ${version}: every write ends as written`, async () => {
        const writer = await make(bouncer.url(db.name));
        try {
          for (const addressing of addressings) await everyWrite(writer, "helper", version, addressing);
        } finally {
          await writer.end();
        }
      });
    }
  }

  it("refuses a write that sets both representations of a column to values that disagree", async () => {
    const id = await seed();
    await expect(admin.query(`UPDATE public.items SET amount = 5, "_uw_new_amount" = 7 WHERE id = $1`, [id])).rejects.toThrow(/set both amount and _uw_new_amount/);
    // Values that agree go through.
    await admin.query(`UPDATE public.items SET amount = 5, "_uw_new_amount" = 50 WHERE id = $1`, [id]);
    expect(await read(id)).toMatchObject({ oldAmount: 5, newAmount: "50" });
  });

  it("refuses an unknown underway.version even when the columns decide", async () => {
    const writer = await pgWriter(db.url);
    try {
      await writer.setSession("SET underway.version = 'no_such_version'");
      await expect(writer.run(`UPDATE public.items SET amount = 3 WHERE id = 1`)).rejects.toThrow(/unknown version "no_such_version"/);
    } finally {
      await writer.end();
    }
  });

  it("UPDATE ... SET c = DEFAULT through either version writes that version's default", async () => {
    const id = await seed();
    await admin.query(`UPDATE ${NEW}.items SET amount = DEFAULT WHERE id = $1`, [id]);
    expect(await read(id)).toMatchObject({ oldAmount: 0, newAmount: "0" });
    await admin.query(`UPDATE public.items SET amount = 6 WHERE id = $1`, [id]);
    await admin.query(`UPDATE ${OLD}.items SET amount = DEFAULT, legacy = DEFAULT WHERE id = $1`, [id]);
    expect(await read(id)).toMatchObject({ oldAmount: 0, newAmount: "0", legacy: "L" });
  });
});
