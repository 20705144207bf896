import { mkdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";
import { json, migrationRows, query, scratchDir, underway, writeMigration, type CliRun } from "./run-cli.js";

/**
 * The user-facing contract of the `underway` binary (shared DESIGN.md, "The user-facing
 * contract"), tested by running `node bin/underway.js` as a user would: exit codes 0 / 1 / 2,
 * one line on stderr for a failure, JSON on stdout with `--json`, and nothing changed in
 * the database when a command is refused.
 */

const ITEMS = [
  {
    create_table: {
      name: "items",
      columns: [
        { name: "id", type: "bigserial", pk: true },
        { name: "name", type: "text" },
        { name: "price", type: "integer", nullable: true },
      ],
    },
  },
];

/** A failure as the contract has it: the exit code, and exactly one line on stderr. */
function expectFailure(run: CliRun, code: 1 | 2, pattern: RegExp): string {
  const context = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  expect(run.code, context).toBe(code);
  expect(run.errorLines, context).toHaveLength(1);
  expect(run.errorLines[0], context).toMatch(pattern);
  expect(run.stdout, context).toBe("");
  return run.errorLines[0]!;
}

function expectSuccess(run: CliRun): CliRun {
  expect(run.code, `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
  return run;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("arguments", () => {
  it("--help and --version exit 0; --version is the package's version", async () => {
    const help = expectSuccess(await underway(["--help"]));
    const commands = ["init", "new", "start", "resume", "jobs", "pause", "cancel", "throttle", "verify", "complete", "rollback", "status", "latest", "migrate", "plan", "lint", "convert", "rehearse", "demo"];
    for (const command of commands) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
    }
    const startHelp = expectSuccess(await underway(["start", "--help"]));
    expect(startHelp.stdout).toContain("--complete");
    expect(startHelp.stdout).toContain("--database-url");

    const version = expectSuccess(await underway(["--version"]));
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, "../../package.json"), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it("an unknown command, an unknown flag, a missing argument or a bad duration exits 2", async () => {
    const env = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
    const unknownCommand = await underway(["frobnicate"], { env });
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain("unknown command 'frobnicate'");

    const unknownFlag = await underway(["status", "--frobnicate"], { env });
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("unknown option '--frobnicate'");

    const missing = await underway(["start"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'file'");

    // Checked before connecting: the URL above points nowhere.
    expectFailure(await underway(["status", "--lock-timeout", "soon"], { env }), 2, /invalid --lock-timeout "soon"/);
    expectFailure(await underway(["status", "--replica-wait", "a while"], { env }), 2, /invalid --replica-wait "a while"/);
  });

  it("rehearse refuses a topology, pooler or fault it cannot run with exit 2, before starting anything", async () => {
    // No cluster is built for a refusal: each answers in well under the seconds a server takes to start.
    const refusals: [string[], RegExp][] = [
      [["--topology", "mesh"], /^underway: invalid --topology "mesh": choose simple or patroni$/],
      [["--pooler", "pgbouncer"], /^underway: --pooler pgbouncer runs with --topology patroni$/],
      [["--topology", "patroni", "--pooler", "odyssey"], /^underway: invalid --pooler "odyssey": the one pooler is pgbouncer$/],
      [["--faults", "etcd,kill"], /^underway: the simple topology cannot inject etcd: use --topology patroni, or choose from kill, failover, lag, partition, blocker, complete-failover$/],
      [["--faults", "failover,complete-failover"], /^underway: the simple topology fails over once: choose failover or complete-failover, or use --topology patroni$/],
      [["--topology", "patroni", "--faults", "meteor"], /^underway: unknown fault\(s\) meteor: choose from .*etcd.*, all or none$/],
    ];
    for (const [argv, message] of refusals) {
      const run = await underway(["rehearse", "nowhere/02_x.yaml", ...argv]);
      expectFailure(run, 2, message);
    }
    // The history beside the file is read before any server starts: a stray file there is refused at once.
    const dir = await scratchDir();
    const file = await writeMigration(dir, "02_price.yaml", ITEMS);
    await writeMigration(dir, "report.json", "{}");
    const stray = await underway(["rehearse", file, "--topology", "patroni"]);
    expectFailure(stray, 2, /report\.json: a migration file is named <sortable prefix>_<name>\.json/);
    expect(stray.stderr).not.toMatch(/starting/);
  });
});

describe("connection", () => {
  it("a malformed --database-url is a usage error (2) and hides the password", async () => {
    const line = expectFailure(await underway(["status", "--database-url", "postgres://u:secret@[bad"]), 2, /--database-url is not a URL/);
    expect(line).not.toContain("secret");
  });

  it("an unreachable database is a failure (1) with one line that hides the password", async () => {
    const line = expectFailure(
      await underway(["status", "--database-url", "postgres://x:hunter2@127.0.0.1:1/db"]),
      1,
      /cannot connect to postgres:\/\/x:\*\*\*@127\.0\.0\.1:1\/db/,
    );
    expect(line).not.toContain("hunter2");
  });

  it("--verbose adds the detail after the same first line", async () => {
    const args = ["status", "--database-url", "postgres://x@127.0.0.1:1/db"];
    const plain = expectFailure(await underway(args), 1, /cannot connect/);
    const verbose = await underway([...args, "--verbose"]);
    expect(verbose.code).toBe(1);
    expect(verbose.errorLines[0]).toBe(plain);
    expect(verbose.errorLines.length).toBeGreaterThan(1);
  });

  it("no --database-url and no DATABASE_URL is a usage error (2)", async () => {
    expectFailure(await underway(["status"]), 2, /no database given: pass --database-url, set DATABASE_URL \(or UNDERWAY_DATABASE_URL\), or give databaseUrl in underway.config.json$/);
    expectFailure(await underway(["init"]), 2, /no database given/);
  });

  it("--database-url wins over DATABASE_URL", async () => {
    const run = await underway(["status", "--database-url", "postgres://x@127.0.0.1:1/flag"], {
      env: { DATABASE_URL: "postgres://x@127.0.0.1:1/environment" },
    });
    expectFailure(run, 1, /\/flag/);
  });
});

describe("init and status", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("cli_init");
  });
  afterAll(() => db?.drop());

  it("status before init shows no migrations and creates nothing", async () => {
    const before = await schemaSnapshot(db.url);
    const status = json(expectSuccess(await underway(["status", "--json", "--database-url", db.url])));
    expect(status).toMatchObject({ active: null, migrations: [] });
    expect(await schemaSnapshot(db.url)).toEqual(before);
  });

  it("init twice is fine; status --json then shows no migrations", async () => {
    const first = expectSuccess(await underway(["init", "--json"], { env: { DATABASE_URL: db.url } }));
    expect(json(first)).toEqual({ stateSchema: "underway", initialized: true });
    const snapshot = await schemaSnapshot(db.url);
    expectSuccess(await underway(["init"], { env: { DATABASE_URL: db.url } }));
    expect(await schemaSnapshot(db.url)).toEqual(snapshot);

    const status = json(expectSuccess(await underway(["status", "--json"], { env: { DATABASE_URL: db.url } })));
    expect(status).toMatchObject({ schema: "public", active: null, latestVersionSchema: null, migrations: [] });
    const text = expectSuccess(await underway(["status"], { env: { DATABASE_URL: db.url } }));
    expect(text.stdout.trim()).toBe("no migrations yet");
  });

  it("latest with no migration is a failure (1)", async () => {
    expectFailure(await underway(["latest", "--database-url", db.url]), 1, /no migration has been started in schema "public"/);
  });

  it("--state-schema names the state schema", async () => {
    expectSuccess(await underway(["init", "--database-url", db.url, "--state-schema", "underway_other"]));
    const [row] = await query<{ ok: boolean }>(db.url, "SELECT to_regclass('underway_other.migrations') IS NOT NULL AS ok");
    expect(row?.ok).toBe(true);
  });
});

describe("invalid migration files", () => {
  let db: FreshDatabase;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await freshDatabase("cli_invalid");
    dir = await scratchDir();
    env = { DATABASE_URL: db.url };
    expectSuccess(await underway(["start", "--complete", await writeMigration(dir, "01_items.yaml", ITEMS)], { env }));
  });
  afterAll(() => db?.drop());

  /** Runs `underway ARGS`, expects exit 2 with one line, and that nothing in the database changed. */
  async function refused(args: string[], pattern: RegExp, url = db.url): Promise<string> {
    const before = await schemaSnapshot(url);
    const rowsBefore = await migrationRows(url);
    const line = expectFailure(await underway(args, { env: { DATABASE_URL: url } }), 2, pattern);
    expect(await schemaSnapshot(url), "catalog after a refused file").toEqual(before);
    expect(await migrationRows(url), "underway.migrations after a refused file").toEqual(rowsBefore);
    return line;
  }

  const cases: { title: string; file: string; content: string | unknown[]; field: RegExp }[] = [
    { title: "bad YAML", file: "02_bad_yaml.yaml", content: "operations:\n  - create_table:\n    name: [\n", field: /:\d+:\d+: invalid YAML: / },
    { title: "bad JSON", file: "02_bad_json.json", content: '{"operations": [}', field: /:1:\d+: invalid JSON: / },
    {
      title: "an unknown operation",
      file: "02_unknown_op.yaml",
      content: [{ add_colum: { table: "items", column: { name: "note", type: "text" } } }],
      field: /: operations\[0\]: unknown operation "add_colum" \(did you mean "add_column"\?/,
    },
    {
      title: "an unknown table",
      file: "02_unknown_table.yaml",
      content: [{ add_column: { table: "nope", column: { name: "note", type: "text", nullable: true } } }],
      field: /: operations\[0\]\.add_column\.table: table "nope" does not exist/,
    },
    {
      title: "an unknown column",
      file: "02_unknown_column.yaml",
      content: [{ alter_column: { table: "items", column: "nope", nullable: false, up: "nope", down: "nope" } }],
      field: /: operations\[0\]\.alter_column\.column: column "nope" does not exist/,
    },
    {
      title: "a string where a boolean belongs",
      file: "02_wrong_bool.yaml",
      content: [{ add_column: { table: "items", column: { name: "note", type: "text", nullable: "yes please" } } }],
      field: /: operations\[0\]\.add_column\.column\.nullable: expected boolean, got string/,
    },
    {
      title: "a number where SQL text belongs",
      file: "02_wrong_type.yaml",
      content: [{ add_column: { table: "items", column: { name: "note", type: 5, nullable: true } } }],
      field: /: operations\[0\]\.add_column\.column\.type: expected string, got number/,
    },
    {
      title: "an unknown field",
      file: "02_unknown_field.yaml",
      content: [{ add_column: { table: "items", column: { name: "note", type: "text", nulable: true } } }],
      field: /: operations\[0\]\.add_column\.column\.nulable: .*nullable/,
    },
    {
      title: "a file name without a prefix",
      file: "items.yaml",
      content: ITEMS,
      field: /: a migration file is named <sortable prefix>_<name>\.yaml/,
    },
  ];

  for (const { title, file, content, field } of cases) {
    it(`${title}: start exits 2 naming the file and the field, and changes nothing`, async () => {
      const path = await writeMigration(dir, file, content);
      const line = await refused(["start", path], field);
      expect(line.startsWith(`underway: ${path}`), line).toBe(true);
    });
  }

  it("a missing file and a directory are unreadable files (2), said as such whatever their names", async () => {
    const missing = join(dir, "03_missing.yaml");
    await refused(["start", missing], new RegExp(`^underway: ${escape(missing)}: no such file$`));
    await refused(["start", join(dir, "missing.yaml")], /missing\.yaml: no such file$/);
    await refused(["plan", join(dir, "missing.yaml")], /missing\.yaml: no such file$/);
    const directory = join(dir, "03_a_directory.yaml");
    await mkdir(directory);
    await refused(["start", directory], /03_a_directory\.yaml is a directory; give a migration file \(for a directory of them: underway migrate DIR\)$/);
  });

  it("plan refuses an invalid file the same way", async () => {
    const path = await writeMigration(dir, "04_plan_unknown_column.yaml", [{ rename_column: { table: "items", from: "nope", to: "other" } }]);
    await refused(["plan", path, "--json"], /operations\[0\]\.rename_column\.from: column "nope" does not exist/);
  });

  it("migrate refuses a directory holding one invalid file before applying any", async () => {
    const migrations = await scratchDir();
    await writeMigration(migrations, "05_valid.yaml", [{ add_column: { table: "items", column: { name: "note", type: "text", nullable: true } } }]);
    await writeMigration(migrations, "06_invalid.yaml", [{ add_column: { table: "items", column: { name: "other", type: 5 } } }]);
    await refused(["migrate", migrations], /06_invalid\.yaml: operations\[0\]\.add_column\.column\.type: expected string/);
  });

  it("an unknown table in a database without init leaves no state schema behind", async () => {
    const pristine = await freshDatabase("cli_pristine");
    try {
      const path = await writeMigration(dir, "07_unknown_table.yaml", [{ drop_table: { name: "nope" } }]);
      await refused(["start", path], /operations\[0\]\.drop_table\.name: table "nope" does not exist/, pristine.url);
    } finally {
      await pristine.drop();
    }
  });
});

describe("start, status, latest, complete and rollback", () => {
  let db: FreshDatabase;
  let dir: string;
  let env: Record<string, string>;
  let addNote: string;
  let renamePrice: string;
  beforeAll(async () => {
    db = await freshDatabase("cli_phases");
    dir = await scratchDir();
    env = { DATABASE_URL: db.url };
    expectSuccess(await underway(["start", "--complete", await writeMigration(dir, "01_items.yaml", ITEMS)], { env }));
    await query(db.url, "INSERT INTO items (name, price) VALUES ('pen', 2), ('ink', 5)");
    addNote = await writeMigration(dir, "02_add_note.yaml", [
      { add_column: { table: "items", column: { name: "note", type: "text", nullable: true }, up: "'about ' || name" } },
    ]);
    renamePrice = await writeMigration(dir, "03_rename_price.yaml", [{ rename_column: { table: "items", from: "price", to: "cost" } }]);
  });
  afterAll(() => db?.drop());

  it("start leaves the migration ready, and status --json shows it with its version schema", async () => {
    const start = expectSuccess(await underway(["start", addNote], { env }));
    expect(start.stdout).toContain("search_path=public_02_add_note");
    expect(start.stderr).toMatch(/^start 1\/\d+: /m);

    const status = json<{ active: Record<string, unknown>; latestVersionSchema: string; migrations: { name: string; phase: string }[] }>(
      expectSuccess(await underway(["status", "--json"], { env })),
    );
    expect(status.active).toMatchObject({ name: "02_add_note", phase: "ready", running: null, versionSchema: "public_02_add_note", parent: "01_items" });
    expect(status.latestVersionSchema).toBe("public_02_add_note");
    expect(status.migrations.map((m) => [m.name, m.phase])).toEqual([
      ["01_items", "completed"],
      ["02_add_note", "ready"],
    ]);
    const text = expectSuccess(await underway(["status"], { env }));
    expect(text.stdout).toMatch(/^02_add_note\s+ready$/m);
  });

  it("latest --json gives the version schema and a URL whose search_path selects it", async () => {
    const latest = json<{ migration: string; phase: string; versionSchema: string; url: string }>(
      expectSuccess(await underway(["latest", "--json"], { env })),
    );
    expect(latest).toMatchObject({ migration: "02_add_note", phase: "ready", versionSchema: "public_02_add_note" });
    // The names may be quoted identifiers; the options parameter is percent-encoded for libpq.
    expect(new URL(latest.url).searchParams.get("options")).toMatch(/^-c search_path=("?)public_02_add_note\1,("?)public\2$/);

    // A client connecting with that URL sees the new version: the new column, backfilled.
    const client = new pg.Client({ connectionString: latest.url });
    await client.connect();
    try {
      const { rows: path } = await client.query<{ search_path: string }>("SHOW search_path");
      expect(path[0]?.search_path.replace(/[\s"]/g, "")).toBe("public_02_add_note,public");
      const { rows } = await client.query<{ name: string; note: string }>("SELECT name, note FROM items ORDER BY id");
      expect(rows).toEqual([
        { name: "pen", note: "about pen" },
        { name: "ink", note: "about ink" },
      ]);
    } finally {
      await client.end();
    }

    const text = expectSuccess(await underway(["latest"], { env }));
    expect(text.stdout.split("\n")[0]).toBe("public_02_add_note");
  });

  it("start of another file while one is active is refused (1) and changes nothing", async () => {
    const before = await schemaSnapshot(db.url);
    expectFailure(
      await underway(["start", renamePrice], { env }),
      1,
      /migration "02_add_note" is active \(ready\); complete or roll it back before starting "03_rename_price"/,
    );
    expect(await schemaSnapshot(db.url)).toEqual(before);
  });

  it("start of the active file again is a no-op that succeeds", async () => {
    const before = await schemaSnapshot(db.url);
    const again = json(expectSuccess(await underway(["start", addNote, "--json"], { env })));
    expect(again).toMatchObject({ name: "02_add_note", phase: "ready" });
    expect(await schemaSnapshot(db.url)).toEqual(before);
  });

  it("verify checks old against new and finds them equal", async () => {
    const verify = json<{ migration: string; ok: boolean; tables: { table: string; mismatches: number }[] }>(
      expectSuccess(await underway(["verify", "--json"], { env })),
    );
    expect(verify.migration).toBe("02_add_note");
    expect(verify.ok).toBe(true);
    for (const table of verify.tables) expect(table.mismatches, table.table).toBe(0);
  });

  it("complete contracts it, and status shows it completed", async () => {
    const complete = json(expectSuccess(await underway(["complete", "--json"], { env })));
    expect(complete).toMatchObject({ name: "02_add_note", phase: "completed" });
    const status = json<{ active: unknown; migrations: { name: string; phase: string; completedAt: string | null }[] }>(
      expectSuccess(await underway(["status", "--json"], { env })),
    );
    expect(status.active).toBeNull();
    expect(status.migrations[1]).toMatchObject({ name: "02_add_note", phase: "completed" });
    expect(status.migrations[1]?.completedAt).not.toBeNull();
    const [row] = await query<{ note: string }>(db.url, "SELECT note FROM public.items WHERE name = 'ink'");
    expect(row?.note).toBe("about ink");
  });

  it("complete, rollback and verify with nothing active fail (1)", async () => {
    expectFailure(await underway(["rollback"], { env }), 1, /no migration is active in schema "public"/);
    expectFailure(await underway(["complete"], { env }), 1, /no migration is active in schema "public"/);
    expectFailure(await underway(["verify"], { env }), 1, /no migration is active in schema "public"/);
  });

  it("start of a completed migration is refused (1)", async () => {
    expectFailure(await underway(["start", addNote], { env }), 1, /migration "02_add_note" is already completed/);
  });

  it("rollback of a started migration restores the schema, and the file can be started again", async () => {
    const before = await schemaSnapshot(db.url);
    expectSuccess(await underway(["start", renamePrice], { env }));
    expect(await schemaSnapshot(db.url)).not.toEqual(before);
    const rollback = json(expectSuccess(await underway(["rollback", "--json"], { env })));
    expect(rollback).toMatchObject({ name: "03_rename_price", phase: "rolled_back" });
    expect(await schemaSnapshot(db.url)).toEqual(before);

    expectSuccess(await underway(["start", renamePrice, "--complete"], { env }));
    const [row] = await query<{ cost: number }>(db.url, "SELECT cost FROM public.items WHERE name = 'pen'");
    expect(row?.cost).toBe(2);
  });
});

describe("migrate", () => {
  let db: FreshDatabase;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await freshDatabase("cli_migrate");
    dir = await scratchDir();
    env = { DATABASE_URL: db.url };
    await writeMigration(dir, "01_items.yaml", ITEMS);
    await writeMigration(dir, "02_add_note.yaml", [{ add_column: { table: "items", column: { name: "note", type: "text", nullable: true } } }]);
    await writeMigration(dir, "03_index_name.yaml", [{ create_index: { name: "items_name_idx", table: "items", columns: ["name"] } }]);
    await writeMigration(dir, "README.md", "not a migration");
  });
  afterAll(() => db?.drop());

  it("applies the pending files in order, without an init first", async () => {
    const run = expectSuccess(await underway(["migrate", dir, "--json"], { env }));
    expect(json(run)).toEqual({ applied: ["01_items", "02_add_note", "03_index_name"] });
    const rows = await migrationRows(db.url);
    expect(rows).toEqual([
      { name: "01_items", phase: "completed" },
      { name: "02_add_note", phase: "completed" },
      { name: "03_index_name", phase: "completed" },
    ]);
    const [index] = await query<{ ok: boolean }>(db.url, "SELECT to_regclass('public.items_name_idx') IS NOT NULL AS ok");
    expect(index?.ok).toBe(true);
  });

  it("a second migrate applies nothing and changes nothing", async () => {
    const before = await schemaSnapshot(db.url);
    expect(json(expectSuccess(await underway(["migrate", dir, "--json"], { env })))).toEqual({ applied: [] });
    expect(expectSuccess(await underway(["migrate", dir], { env })).stdout.trim()).toBe("nothing to apply");
    expect(await schemaSnapshot(db.url)).toEqual(before);
  });

  it("applies only a file added later", async () => {
    await writeMigration(dir, "04_rename_price.yaml", [{ rename_column: { table: "items", from: "price", to: "cost" } }]);
    const run = expectSuccess(await underway(["migrate", dir], { env }));
    expect(run.stdout.trim()).toBe("applied 1: 04_rename_price");
    expect(run.stderr).toContain("migrating 04_rename_price");
  });

  it("a file changed after it was completed is a failure (1) naming the file and both checksums", async () => {
    const path = join(dir, "02_add_note.yaml");
    await writeMigration(dir, "02_add_note.yaml", `${await readFile(path, "utf8")}# edited later\n`);
    await writeMigration(dir, "05_drop_note.yaml", [{ drop_column: { table: "items", column: "note" } }]);
    const before = await schemaSnapshot(db.url);
    expectFailure(
      await underway(["migrate", dir], { env }),
      1,
      new RegExp(`^underway: ${escape(path)} changed after migration "02_add_note" was completed \\(checksum [0-9a-f]{12} then, [0-9a-f]{12} now\\)$`),
    );
    expect(await schemaSnapshot(db.url)).toEqual(before);
    expect((await migrationRows(db.url)).map((r) => r.name)).not.toContain("05_drop_note");
  });

  it("an unreadable directory is a usage error (2)", async () => {
    expectFailure(await underway(["migrate", join(dir, "nope")], { env }), 2, /nope: cannot read the migrations directory \(ENOENT\)/);
  });
});

