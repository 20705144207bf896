import { request } from "node:http";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { UnderwayError } from "../../src/errors.js";
import { startDashboard, type Dashboard } from "../../src/dashboard/dashboard.js";
import type { DashboardSnapshot } from "../../src/dashboard/snapshot.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { sample } from "../observe/prometheus-text.js";
import { accountsTable, followEvents, until, widenBalance } from "./fixture.js";

const ROWS = 60_000;

/**
 * The dashboard server on a real database over real HTTP: the page and its assets, the
 * event stream (one poller on one connection whatever the number of browsers), the
 * controls (token first, then pause, resume, throttle and cancel on a running backfill),
 * /metrics from the state schema, and a database that goes away.
 */
describe("the dashboard server", () => {
  let db: FreshDatabase;
  let dashboard: Dashboard;
  const post = (path: string, body: unknown = {}, token: string | null = dashboard.token) =>
    fetch(new URL(path, dashboard.url), {
      method: "POST",
      headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
  const state = async () => ((await (await fetch(new URL("/api/state", dashboard.url))).json()) as { snapshot: DashboardSnapshot }).snapshot;

  beforeAll(async () => {
    db = await freshDatabase("dashboard");
    await accountsTable(db.url, ROWS);
    dashboard = await startDashboard({ databaseUrl: db.url, port: 0 });
  });
  afterAll(async () => {
    await dashboard?.close();
    await db?.drop();
  });

  it("serves the page, its script and uPlot from the package, under a strict content security policy", async () => {
    const page = await fetch(dashboard.url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="/assets/app.js" defer></script>');
    expect(html).not.toMatch(/https?:\/\//);
    const uplot = await fetch(new URL("/assets/uplot.js", dashboard.url));
    const shipped = await readFile(createRequire(import.meta.url).resolve("uplot/dist/uPlot.iife.min.js"));
    expect(Buffer.from(await uplot.arrayBuffer()).equals(shipped)).toBe(true);
    expect((await fetch(new URL("/assets/app.css", dashboard.url))).headers.get("content-type")).toMatch(/^text\/css/);
    expect((await fetch(new URL("/nothing", dashboard.url))).status).toBe(404);
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("answers only to localhost when bound to it, so a rebound DNS name cannot read it", async () => {
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL("/api/state", dashboard.url);
        request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
          .on("error", reject)
          .end();
      });
    expect(await status("evil.example:80")).toBe(403);
    expect(await status(`localhost:${new URL(dashboard.url).port}`)).toBe(200);
  });

  it("streams every look to every browser from one connection, at most once a second", async () => {
    const before = dashboard.poller.polls;
    const startedAt = Date.now();
    const browsers = Array.from({ length: 5 }, () => followEvents(new URL("/events", dashboard.url).toString()));
    await Promise.all(browsers.map((b) => b.opened));
    await until("three looks in every stream", () => browsers.every((b) => b.events.filter((e) => e.event === "snapshot").length >= 3), 10_000);
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    const { rows: sessions } = await admin
      .query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'underway dashboard'`, [db.name])
      .finally(() => admin.end());
    const elapsed = Date.now() - startedAt;
    const polls = dashboard.poller.polls - before;
    await Promise.all(browsers.map((b) => b.stop()));
    expect(sessions[0]!.n).toBe(1);
    // Five browsers, yet no more looks than seconds passed (plus the one due when they came).
    expect(polls).toBeLessThanOrEqual(Math.floor(elapsed / 1000) + 1);
    for (const browser of browsers) {
      expect(browser.events[0]!.event).toBe("hello");
      const hello = JSON.parse(browser.events[0]!.data) as { snapshot: DashboardSnapshot; samples: unknown[] };
      expect(hello.snapshot.schema).toBe("public");
      expect(Array.isArray(hello.samples)).toBe(true);
    }
    await until("the streams to be let go", () => dashboard.poller.subscribers === 0, 5000);
  });

  it("needs the token for its controls, which pause, resume, retune and cancel a running backfill", async () => {
    const migrator = new Migrator({ databaseUrl: db.url });
    const running = migrator.start(await widenBalance("01_widen"), { settings: { maxRate: 4000 } }).then(
      () => null,
      (error: unknown) => error,
    );
    try {
      await until("the backfill to run", async () => (await state()).jobs.find((j) => (j.state === "running" || j.state === "throttled") && j.rowsDone > 0));

      for (const token of [null, "not-the-token-at-all", `${dashboard.token}x`]) {
        const refused = await post("/api/pause", {}, token);
        expect(refused.status).toBe(401);
        expect(await refused.json()).toMatchObject({ ok: false, error: { code: "UNAUTHORIZED" } });
      }
      expect((await migrator.jobs()).jobs[0]!.state).not.toBe("paused");

      const paused = await post("/api/pause");
      expect(paused.status).toBe(200);
      expect(await paused.json()).toMatchObject({ ok: true, migration: "01_widen", tables: ["accounts"] });
      expect((await migrator.jobs()).jobs[0]!.state).toBe("paused");
      const seenPaused = await until("the page's data to show the pause", async () => (await state()).jobs.find((j) => j.state === "paused"), 5000);
      // Held within a second: the rows stop moving.
      await new Promise((r) => setTimeout(r, 1500));
      const heldAt = (await migrator.jobs()).jobs[0]!.rowsDone;
      await new Promise((r) => setTimeout(r, 1500));
      expect((await migrator.jobs()).jobs[0]!.rowsDone).toBe(heldAt);
      expect(heldAt).toBeLessThan(ROWS);
      expect(seenPaused.table).toBe("accounts");

      const nothingToPause = await post("/api/pause");
      expect(nothingToPause.status).toBe(409);
      expect(await nothingToPause.json()).toMatchObject({ ok: false, error: { code: "INVALID_STATE" } });

      const resumed = await post("/api/resume");
      expect(await resumed.json()).toMatchObject({ ok: true, tables: ["accounts"] });
      await until("rows to move again", async () => (await migrator.jobs()).jobs[0]!.rowsDone > heldAt, 10_000);

      const badRate = await post("/api/throttle", { maxRate: "fast" });
      expect(badRate.status).toBe(400);
      expect(await badRate.json()).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
      expect((await post("/api/throttle", {})).status).toBe(400);
      const retuned = await post("/api/throttle", { maxRate: "2500", maxLag: "64MB" });
      expect(await retuned.json()).toMatchObject({ ok: true, settings: { maxRate: 2500, maxLagBytes: 64 * 1024 * 1024, maxLagSeconds: null } });
      const settings = (await migrator.jobs()).jobs[0]!.settings;
      expect(settings).toMatchObject({ maxRate: 2500, maxLagBytes: 64 * 1024 * 1024 });
      await until("the page's data to show the new limits", async () => (await state()).jobs[0]?.settings.maxRate === 2500, 5000);

      const cancelled = await post("/api/cancel");
      expect(await cancelled.json()).toMatchObject({ ok: true, tables: ["accounts"] });
      const outcome = await running;
      expect(outcome).toBeInstanceOf(UnderwayError);
      expect((outcome as UnderwayError).code).toBe("BACKFILL_ABORTED");
      expect((await migrator.jobs()).jobs[0]!.state).toBe("cancelled");
      // Resume from the dashboard only sets paused jobs running; a cancelled one needs `underway resume`.
      expect((await post("/api/resume")).status).toBe(409);
    } finally {
      await running;
      await migrator.rollback();
    }
  });

  it("serves /metrics from the state schema, moving while a backfill runs", async () => {
    const migrator = new Migrator({ databaseUrl: db.url });
    let failed: unknown;
    const running = migrator.start(await widenBalance("02_widen"), { settings: { maxRate: 3000 } }).catch((error: unknown) => {
      failed = error;
      return null;
    });
    const metricsUrl = new URL("/metrics", dashboard.url);
    const job = { migration: "02_widen", table: "accounts" };
    const scrape = async () => {
      const response = await fetch(metricsUrl);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      return response.text();
    };
    // One follower (as a browser would be) keeps the looks coming every second.
    const unfollow = dashboard.poller.subscribe(() => undefined);
    // Under a max-rate the job is running or, between batches, held by it. (Between two of
    // its ranges a lone worker holds none, and `jobs` calls the job interrupted for a moment.)
    const live = (text: string) => ["running", "throttled"].reduce((n, state) => n + (sample(text, "underway_backfill_job_state", { ...job, state }) ?? 0), 0);
    const first = await until("the running job in /metrics", async () => {
      if (failed) throw failed;
      const text = await scrape();
      const rows = sample(text, "underway_backfill_rows_total", job);
      return rows !== undefined && rows > 0 && live(text) === 1 ? { text, rows } : undefined;
    }, 15_000);
    expect(sample(first.text, "underway_migration_phase", { migration: "02_widen", phase: "backfilling" })).toBe(1);
    expect(sample(first.text, "underway_backfill_rows_per_second", job)).toBeGreaterThanOrEqual(0);
    expect(sample(first.text, "underway_backfill_rows_remaining", job)).toBeGreaterThan(0);
    expect(sample(first.text, "underway_state_polls_total", { result: "ok" })).toBeGreaterThan(0);
    expect(sample(first.text, "underway_dashboard_clients")).toBe(1);
    const second = await until("the counter to move", async () => {
      const text = await scrape();
      const rows = sample(text, "underway_backfill_rows_total", job)!;
      return rows > first.rows && live(text) === 1 ? { text, rows } : undefined;
    }, 15_000);
    expect(second.rows).toBeGreaterThan(first.rows);
    expect(sample(second.text, "underway_backfill_rows_per_second", job)).toBeGreaterThan(0);
    await migrator.throttle({ maxRate: null });
    expect(await running, String(failed)).not.toBeNull();
    unfollow();
    dashboard.poller.refresh();
    // A look already under way when start returned can show the job done and the phase not yet ready.
    await until("the finished job and the ready phase in /metrics", async () => {
      const text = await scrape();
      return sample(text, "underway_backfill_job_state", { ...job, state: "done" }) === 1 &&
        sample(text, "underway_migration_phase", { migration: "02_widen", phase: "ready" }) === 1;
    }, 15_000);
    const done = await scrape();
    expect(sample(done, "underway_backfill_rows_total", job)).toBe(ROWS);
    expect(sample(done, "underway_migration_phase", { migration: "02_widen", phase: "ready" })).toBe(1);
    expect(sample(done, "underway_migration_steps_done", { migration: "02_widen", action: "start" })).toBe(
      sample(done, "underway_migration_steps", { migration: "02_widen", action: "start" }),
    );
    const snapshot = await state();
    expect(snapshot.current).toMatchObject({ name: "02_widen", phase: "ready", active: true, action: "start" });
    expect(snapshot.current!.timeline.map((t) => [t.phase, t.state])).toEqual([
      ["started", "done"],
      ["backfilling", "done"],
      ["ready", "current"],
      ["completing", "pending"],
      ["completed", "pending"],
    ]);
    expect(snapshot.current!.timeline.slice(0, 3).every((t) => t.at !== null)).toBe(true);
    expect(snapshot.migrations.map((m) => [m.name, m.phase])).toEqual([
      ["02_widen", "ready"],
      ["01_widen", "rolled_back"],
    ]);
    await migrator.complete();
  });

  it("keeps serving its last look, with the error, when the database goes away", async () => {
    const gone = await freshDatabase("dashboard_gone");
    const watching = await startDashboard({ databaseUrl: gone.url, port: 0 });
    try {
      const first = (await (await fetch(new URL("/api/state", watching.url))).json()) as { snapshot: DashboardSnapshot };
      expect(first.snapshot).toMatchObject({ initialized: false, error: null, migrations: [] });
      await gone.drop();
      watching.poller.refresh();
      const failed = await until("the look to fail", async () => {
        const { snapshot } = (await (await fetch(new URL("/api/state", watching.url))).json()) as { snapshot: DashboardSnapshot };
        return snapshot.error ? snapshot : undefined;
      }, 15_000);
      expect(failed.error).toMatch(/database|terminat|connect/i);
      expect(sample(await (await fetch(new URL("/metrics", watching.url))).text(), "underway_state_polls_total", { result: "error" })).toBeGreaterThan(0);
    } finally {
      await watching.close();
    }
  });
});
