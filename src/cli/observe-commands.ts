import { databaseUrlFrom } from "./database-url.js";
import type { Command } from "commander";
import type { DestinationStream } from "pino";
import { UnderwayError } from "../errors.js";
import type { MigrationRecord } from "../run/migrator.js";
import type { MigrationEvent } from "../run/step-runner.js";
import type { VerifyReport } from "../verify/verify.js";
import { EventLog, createLogger, parseLogFormat, type LogFormat } from "../observe/event-log.js";
import { EventMetrics, chainListeners } from "../observe/event-metrics.js";
import { createMetrics } from "../observe/metrics.js";
import type { HttpServer } from "../observe/http-server.js";
import { DEFAULT_DASHBOARD_PORT, isLoopback } from "../dashboard/address.js";
// These two load the HTTP server (and the dashboard) on their first call, not with this module.
import { serveMetrics, startDashboard } from "../on-demand.js";
import type { ProgressPrinter } from "../observe/progress-printer.js";

/** The flags `observeOptions` adds. */
export interface ObserveFlags {
  metricsPort?: string;
  metricsHost?: string;
  logFormat?: string;
}

/**
 * Adds `--metrics-port`, `--metrics-host` and `--log-format` to a command that runs a
 * migration (`start`, `resume`, and any other that takes a Migrator's events).
 */
export function observeOptions(command: Command): Command {
  return command
    .option("--metrics-port <port>", "serve Prometheus metrics at http://<metrics-host>:<port>/metrics while the command runs")
    .option("--metrics-host <address>", "address for --metrics-port (default: this machine only)", "127.0.0.1")
    .option("--log-format <format>", "progress on stderr as text (for people) or json (one JSON object a line)", "text");
}

/** How one command run is watched: where its events go, and its metrics server if asked for. */
export interface RunObservation {
  /** Give this to the Migrator as `onEvent`. */
  readonly onEvent: (event: MigrationEvent) => void;
  readonly logFormat: LogFormat;
  /** The `/metrics` address, with `--metrics-port`. */
  readonly metricsUrl: string | null;
  /** Records where the command left the migration (what start/resume/complete/rollback returned); returns it. */
  record<R extends MigrationRecord>(record: R): R;
  /**
   * Records a verification (`verify`, or the one `complete` runs). Without the migration's
   * name (complete's `onVerified` does not give it) it is recorded once `record` names it.
   */
  verified(report: VerifyReport, migration?: string): void;
  /** Logs the failure that ends the command (JSON logs only: text mode leaves it to the one-line error). */
  fail(error: unknown): void;
  /** Stops the metrics server. */
  close(): Promise<void>;
}

/**
 * Sets up the logs and metrics of one command run from its flags: with `--log-format json`
 * events become pino JSON lines on stderr (each with migration, phase, step and table),
 * otherwise they go to the progress printer; with `--metrics-port` a `/metrics` server
 * runs until `close`.
 *
 * @example
 * const observation = await observeRun(options, printer, { migration: file.name });
 * try {
 *   const record = await migratorFor(options, printer, observation.onEvent).start(file);
 *   observation.record(record);
 * } catch (error) {
 *   observation.fail(error);
 *   throw error;
 * } finally {
 *   await observation.close();
 * }
 */
/**
 * Runs `run` with the observation of `observeRun`, logging a failure and stopping the
 * metrics server however it ends.
 *
 * @example
 * const record = await withObservation(options, printer, { migration: file.name }, async (observation) =>
 *   observation.record(await migratorFor(options, printer, observation.onEvent).start(file)),
 * );
 */
export async function withObservation<T>(
  flags: ObserveFlags,
  printer: ProgressPrinter,
  context: { migration?: string; logStream?: DestinationStream },
  run: (observation: RunObservation) => Promise<T>,
): Promise<T> {
  const observation = await observeRun(flags, printer, context);
  try {
    return await run(observation);
  } catch (error) {
    observation.fail(error);
    throw error;
  } finally {
    await observation.close();
  }
}