describe("migrate: order and --dry-run", () => {
  let db: FreshDatabase;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await freshDatabase("cli_migrate_order");
    dir = await scratchDir();
    env = { DATABASE_URL: db.url };
    await writeMigration(dir, "01_items.yaml", ITEMS);
    await writeMigration(dir, "03_add_note.yaml", [{ add_column: { table: "items", column: { name: "note", type: "text", nullable: true } } }]);
  });
  afterAll(() => db?.drop());

  it("--dry-run on a fresh database lists every file in order and creates nothing, not even the state schema", async () => {
    const before = await schemaSnapshot(db.url);
    const run = expectSuccess(await underway(["migrate", dir, "--dry-run"], { env }));
    expect(run.stdout.trim()).toBe("would apply 2, in this order: 01_items, 03_add_note");
    const asJson = json<{ dryRun: boolean; pending: { name: string; outOfOrder: boolean }[]; applied: string[] }>(
      expectSuccess(await underway(["migrate", dir, "--dry-run", "--json"], { env })),
    );
    expect(asJson).toMatchObject({ dryRun: true, applied: [], pending: [{ name: "01_items", outOfOrder: false }, { name: "03_add_note", outOfOrder: false }] });
    expect(await schemaSnapshot(db.url)).toEqual(before);
    const [state] = await query<{ ok: boolean }>(db.url, "SELECT to_regnamespace('underway') IS NULL AS ok");
    expect(state?.ok).toBe(true);
  });

  it("refuses a pending file that sorts before an applied one, changing nothing; --allow-out-of-order applies it", async () => {
    expectSuccess(await underway(["migrate", dir], { env }));
    const late = await writeMigration(dir, "02_index_name.yaml", [{ create_index: { name: "items_name_idx", table: "items", columns: ["name"] } }]);
    await writeMigration(dir, "04_add_sku.yaml", [{ add_column: { table: "items", column: { name: "sku", type: "text", nullable: true } } }]);
    const before = await schemaSnapshot(db.url);
    const refusal = new RegExp(`^underway: ${escape(late)} is pending but sorts before "03_add_note", which is already applied: rename it to sort after, or pass --allow-out-of-order to apply it anyway$`);
    expectFailure(await underway(["migrate", dir], { env }), 1, refusal);
    expectFailure(await underway(["migrate", dir, "--dry-run"], { env }), 1, refusal);
    expect(await schemaSnapshot(db.url)).toEqual(before);
    expect((await migrationRows(db.url)).map((r) => r.name)).toEqual(["01_items", "03_add_note"]);

    const dry = json<{ pending: { name: string; outOfOrder: boolean }[] }>(
      expectSuccess(await underway(["migrate", dir, "--dry-run", "--allow-out-of-order", "--json"], { env })),
    );
    expect(dry.pending).toEqual([
      { name: "02_index_name", path: late, outOfOrder: true, active: false },
      { name: "04_add_sku", path: join(dir, "04_add_sku.yaml"), outOfOrder: false, active: false },
    ]);
    expect(await schemaSnapshot(db.url)).toEqual(before);
    const run = expectSuccess(await underway(["migrate", dir, "--allow-out-of-order", "--json"], { env }));
    expect(json(run)).toEqual({ applied: ["02_index_name", "04_add_sku"] });
  });

  it("says so when it would complete a migration someone started and left active", async () => {
    const path = await writeMigration(dir, "05_add_color.yaml", [{ add_column: { table: "items", column: { name: "color", type: "text", nullable: true } } }]);
    expectSuccess(await underway(["start", path], { env }));
    const dry = expectSuccess(await underway(["migrate", dir, "--dry-run"], { env }));
    expect(dry.stdout.trim()).toBe("would apply 1, in this order: 05_add_color (05_add_color is active (ready): migrate completes it, and its old version goes)");
    const run = expectSuccess(await underway(["migrate", dir], { env }));
    expect(run.stderr).toContain("migrating 05_add_color: completing it (it was started and is ready)");
    expect(run.stdout.trim()).toBe("applied 1: 05_add_color");
  });
});

