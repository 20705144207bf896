import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/db/connection.js";
import { qualified } from "../../src/db/ident.js";
import { createDatabase } from "../../src/harness/local-server.js";
import { underway, type CliRun } from "../cli/run-cli.js";
import { until } from "../dashboard/fixture.js";
import { CLI } from "../support/cli.js";
import { startTlsServer, type TlsServer } from "../support/tls-server.js";

/**
 * No password in anything underway writes or keeps: a whole migration through the built
 * binary, over verified TLS, with --verbose and JSON logs, /metrics, the dashboard's page,
 * API, metrics and event stream, the failures, and every row of the state schema, searched
 * for the password as it is, URL-encoded, and for its random core alone.
 */

const ROLE = "leak_owner";
const CORE = randomBytes(18).toString("base64url");
/** 24 random characters, and characters a URL must encode. */
const PASSWORD = `${CORE}@/:%`;
const WRONG_PASSWORD = `wrong-${randomBytes(12).toString("hex")}`;
const FORBIDDEN = [PASSWORD, encodeURIComponent(PASSWORD), CORE, WRONG_PASSWORD];

let tls: TlsServer;
let home: string;
let dir: string;
let url: string;
let urlWithPasswordParameter: string;
let adminUrl: string;
/** Everything underway wrote, by where it came from. */
const seen: { what: string; text: string }[] = [];

function record(what: string, text: string): void {
  seen.push({ what, text });
  for (const secret of FORBIDDEN) expect(text.includes(secret), `${what} carries the password:\n${text}`).toBe(false);
}

async function run(args: string[], target = url, env: Record<string, string> = {}): Promise<CliRun> {
  const result = await underway([...args, "--database-url", target], { env: { HOME: home, ...env } });
  record(`underway ${args.join(" ")}: stdout`, result.stdout);
  record(`underway ${args.join(" ")}: stderr`, result.stderr);
  return result;
}

function expectExit(result: CliRun, code: number): CliRun {
  expect(result.code, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(code);
  return result;
}

/** The built binary in the background: its stdout lines and stderr as they come. */
function launch(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args, "--database-url", url], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let stdout = "";
  let stderr = "";
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => {
    record(`underway ${args.join(" ")} (background): stdout`, stdout);
    record(`underway ${args.join(" ")} (background): stderr`, stderr);
    resolve(code);
  }));
  return { child, lines, stderr: () => stderr, exited };
}

async function fetchText(what: string, address: string | URL): Promise<string> {
  const response = await fetch(address);
  const text = await response.text();
  expect(response.status, `${what}: ${text}`).toBe(200);
  record(what, text);
  return text;
}

/** The first bytes of a server-sent event stream. */
async function firstEvents(address: URL): Promise<string> {
  const controller = new AbortController();
  const response = await fetch(address, { signal: controller.signal });
  const reader = response.body!.getReader();
  let text = "";
  while (!text.includes("\n\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  controller.abort();
  return text;
}

async function writeMigration(name: string, operations: unknown[]): Promise<string> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ operations }));
  return file;
}

beforeAll(async () => {
  tls = await startTlsServer("leak_cert_user");
  await createDatabase(tls.server, { name: "leakdb", owner: ROLE, ownerPassword: PASSWORD });
  home = await mkdtemp(join(tmpdir(), "underway-leak-home-"));
  dir = await mkdtemp(join(tmpdir(), "underway-leak-"));
  const tlsParams = { sslmode: "verify-full", sslrootcert: tls.certs.ca };
  url = tls.url({ role: ROLE, password: PASSWORD, database: "leakdb", params: tlsParams });
  urlWithPasswordParameter = tls.url({ role: ROLE, database: "leakdb", params: { ...tlsParams, password: PASSWORD } });
  adminUrl = tls.url({ role: "postgres", host: "127.0.0.1", database: "leakdb" });
  const client = await connect(url);
  try {
    await client.query("CREATE TABLE accounts (id bigserial PRIMARY KEY, balance integer NOT NULL)");
    await client.query("INSERT INTO accounts (balance) SELECT g FROM generate_series(1, 30000) g");
  } finally {
    await client.end();
  }
}, 120_000);

afterAll(async () => {
  await tls?.stop();
});

