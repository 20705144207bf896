/**
 * `underway/observe`: Prometheus metrics and structured logs from a migration's events,
 * and the `/metrics` server. The metrics library, the logger and the HTTP server load when
 * first used (`createMetrics`, `createLogger`, `serveMetrics`), not with this module.
 *
 * @example
 * import { Migrator } from "underway";
 * import { createMetrics, EventMetrics } from "underway/observe";
 * const observed = new EventMetrics(createMetrics(), { migration: file.name });
 * const migrator = new Migrator({ databaseUrl, onEvent: observed.onEvent });
 */
export { createMetrics, MigrationMetrics } from "./observe/metrics.js";
export type { BackfillSample, MetricsOptions } from "./observe/metrics.js";
export { EventMetrics, metricsListener, chainListeners } from "./observe/event-metrics.js";
export { EventLog, createLogger } from "./observe/event-log.js";
export type { LogFormat, LogContext } from "./observe/event-log.js";
export { serveMetrics } from "./on-demand.js";
export type { ObservedPhase } from "./observe/phase.js";