describe("new", () => {
  it("writes a template named <14 digits>_NAME.yaml that start refuses until it has an operation", async () => {
    const dir = join(await scratchDir(), "migrations");
    const run = expectSuccess(await underway(["new", "add_widgets", "--dir", dir, "--json"]));
    const { path } = json<{ path: string }>(run);
    expect(basename(path)).toMatch(/^\d{14}_add_widgets\.yaml$/);
    expect((await stat(path)).isFile()).toBe(true);
    expect(await readFile(path, "utf8")).toContain("operations: []");

    expectFailure(
      await underway(["start", path], { env: { DATABASE_URL: "postgres://x@127.0.0.1:1/none" } }),
      2,
      /: operations: must list at least one operation/,
    );
  });

  it("prints the path without --json, defaults to ./migrations, and refuses a bad name (2)", async () => {
    const cwd = await scratchDir();
    const run = expectSuccess(await underway(["new", "first"], { cwd }));
    expect(run.stdout.trim()).toMatch(/^migrations\/\d{14}_first\.yaml$/);
    expect((await stat(join(cwd, run.stdout.trim()))).isFile()).toBe(true);
    expectFailure(await underway(["new", "bad name"], { cwd }), 2, /invalid migration name "bad name"/);
  });
});

describe("plan", () => {
  let db: FreshDatabase;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await freshDatabase("cli_plan");
    dir = await scratchDir();
    env = { DATABASE_URL: db.url };
    expectSuccess(await underway(["start", "--complete", await writeMigration(dir, "01_items.yaml", ITEMS)], { env }));
  });
  afterAll(() => db?.drop());

  it("prints the start, complete and rollback steps and changes nothing", async () => {
    const path = await writeMigration(dir, "02_widen_price.yaml", [
      { alter_column: { table: "items", column: "price", type: "bigint", up: "price::bigint", down: "price::integer" } },
    ]);
    const before = await schemaSnapshot(db.url);
    const rowsBefore = await migrationRows(db.url);

    const plan = json<Record<"start" | "complete" | "rollback", { kind: string; description: string }[]>>(
      expectSuccess(await underway(["plan", path, "--json"], { env })),
    );
    for (const phase of ["start", "complete", "rollback"] as const) {
      expect(plan[phase].length, phase).toBeGreaterThan(0);
      for (const step of plan[phase]) expect(typeof step.description).toBe("string");
    }
    expect(plan.start.map((s) => s.description)).toContain("create version schema public_02_widen_price");
    expect(plan.start.map((s) => s.kind)).toContain("backfill");
    expect(plan.rollback[0]?.description).toBe("drop version schema public_02_widen_price");

    const text = expectSuccess(await underway(["plan", path], { env }));
    expect(text.stdout).toMatch(/^start:\n {2}1\. /m);
    expect(text.stdout).toMatch(/^complete:$/m);
    expect(text.stdout).toMatch(/^rollback:$/m);

    expect(await schemaSnapshot(db.url)).toEqual(before);
    expect(await migrationRows(db.url)).toEqual(rowsBefore);
  });
});

