import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launch } from "../support/cli.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { json, scratchDir, underway, writeMigration } from "../cli/run-cli.js";
import { sample } from "../observe/prometheus-text.js";
import { accountsTable, until } from "./fixture.js";

/**
 * The observe commands through the built binary: `underway dashboard`, and `start` with
 * `--metrics-port` and `--log-format json`.
 */
describe("underway dashboard and --metrics-port, through the binary", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("observe_cli");
    await accountsTable(db.url, 50_000);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("serves the page and /metrics on 127.0.0.1 with a printed token, and stops on SIGINT", async () => {
    const run = launch(["dashboard", "--port", "0", "--json", "--database-url", db.url]);
    try {
      const started = JSON.parse(await until("the address on stdout", () => run.lines[0], 20_000)) as { url: string; urlWithToken: string; token: string; metricsUrl: string };
      expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(started.urlWithToken).toBe(`${started.url}?token=${started.token}`);
      // stderr is a pipe of its own: its line may come in after stdout's.
      await until("the token on stderr", () => run.stderr().includes(`controls need this token: ${started.token}`) || undefined, 20_000);
      expect((await fetch(started.url)).status).toBe(200);
      expect(await (await fetch(started.metricsUrl)).text()).toContain("underway_state_polls_total");
      const refused = await fetch(new URL("/api/pause", started.url), { method: "POST", headers: { authorization: "Bearer nope-nope-nope-nope" } });
      expect(refused.status).toBe(401);
      const noMigration = await fetch(new URL("/api/pause", started.url), { method: "POST", headers: { authorization: `Bearer ${started.token}` } });
      expect(noMigration.status).toBe(409);
    } finally {
      run.child.kill("SIGINT");
    }
    expect(await run.exited).toBe(0);
  });

  it("refuses a bad port or log format as a usage error", async () => {
    for (const args of [["--port", "99999"], ["--log-format", "xml"]]) {
      const run = await underway(["dashboard", ...args, "--database-url", db.url]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.errorLines).toHaveLength(1);
    }
  });

  it("start --metrics-port serves moving counters while it runs, --log-format json logs JSON lines", async () => {
    const dir = await scratchDir();
    const file = await writeMigration(dir, "01_widen.yaml", [
      { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } },
    ]);
    const run = launch(["start", file, "--max-rate", "10000", "--metrics-port", "0", "--log-format", "json", "--json", "--database-url", db.url]);
    const metricsUrl = await until("the metrics address in the logs", () => /"metricsUrl":"([^"]+)"/.exec(run.stderr())?.[1], 20_000);
    const rows = async () => sample(await (await fetch(metricsUrl)).text(), "underway_backfill_rows_total", { migration: "01_widen", table: "accounts" }) ?? 0;
    const first = await until("rows in /metrics", async () => {
      const n = await rows();
      return n > 0 ? n : undefined;
    }, 20_000);
    await until("the counter to move", async () => (await rows()) > first, 10_000);
    expect(await run.exited).toBe(0);
    const logs = run
      .stderr()
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const record of logs) expect(Object.keys(record)).toEqual(expect.arrayContaining(["level", "time", "msg", "migration", "phase", "step", "table"]));
    expect(logs.some((r) => r.table === "accounts" && r.phase === "backfilling" && typeof r.rowsDone === "number")).toBe(true);
    expect(logs.at(-1)).toMatchObject({ migration: "01_widen", phase: "ready" });
    const status = json<{ active: { phase: string } }>(await underway(["status", "--json", "--database-url", db.url]));
    expect(status.active.phase).toBe("ready");
    expect((await underway(["rollback", "--database-url", db.url])).code).toBe(0);
  });
});
