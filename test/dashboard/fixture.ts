import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { chromium, type BrowserContext } from "playwright-core";
import type { MigrationFile } from "../../src/format/load.js";
import { migrationFile } from "../support/migrations.js";

/** Creates `accounts (id bigint PRIMARY KEY, balance integer)` with `rows` rows, as the database's owner. */
export async function accountsTable(url: string, rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE accounts (id bigint PRIMARY KEY, balance integer NOT NULL)`);
    await client.query(`INSERT INTO accounts SELECT g, g % 1000 FROM generate_series(1, ${rows}) g`);
    await client.query(`ANALYZE accounts`);
  } finally {
    await client.end();
  }
}

/** A migration that widens `accounts.balance` to bigint and triples it: one backfill of every row. */
export function widenBalance(name: string): Promise<MigrationFile> {
  return migrationFile(name, [
    { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } },
  ]);
}

/** Polls `probe` every 100 ms until it returns something truthy. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One server-sent event. */
export interface StreamedEvent {
  event: string;
  data: string;
}

/**
 * Follows an event stream as a browser's EventSource would, collecting its events until
 * `stop` is called; `events` grows as they arrive.
 */
export function followEvents(url: string): { events: StreamedEvent[]; stop(): Promise<void>; opened: Promise<void> } {
  const controller = new AbortController();
  const events: StreamedEvent[] = [];
  let resolveOpened!: () => void;
  let rejectOpened!: (error: unknown) => void;
  const opened = new Promise<void>((resolve, reject) => {
    resolveOpened = resolve;
    rejectOpened = reject;
  });
  const reading = (async () => {
    const response = await fetch(url, { signal: controller.signal, headers: { accept: "text/event-stream" } });
    if (response.status !== 200 || !response.body) throw new Error(`event stream answered ${response.status}`);
    resolveOpened();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split("\n");
        const event = lines.find((l) => l.startsWith("event:"))?.slice(6).trim();
        const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
        if (event) events.push({ event, data });
      }
    }
  })().catch((error: unknown) => {
    rejectOpened(error);
    if (!controller.signal.aborted) throw error;
  });
  return {
    events,
    opened,
    async stop() {
      controller.abort();
      await reading.catch(() => undefined);
    },
  };
}

/** Debian's chromium, which `npm test` installs (scripts/test-setup.sh); playwright-core brings no browser of its own. */
export const CHROMIUM = "/usr/bin/chromium";

/** Headless Chromium in a fresh profile, as the browser tests drive it. `close` removes the profile too. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), "underway-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1050 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    return {
      context,
      async close() {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
