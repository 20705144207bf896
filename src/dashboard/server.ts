import { createHash, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { streamSSE } from "hono/streaming";
import type { Logger } from "pino";
import { Gauge } from "prom-client";
import { toUnderwayError, type UnderwayErrorCode } from "../errors.js";
import type { MigrationMetrics } from "../observe/metrics.js";
import { metricsResponse } from "../observe/metrics-server.js";
import type { ControlCaller, ControlResult, DashboardControls, ThrottleRequest } from "./controls.js";
import type { StatePoller } from "./state-poller.js";
import type { Asset } from "./static-assets.js";

export interface DashboardAppOptions {
  poller: StatePoller;
  controls: DashboardControls;
  metrics: MigrationMetrics;
  assets: Map<string, Asset>;
  /** Control actions need `Authorization: Bearer <token>`. */
  token: string;
  /**
   * Host names (as in the Host header, without port; IPv6 in brackets) the server answers
   * to; any when left out. For a loopback address: its own name and localhost's.
   */
  allowedHosts?: ReadonlySet<string>;
  log?: Logger;
  /** Seconds between keep-alive comments on an idle event stream (default 15). */
  keepAliveSeconds?: number;
}

/**
 * Content Security Policy: the page loads nothing but its own files, runs no inline
 * script, and cannot be framed.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The HTTP status an error code stands for. */
export function httpStatusFor(code: UnderwayErrorCode): 400 | 409 | 423 | 500 | 503 {
  switch (code) {
    case "INVALID_ARGUMENT":
    case "INVALID_MIGRATION":
      return 400;
    case "INVALID_STATE":
    case "CHECKSUM_MISMATCH":
    case "BACKFILL_ABORTED":
      return 409;
    case "MIGRATION_LOCKED":
      return 423;
    case "CONNECTION":
      return 503;
    default:
      return 500;
  }
}

/**
 * The dashboard's HTTP interface (Hono):
 *
 * - `GET /`, `/assets/*`: the page, its script and style, uPlot.
 * - `GET /events`: server-sent events; `hello` with the current snapshot and the chart
 *   history, then `snapshot` after every look the poller takes (one look for all browsers).
 * - `GET /api/state`: the same, once, as JSON.
 * - `GET /metrics`: Prometheus.
 * - `POST /api/pause`, `/api/resume`, `/api/cancel`, `/api/throttle` (`{ maxRate, maxLag }`):
 *   the controls, with `Authorization: Bearer <token>`.
 */
export function createDashboardApp(options: DashboardAppOptions): Hono {
  const { poller, controls, metrics, assets, log } = options;
  new Gauge({
    name: "underway_dashboard_clients",
    help: "Browsers following the dashboard's event stream",
    registers: [metrics.registry],
    collect() {
      this.set(poller.subscribers);
    },
  });
  const app = new Hono();

  app.use(async (c, next) => {
    if (options.allowedHosts && !options.allowedHosts.has(hostOf(c.req.header("host")))) {
      // A page elsewhere that rebinds its DNS name to 127.0.0.1 must not read the dashboard.
      return c.text("underway dashboard: this server only answers to localhost\n", 403);
    }
    await next();
    c.header("content-security-policy", CSP);
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "no-referrer");
    c.header("x-frame-options", "DENY");
  });

  for (const [path, asset] of assets) {
    app.get(path, (c) => c.body(asset.body as Uint8Array<ArrayBuffer>, 200, { "content-type": asset.contentType, "cache-control": "no-cache" }));
  }

  app.get("/api/state", (c) => c.json({ snapshot: poller.snapshot(), samples: poller.samples() }, 200, { "cache-control": "no-store" }));

  app.get("/metrics", (c) => metricsResponse(c, metrics));

  app.get("/events", (c) => {
    c.header("cache-control", "no-store");
    return streamSSE(c, async (stream) => {
      const queue: string[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = poller.subscribe((update) => {
        queue.push(JSON.stringify(update));
        // A browser that stops reading keeps only the latest looks, not an ever longer backlog.
        if (queue.length > 10) queue.splice(0, queue.length - 10);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      try {
        await stream.writeSSE({ event: "hello", data: JSON.stringify({ snapshot: poller.snapshot(), samples: poller.samples() }) });
        const keepAliveMs = (options.keepAliveSeconds ?? 15) * 1000;
        while (!stream.aborted && !stream.closed) {
          const next = queue.shift();
          if (next !== undefined) {
            await stream.writeSSE({ event: "snapshot", data: next });
            continue;
          }
          const woken = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), keepAliveMs);
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          wake = undefined;
          if (!woken && !stream.aborted) await stream.write(": keep-alive\n\n");
        }
      } finally {
        unsubscribe();
      }
    });
  });

  const control = (name: string, act: (c: Context, from: ControlCaller) => Promise<ControlResult>) =>
    app.post(`/api/${name}`, requireToken(options.token), async (c) => {
      try {
        const result = await act(c, callerOf(c));
        log?.info({ control: name, tables: result.tables, settings: result.settings, migration: result.migration }, `${name} from the dashboard: ${result.tables.join(", ")}`);
        poller.refresh();
        return c.json({ ok: true, ...result });
      } catch (error) {
        const failure = toUnderwayError(error);
        log?.warn({ control: name, code: failure.code }, `${name} from the dashboard refused: ${failure.message}`);
        return c.json({ ok: false, error: { code: failure.code, message: failure.message } }, httpStatusFor(failure.code));
      }
    });
  control("pause", (_c, from) => controls.pause(from));
  control("resume", (_c, from) => controls.resume(from));
  control("cancel", (_c, from) => controls.cancel(from));
  control("throttle", async (c, from) => controls.throttle(await throttleBody(c), from));

  app.notFound((c) => c.json({ ok: false, error: { code: "NOT_FOUND", message: `no ${c.req.method} ${c.req.path}` } }, 404));
  return app;
}

function requireToken(token: string): MiddlewareHandler {
  const expected = createHash("sha256").update(token).digest();
  return async (c, next) => {
    const given = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!given || !timingSafeEqual(createHash("sha256").update(given).digest(), expected)) {
      return c.json(
        { ok: false, error: { code: "UNAUTHORIZED", message: "controls need the token underway dashboard printed at start (Authorization: Bearer <token>)" } },
        401,
        { "www-authenticate": 'Bearer realm="underway dashboard"' },
      );
    }
    await next();
  };
}

async function throttleBody(c: Context): Promise<ThrottleRequest> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    body = null;
  }
  if (typeof body !== "object" || body === null) return {};
  const { maxRate, maxLag } = body as Record<string, unknown>;
  const request: ThrottleRequest = {};
  if (typeof maxRate === "string" || typeof maxRate === "number" || maxRate === null) request.maxRate = maxRate;
  if (typeof maxLag === "string" || maxLag === null) request.maxLag = maxLag;
  return request;
}

/** The address a control came from (Node's server gives the request as `incoming`), for the audit trail. */
function callerOf(c: Context): ControlCaller {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string; remotePort?: number } } } | undefined)?.incoming;
  const address = incoming?.socket?.remoteAddress;
  return address ? { remote: incoming?.socket?.remotePort ? `${address}:${incoming.socket.remotePort}` : address } : {};
}

/** The host name of a Host header, without its port. */
function hostOf(header: string | undefined): string {
  if (!header) return "";
  const value = header.trim().toLowerCase();
  if (value.startsWith("[")) return value.slice(0, value.indexOf("]") + 1);
  return value.replace(/:\d+$/, "");
}