describe("no password in any output, log, metric, page or state row", () => {
  let dashboard: ReturnType<typeof launch>;
  let dashboardUrl: string;

  it("init, and the dashboard's page, API, metrics and events before any migration", async () => {
    expectExit(await run(["init", "--json", "--verbose"]), 0);
    dashboard = launch(["dashboard", "--port", "0", "--json", "--verbose"]);
    const started = JSON.parse(await until("the dashboard's address", () => dashboard.lines[0], 20_000)) as { url: string; metricsUrl: string };
    record("dashboard start line", dashboard.lines[0]!);
    dashboardUrl = started.url;
    await fetchText("dashboard page", dashboardUrl);
    await fetchText("dashboard /api/state", new URL("/api/state", dashboardUrl));
    await fetchText("dashboard /metrics", started.metricsUrl);
  });

  it("start, a backfill with two workers, --metrics-port, JSON logs, jobs, status, throttle, pause and resume", async () => {
    const file = await writeMigration("01_widen", [{ alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 2", down: "(balance / 2)::integer" } }]);
    expectExit(await run(["start", file, "--no-backfill", "--json", "--verbose", "--log-format", "json"]), 0);

    // A slow rate (30,000 rows at 1,000 a second) so that the backfill is still running when pause comes, on a slow machine too.
    const backfill = launch(["resume", "--workers", "2", "--max-rate", "1000", "--metrics-port", "0", "--log-format", "json", "--verbose"]);
    const metricsUrl = await until("the metrics address in the JSON logs", () => /"metricsUrl":"([^"]+)"/.exec(backfill.stderr())?.[1], 20_000);
    await until("backfill rows in /metrics", async () => /underway_backfill_rows_total\{[^}]*\} [1-9]/.test(await fetchText("resume --metrics-port /metrics", metricsUrl)), 20_000);
    expectExit(await run(["jobs", "--json", "--verbose"]), 0);
    expectExit(await run(["status", "--json", "--verbose"]), 0);
    expectExit(await run(["status", "--verbose"]), 0);
    expectExit(await run(["throttle", "--max-rate", "1500", "--json", "--verbose"]), 0);
    await fetchText("dashboard /api/state during the backfill", new URL("/api/state", dashboardUrl));
    record("dashboard /events during the backfill", await firstEvents(new URL("/events", dashboardUrl)));
    // pause holds the workers of the running resume; a second resume un-pauses them and leaves the work to it.
    expectExit(await run(["pause", "--json", "--verbose"]), 0);
    expectExit(await run(["jobs", "--verbose"]), 0);
    expectExit(await run(["resume", "--json", "--verbose", "--log-format", "json"]), 0);
    expect(await backfill.exited).toBe(0);
  }, 120_000);

  it("verify, complete, latest, then a second migration rolled back", async () => {
    await fetchText("dashboard page with a migration", dashboardUrl);
    await fetchText("dashboard /api/state with a migration", new URL("/api/state", dashboardUrl));
    await fetchText("dashboard /metrics with a migration", new URL("/metrics", dashboardUrl));
    expectExit(await run(["verify", "--json", "--verbose", "--log-format", "json"]), 0);
    expectExit(await run(["complete", "--verbose", "--log-format", "json"]), 0);
    const latest = expectExit(await run(["latest", "--json", "--verbose"]), 0);
    expect((JSON.parse(latest.stdout) as { url: string }).url).toMatch(new RegExp(`^postgres://${ROLE}@localhost:`));
    expectExit(await run(["latest"]), 0);
    const file = await writeMigration("02_note", [{ add_column: { table: "accounts", column: { name: "note", type: "text", nullable: true } } }]);
    expectExit(await run(["start", file, "--verbose", "--log-format", "json"]), 0);
    expectExit(await run(["rollback", "--json", "--verbose", "--log-format", "json"]), 0);
    expectExit(await run(["status", "--json"], urlWithPasswordParameter), 0);
  }, 120_000);

  it("failures, with --verbose: a wrong password, a bad sslmode, a URL that does not parse, a database that does not exist, a refused command", async () => {
    const wrong = tls.url({ role: ROLE, password: WRONG_PASSWORD, database: "leakdb", params: { sslmode: "verify-full", sslrootcert: tls.certs.ca } });
    const refused = expectExit(await run(["status", "--json", "--verbose"], wrong), 1);
    // The place a password would show is there, masked.
    expect(refused.stderr).toMatch(new RegExp(`cannot connect to postgres://${ROLE}:\\*\\*\\*@localhost`));
    expectExit(await run(["status", "--verbose"], url.replace("sslmode=verify-full", "sslmode=bogus")), 2);
    expect(expectExit(await run(["status", "--verbose"], `postgres://${ROLE}:${encodeURIComponent(PASSWORD)}@[localhost/leakdb`), 2).stderr).toContain(":***@");
    const missing = expectExit(await run(["status", "--json", "--verbose"], urlWithPasswordParameter.replace("/leakdb?", "/nodb?")), 1);
    expect(missing.stderr).toContain("password=***");
    expectExit(await run(["complete", "--verbose", "--log-format", "json"]), 1);
    expectExit(await run(["start", join(dir, "nope.json"), "--verbose"]), 2);
  });

  it("the dashboard's output, and no row of the state schema and no function body", async () => {
    dashboard.child.kill("SIGINT");
    expect(await dashboard.exited).toBe(0);
    const admin = await connect(adminUrl);
    try {
      const { rows: tables } = await admin.query<{ table: string }>(
        "SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'underway' AND c.relkind IN ('r', 'p')",
      );
      expect(tables.length).toBeGreaterThan(0);
      for (const { table } of tables) {
        const { rows } = await admin.query<{ row: string }>(`SELECT t::text AS row FROM ${qualified("underway", table)} t`);
        record(`rows of underway.${table}`, rows.map((r) => r.row).join("\n"));
      }
      const { rows: functions } = await admin.query<{ src: string }>("SELECT string_agg(prosrc, E'\\n') AS src FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')");
      record("function bodies", functions[0]?.src ?? "");
      const { rows: comments } = await admin.query<{ c: string }>("SELECT coalesce(string_agg(description, E'\\n'), '') AS c FROM pg_description");
      record("comments", comments[0]!.c);
    } finally {
      await admin.end();
    }
    // What was searched is what a leak would be in: the migration's rows and logs are there.
    const everything = seen.map((s) => s.text).join("\n");
    expect(everything).toContain("01_widen");
    expect(everything).toContain("underway_backfill_rows_total");
    expect(everything).toMatch(/"level":/);
  });
});