describe("backfill job commands", () => {
  const ROWS = 1100;
  let db: FreshDatabase;
  let dir: string;
  let env: Record<string, string>;
  let widen: string;
  beforeAll(async () => {
    db = await freshDatabase("cli_backfill");
    dir = await scratchDir();
    env = { DATABASE_URL: db.url };
    expectSuccess(await underway(["start", "--complete", await writeMigration(dir, "01_items.yaml", ITEMS)], { env }));
    await query(db.url, `INSERT INTO items (name, price) SELECT 'item ' || g, g FROM generate_series(1, ${ROWS}) g`);
    widen = await writeMigration(dir, "02_widen_price.yaml", [
      { alter_column: { table: "items", column: "price", type: "bigint", up: "price::bigint * 100", down: "(price / 100)::integer" } },
    ]);
  });
  afterAll(() => db?.drop());

  it("start --no-backfill stops before the backfill, and complete refuses (1) until it has run", async () => {
    const start = expectSuccess(await underway(["start", widen, "--no-backfill"], { env }));
    expect(start.stdout).toContain('run "underway resume"');
    const status = json<{ active: { name: string; phase: string; running: string | null } }>(
      expectSuccess(await underway(["status", "--json"], { env })),
    );
    expect(status.active).toMatchObject({ name: "02_widen_price", running: "start" });
    expect(status.active.phase).not.toBe("ready");
    expectFailure(await underway(["complete"], { env }), 1, /migration "02_widen_price" is .*before complete/);
  });

  it("bad backfill flags are usage errors (2), and pause with no running job fails (1)", async () => {
    expectFailure(await underway(["throttle"], { env }), 2, /give at least one of --max-lag, --max-rate, --foreground, --throttle-query, --batch-time/);
    expectFailure(await underway(["throttle", "--max-rate", "fast"], { env }), 2, /invalid --max-rate "fast"/);
    expectFailure(await underway(["throttle", "--foreground", "1.5"], { env }), 2, /invalid --foreground "1.5": a share above 0 and below 1/);
    expectFailure(await underway(["throttle", "--max-lag", "far"], { env }), 2, /invalid --max-lag "far"/);
    expectFailure(await underway(["resume", "--workers", "0"], { env }), 2, /--workers must be a whole number from 1 to 64/);
    expectFailure(await underway(["pause"], { env }), 1, /no running backfill job to pause \(migration "02_widen_price"\)/);
  });

  it("resume runs the backfill and finishes the start; jobs --json shows the job done", async () => {
    const resume = json<{ outcome: string; migration: { name: string; phase: string } }>(
      expectSuccess(await underway(["resume", "--json", "--workers", "2"], { env })),
    );
    expect(resume).toMatchObject({ outcome: "finished", migration: { name: "02_widen_price", phase: "ready" } });
    const jobs = json<{ migration: string; jobs: { table: string; state: string; rowsDone: number }[] }>(
      expectSuccess(await underway(["jobs", "--json"], { env })),
    );
    expect(jobs.migration).toBe("02_widen_price");
    expect(jobs.jobs).toHaveLength(1);
    expect(jobs.jobs[0]).toMatchObject({ table: "items", state: "done" });

    const [row] = await query<{ wrong: number }>(
      db.url,
      `SELECT count(*)::int AS wrong FROM public.items WHERE "_uw_new_price" IS DISTINCT FROM price::bigint * 100`,
    );
    expect(row?.wrong).toBe(0);
  });

  it("jobs counts each row once", async () => {
    const jobs = json<{ jobs: { rowsDone: number; rowsTotal: number }[] }>(expectSuccess(await underway(["jobs", "--json"], { env })));
    expect(jobs.jobs[0]?.rowsDone).toBe(ROWS);
  });

  it("rollback after the backfill restores the schema", async () => {
    expectSuccess(await underway(["rollback"], { env }));
    const [row] = await query<{ n: number }>(
      db.url,
      "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'items' AND column_name LIKE '\\_uw\\_%'",
    );
    expect(row?.n).toBe(0);
  });

  it("backfills a table whose key is an ALWAYS identity column (pgroll's default identity)", async () => {
    const tickets = await writeMigration(dir, "03_tickets.yaml", [
      {
        create_table: {
          name: "tickets",
          columns: [
            { name: "id", type: "bigint", pk: true, generated: { identity: {} } },
            { name: "seats", type: "integer" },
          ],
        },
      },
    ]);
    expectSuccess(await underway(["start", tickets, "--complete"], { env }));
    await query(db.url, "INSERT INTO tickets (seats) SELECT g % 7 FROM generate_series(1, 500) g");
    const widen = await writeMigration(dir, "04_widen_seats.yaml", [
      { alter_column: { table: "tickets", column: "seats", type: "bigint", up: "seats::bigint", down: "seats::integer" } },
    ]);
    expectSuccess(await underway(["start", widen, "--complete"], { env }));
    const [row] = await query<{ type: string; n: number }>(
      db.url,
      "SELECT format_type(atttypid, atttypmod) AS type, (SELECT count(*)::int FROM public.tickets) AS n FROM pg_attribute WHERE attrelid = 'public.tickets'::regclass AND attname = 'seats'",
    );
    expect(row).toEqual({ type: "bigint", n: 500 });
  });
});

