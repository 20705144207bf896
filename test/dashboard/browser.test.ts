import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { Migrator, type MigrationRecord } from "../../src/run/migrator.js";
import { startDashboard, type Dashboard } from "../../src/dashboard/dashboard.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { json, underway } from "../cli/run-cli.js";
import { sample } from "../observe/prometheus-text.js";
import { accountsTable, launchChromium, until, widenBalance } from "./fixture.js";

const SCREENSHOTS = join(import.meta.dirname, "__screenshots__");
const ROWS = 300_000;

/**
 * The dashboard as a person sees it, in headless Chromium: a slowed backfill of a few
 * hundred thousand rows runs in this process, the page shows its progress moving, the
 * Pause button pauses the job (as `underway status --json` tells), the throttle form and
 * Resume act on it too, and /metrics moves meanwhile. Screenshots are kept for a look.
 *
 * It needs Debian's /usr/bin/chromium, which `npm test` installs as root (scripts/test-setup.sh); it is never skipped.
 */
describe("the dashboard in Chromium", () => {
  let db: FreshDatabase;
  let dashboard: Dashboard;
  let context: BrowserContext;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  const problems: string[] = [];

  beforeAll(async () => {
    db = await freshDatabase("browser");
    await accountsTable(db.url, ROWS);
    dashboard = await startDashboard({ databaseUrl: db.url, port: 0 });
    browser = await launchChromium();
    context = browser.context;
    await mkdir(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await db?.drop();
  });

  const rowsShown = async (page: Page) => Number((await page.getByTestId("rows-done-accounts").textContent())!.replaceAll(",", ""));
  const status = async () => {
    const run = await underway(["status", "--json", "--database-url", db.url]);
    expect(run.code, run.stderr).toBe(0);
    return json<{ active: { name: string; phase: string } | null; jobs: { table: string; state: string; rowsDone: number; settings: { maxRate: number | null } }[] }>(run);
  };
  const scrapeRows = async () =>
    sample(await (await fetch(new URL("/metrics", dashboard.url))).text(), "underway_backfill_rows_total", { migration: "01_widen", table: "accounts" }) ?? 0;

  it("shows a running backfill move, and its controls pause, retune and resume it", async () => {
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));

    const migrator = new Migrator({ databaseUrl: db.url });
    let finished: MigrationRecord | undefined;
    const running = migrator.start(await widenBalance("01_widen"), { settings: { maxRate: 12_000 } }).then((record) => (finished = record));
    try {
      await page.goto(dashboard.urlWithToken);
      // The token is kept for this tab and taken out of the address bar.
      expect(new URL(page.url()).search).toBe("");
      await expect.poll(() => page.getByTestId("connection").textContent(), { timeout: 10_000 }).toBe("live");
      await page.getByTestId("rows-done-accounts").waitFor({ timeout: 20_000 });
      expect(await page.getByTestId("current-name").textContent()).toBe("01_widen");

      // Progress moves on the page without a reload.
      const firstShown = await until("rows on the page", async () => {
        const rows = await rowsShown(page);
        return rows > 0 ? rows : undefined;
      });
      await until("the page's row count to move", async () => (await rowsShown(page)) > firstShown, 10_000);

      // /metrics, scraped twice during the run, moves too.
      const firstScrape = await until("rows in /metrics", async () => ((await scrapeRows()) > 0 ? await scrapeRows() : undefined));
      await new Promise((r) => setTimeout(r, 2500));
      const secondScrape = await scrapeRows();
      expect(secondScrape).toBeGreaterThan(firstScrape);
      expect(secondScrape).toBeLessThan(ROWS);

      // Opened without the token, the page asks for it, and a wrong one is refused.
      const stranger = await context.newPage();
      try {
        await stranger.goto(dashboard.url);
        await expect.poll(() => stranger.getByTestId("connection").textContent(), { timeout: 10_000 }).toBe("live");
        await stranger.getByTestId("pause").click();
        expect(await stranger.getByTestId("control-result").textContent()).toMatch(/^Paste the token/);
        await stranger.getByTestId("token").fill("wrong-token-wrong-token");
        await stranger.getByTestId("pause").click();
        await expect.poll(() => stranger.getByTestId("control-result").textContent(), { timeout: 10_000 }).toMatch(/^pause refused: controls need the token/);
      } finally {
        await stranger.close();
      }
      expect((await status()).jobs[0]!.state).not.toBe("paused");

      // A few seconds of chart, then the picture a person would see.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await page.getByTestId("current-phase").textContent()).toBe("backfilling");
      expect(await page.locator("#rate-chart canvas").count()).toBe(1);
      expect(await page.locator("#lag-chart canvas").count()).toBe(1);
      expect(await page.locator("#timeline li.current").getAttribute("data-phase")).toBe("backfilling");
      await page.screenshot({ path: join(SCREENSHOTS, "dashboard-running.png"), fullPage: true });

      // Pause from the page: the job pauses, as `underway status --json` tells.
      await page.getByTestId("pause").click();
      await expect.poll(() => page.getByTestId("job-state-accounts").textContent(), { timeout: 10_000 }).toBe("paused");
      expect(await page.getByTestId("control-result").textContent()).toBe("pause: accounts");
      const paused = await status();
      expect(paused.active).toMatchObject({ name: "01_widen", phase: "backfilling" });
      expect(paused.jobs[0]).toMatchObject({ table: "accounts", state: "paused" });
      expect(await page.getByTestId("pause").isDisabled()).toBe(true);
      expect(await page.getByTestId("resume").isEnabled()).toBe(true);
      await page.screenshot({ path: join(SCREENSHOTS, "dashboard-paused.png"), fullPage: true });

      // Retune from the page: the job's limits change.
      await page.getByTestId("max-rate").fill("none");
      await page.getByTestId("apply-throttle").click();
      await expect.poll(async () => (await status()).jobs[0]!.settings.maxRate, { timeout: 10_000 }).toBeNull();

      // Resume from the page: this process's workers, which held while paused, carry on to the end.
      await page.getByTestId("resume").click();
      await running;
      expect(finished!.phase).toBe("ready");
      await expect.poll(() => page.getByTestId("job-state-accounts").textContent(), { timeout: 10_000 }).toBe("done");
      await expect.poll(() => page.getByTestId("current-phase").textContent(), { timeout: 10_000 }).toBe("ready");
      expect(await rowsShown(page)).toBe(ROWS);
      expect((await status()).jobs[0]).toMatchObject({ state: "done", rowsDone: ROWS });
      expect(await page.locator("#history tr").count()).toBe(1);
      expect(problems).toEqual([]);
    } finally {
      await migrator.cancel().catch(() => undefined);
      await running.catch(() => undefined);
      await page.close();
    }
  });
});