export async function observeRun(
  flags: ObserveFlags,
  printer: ProgressPrinter,
  context: { migration?: string; logStream?: DestinationStream } = {},
): Promise<RunObservation> {
  const logFormat = parseLogFormat(flags.logFormat ?? "text");
  const port = flags.metricsPort === undefined ? undefined : parsePort(flags.metricsPort, "--metrics-port");
  const log = logFormat === "json" ? new EventLog({ format: "json", migration: context.migration, stream: context.logStream }) : undefined;
  const metrics = port === undefined ? undefined : createMetrics({ processMetrics: true });
  const observed = metrics ? new EventMetrics(metrics, { migration: context.migration }) : undefined;
  let server: HttpServer | undefined;
  if (metrics && port !== undefined) {
    server = await serveMetrics(metrics, { port, host: flags.metricsHost ?? "127.0.0.1" });
    const url = `${server.url}/metrics`;
    if (log) log.logger.info({ metricsUrl: url }, `metrics at ${url}`);
    else printer.line(`metrics at ${url}`);
  }
  // complete's onVerified does not name the migration: its metrics wait for `record` to.
  let unnamed: VerifyReport[] = [];
  const flush = (migration: string | undefined) => {
    for (const report of unnamed) observed?.verified(report, migration);
    unnamed = [];
  };
  return {
    onEvent: chainListeners(log ? log.onEvent : printer.onEvent, observed?.onEvent),
    logFormat,
    metricsUrl: server ? `${server.url}/metrics` : null,
    record(record) {
      flush(record.name);
      observed?.record(record);
      log?.record(record);
      return record;
    },
    verified(report, migration) {
      const name = migration ?? context.migration;
      if (name === undefined) unnamed.push(report);
      else observed?.verified(report, name);
      const bad = report.tables.reduce((n, t) => n + t.mismatches, 0);
      const rows = report.tables.reduce((n, t) => n + t.rowsChecked, 0);
      log?.logger[report.ok ? "info" : "error"](
        { ...(name === undefined ? {} : { migration: name }), rowsChecked: rows, mismatches: bad },
        `verified ${rows} rows: ${bad} mismatching`,
      );
    },
    fail(error) {
      flush(undefined);
      log?.failed(error);
    },
    async close() {
      await server?.close();
    },
  };
}

interface DashboardFlags {
  databaseUrl?: string;
  schema: string;
  stateSchema: string;
  port: string;
  host: string;
  token?: string;
  tlsCert?: string;
  tlsKey?: string;
  logFormat: string;
  json?: boolean;
}

/**
 * Adds `underway dashboard`. `connectionOptions` is the CLI's helper that adds the shared
 * connection flags (`--database-url`, `--schema`, `--state-schema`, `--json`, ...).
 *
 * @example
 * registerObserveCommands(program, connectionOptions);
 */
export function registerObserveCommands(program: Command, connectionOptions: (command: Command) => Command): void {
  connectionOptions(
    program
      .command("dashboard")
      .description("serve a live web dashboard of the migrations (history, phases, backfill progress, throttle, controls) and /metrics")
      .option("--port <port>", "port to listen on (0: any free port)", String(DEFAULT_DASHBOARD_PORT))
      .option("--host <address>", "address to bind (default: this machine only)", "127.0.0.1")
      .option("--tls-cert <file>", "serve HTTPS with this PEM certificate (with --tls-key; required for a --host other machines reach)")
      .option("--tls-key <file>", "the PEM private key of --tls-cert")
      .option("--token <token>", "the token the controls need (default: $UNDERWAY_DASHBOARD_TOKEN, else a random one)")
      .option("--log-format <format>", "log lines on stderr as text or json", "text"),
  ).action(async (options: DashboardFlags) => {
    const databaseUrl = databaseUrlFrom(options);
    const format = parseLogFormat(options.logFormat);
    const port = parsePort(options.port, "--port");
    const tls = await readTls(options);
    const logger = createLogger({ format, context: () => ({ schema: options.schema }) });
    const dashboard = await startDashboard({
      databaseUrl,
      schema: options.schema,
      stateSchema: options.stateSchema,
      port,
      host: options.host,
      ...(tls ? { tls } : {}),
      token: options.token ?? (process.env.UNDERWAY_DASHBOARD_TOKEN || undefined),
      log: logger,
    });
    const metricsUrl = `${dashboard.url}metrics`;
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ url: dashboard.url, urlWithToken: dashboard.urlWithToken, token: dashboard.token, metricsUrl })}\n`);
    }
    if (format === "json") {
      logger.info({ url: dashboard.url, urlWithToken: dashboard.urlWithToken, metricsUrl }, `dashboard at ${dashboard.url} (controls need the token in urlWithToken)`);
    } else {
      process.stderr.write(
        `underway dashboard: ${dashboard.urlWithToken}\n` +
          `  controls need this token: ${dashboard.token}\n` +
          `  metrics: ${metricsUrl}\n` +
          `  Ctrl-C stops it\n`,
      );
    }
    if (!isLoopback(options.host)) {
      logger.warn(`listening on ${options.host}: whoever reaches it sees the dashboard (over TLS; the controls still need the token)`);
    }
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await dashboard.close();
    if (format === "json") logger.info("dashboard stopped");
  });
}

/** The certificate and key of `--tls-cert` / `--tls-key`: both or neither. */
async function readTls(options: { tlsCert?: string; tlsKey?: string }): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (options.tlsCert === undefined && options.tlsKey === undefined) return undefined;
  if (options.tlsCert === undefined || options.tlsKey === undefined) {
    throw new UnderwayError("INVALID_ARGUMENT", `--tls-cert and --tls-key go together: give ${options.tlsCert === undefined ? "--tls-cert" : "--tls-key"} too`);
  }
  const { readFile } = await import("node:fs/promises");
  const read = async (path: string, flag: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new UnderwayError("INVALID_ARGUMENT", `${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
    }
  };
  return { cert: await read(options.tlsCert, "--tls-cert"), key: await read(options.tlsKey, "--tls-key") };
}

function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UnderwayError("INVALID_ARGUMENT", `${flag} must be a port number from 0 to 65535, got "${text}"`);
  }
  return port;
}
