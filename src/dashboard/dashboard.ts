import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import type { Logger } from "pino";
import { UnderwayError } from "../errors.js";
import { DEFAULT_DASHBOARD_PORT, isLoopback } from "./address.js";
import { createMetrics, type MigrationMetrics } from "../observe/metrics.js";
import { LOOPBACK, startHttpServer, type TlsFiles } from "../observe/http-server.js";
import { DashboardControls } from "./controls.js";
import { createDashboardApp } from "./server.js";
import { StatePoller } from "./state-poller.js";
import { loadAssets } from "./static-assets.js";

export interface DashboardOptions {
  databaseUrl: string;
  schema?: string;
  stateSchema?: string;
  /** Default 7432; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: this machine only. */
  host?: string;
  /** Serve HTTPS with this certificate and key; required for an address other machines reach. */
  tls?: TlsFiles;
  /** The control token; a random one when left out. */
  token?: string;
  /** Logs control actions. */
  log?: Logger;
  /** Defaults to a fresh set with the process metrics. */
  metrics?: MigrationMetrics;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's address, without the token. */
  url: string;
  /** The address that opens the page with its controls unlocked. */
  urlWithToken: string;
  token: string;
  poller: StatePoller;
  metrics: MigrationMetrics;
  close(): Promise<void>;
}

export { DEFAULT_DASHBOARD_PORT, isLoopback } from "./address.js";

/**
 * Starts `underway dashboard`: one poller on one connection to the state schema, the page,
 * the event stream and `/metrics` over HTTP. It watches migrations other processes run and
 * changes their jobs only through the controls; it never runs a migration or a backfill.
 *
 * @example
 * const dashboard = await startDashboard({ databaseUrl: process.env.DATABASE_URL! });
 * console.log(`open ${dashboard.urlWithToken}`);
 * // ... later
 * await dashboard.close();
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const schema = options.schema ?? "public";
  const stateSchema = options.stateSchema ?? "underway";
  const host = options.host ?? LOOPBACK;
  const token = options.token ?? randomBytes(18).toString("base64url");
  if (!/^[A-Za-z0-9._~-]{16,}$/.test(token)) {
    throw new UnderwayError("INVALID_ARGUMENT", "the dashboard token must be at least 16 characters of letters, digits, '.', '_', '~' or '-'");
  }
  if (!options.tls && !isLoopback(host)) {
    // Over plain HTTP on a network the token that unlocks the controls travels in clear text.
    throw new UnderwayError("INVALID_ARGUMENT", `the dashboard serves ${host}, which other machines reach, only over TLS: give --tls-cert and --tls-key (or bind 127.0.0.1)`);
  }
  const metrics = options.metrics ?? createMetrics({ processMetrics: true });
  const assets = await loadAssets();
  const poller = new StatePoller({ databaseUrl: options.databaseUrl, schema, stateSchema, metrics });
  await poller.start();
  const app = createDashboardApp({
    poller,
    controls: new DashboardControls({ databaseUrl: options.databaseUrl, schema, stateSchema }),
    metrics,
    assets,
    token,
    allowedHosts: isLoopback(host) ? new Set(["localhost", "127.0.0.1", "[::1]", isIP(host) === 6 ? `[${host}]` : host]) : undefined,
    log: options.log,
  });
  let server;
  try {
    server = await startHttpServer(app.fetch, { port: options.port ?? DEFAULT_DASHBOARD_PORT, host, tls: options.tls });
  } catch (error) {
    await poller.close();
    throw error;
  }
  const scheme = options.tls ? "https" : "http";
  const page = isIP(host) === 6 ? `${scheme}://[${host}]:${server.port}/` : `${scheme}://${host}:${server.port}/`;
  return {
    url: page,
    urlWithToken: `${page}?token=${token}`,
    token,
    poller,
    metrics,
    async close() {
      await server.close();
      await poller.close();
    },
  };
}
