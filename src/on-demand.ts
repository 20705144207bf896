/**
 * The public functions that start HTTP servers or throwaway PostgreSQL clusters. Each one
 * imports its implementation when first called, so `import "underway"` loads no HTTP
 * framework, no server and no PostgreSQL binaries: a program that only runs migrations
 * never pays for them, and neither does a CLI command that does not use them.
 */
import type { Dashboard, DashboardOptions } from "./dashboard/dashboard.js";
import type { HttpServer } from "./observe/http-server.js";
import type { MigrationMetrics } from "./observe/metrics.js";
import type { RehearsalOptions, RehearsalReport } from "./rehearse/rehearsal.js";

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
  const dashboard = await import("./dashboard/dashboard.js");
  return dashboard.startDashboard(options);
}

/**
 * Serves `/metrics` alone, for `start` / `resume --metrics-port` (the dashboard serves it
 * beside its page). Binds 127.0.0.1 unless told otherwise.
 *
 * @example
 * const server = await serveMetrics(metrics, { port: 9464 });
 * // ... run the migration ...
 * await server.close();
 */
export async function serveMetrics(metrics: MigrationMetrics, options: { port: number; host?: string }): Promise<HttpServer> {
  const server = await import("./observe/metrics-server.js");
  return server.serveMetrics(metrics, options);
}

/**
 * Runs a rehearsal and returns its report; throws only when it cannot run at all (no
 * PostgreSQL binaries, an unreadable source, an invalid migration file, masking rules
 * that do not fit the source or leave personal-looking columns without a rule).
 *
 * @example
 * const report = await rehearse({ file: "migrations/02_rename.yaml", from: process.env.DATABASE_URL, sample: 0.01, mask: { file: "masks.yaml" } });
 * if (!report.ok) process.exitCode = 1;
 */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalReport> {
  const rehearsal = await import("./rehearse/rehearsal.js");
  return rehearsal.rehearse(options);
}
