import { Hono } from "hono";
import type { Context } from "hono";
import type { MigrationMetrics } from "./metrics.js";
import { startHttpServer, type HttpServer } from "./http-server.js";

/** The `/metrics` response: every metric in Prometheus's text format. */
export async function metricsResponse(c: Context, metrics: MigrationMetrics): Promise<Response> {
  return c.body(await metrics.text(), 200, { "content-type": metrics.contentType, "cache-control": "no-store" });
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
export function serveMetrics(metrics: MigrationMetrics, options: { port: number; host?: string }): Promise<HttpServer> {
  const app = new Hono();
  app.get("/metrics", (c) => metricsResponse(c, metrics));
  app.get("/", (c) => c.text("underway: metrics at /metrics\n"));
  return startHttpServer(app.fetch, options);
}