describe("migration guard", () => {
  let db: FreshDatabase;
  let holder: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase("cli_guard");
    holder = new pg.Client({ connectionString: db.url, application_name: "cli-test-holder" });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await db?.drop();
  });

  it("a second process is refused (1) with a message naming the holder, and gets through once it lets go", async () => {
    const dir = await scratchDir();
    const path = await writeMigration(dir, "01_items.yaml", ITEMS);
    // The guard's key is a fixed class id ("undw") and hashtext('<state schema>.<schema>'). A
    // state schema of its own keeps this key apart from the guards other test files hold meanwhile.
    const env = { DATABASE_URL: db.url };
    const args = ["--state-schema", "underway_guard"];
    expectSuccess(await underway(["init", ...args], { env }));
    await holder.query("SELECT pg_advisory_lock(x'756e6477'::int, hashtext('underway_guard.public'))");
    const [{ pid } = { pid: 0 }] = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows;

    const before = await schemaSnapshot(db.url, "public", "underway_guard");
    expectFailure(
      await underway(["start", path, ...args], { env }),
      1,
      new RegExp(`another underway process is working on schema "public": server pid ${pid}, cli-test-holder, connected since .*; wait for it, or if it is gone run "underway unlock"`),
    );
    expect(await schemaSnapshot(db.url, "public", "underway_guard")).toEqual(before);
    expect(await migrationRows(db.url, "underway_guard")).toEqual([]);

    await holder.query("SELECT pg_advisory_unlock(x'756e6477'::int, hashtext('underway_guard.public'))");
    expectSuccess(await underway(["start", path, ...args], { env }));
  });
});
