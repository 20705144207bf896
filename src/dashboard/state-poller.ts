import { Counter } from "prom-client";
import { connect, type Client } from "../db/connection.js";
import { toUnderwayError } from "../errors.js";
import type { MigrationMetrics } from "../observe/metrics.js";
import { readSnapshot, type DashboardSnapshot, type PhaseSightings } from "./snapshot.js";
import { recordSnapshot } from "./snapshot-metrics.js";

/** One point of the charts: each job's rate and rows done, and the replica lag. */
export interface ChartSample {
  /** Seconds since the epoch. */
  t: number;
  rates: Record<string, number>;
  rowsDone: Record<string, number>;
  lagBytes: number | null;
}

/** What subscribers receive after each look. */
export interface PollUpdate {
  snapshot: DashboardSnapshot;
  sample: ChartSample;
}

export interface StatePollerOptions {
  databaseUrl: string;
  schema: string;
  stateSchema: string;
  /** Set from every look, when given. */
  metrics?: MigrationMetrics;
  /** Between looks while someone watches; never less than a second. */
  activeIntervalMs?: number;
  /** Between looks while nobody watches (metrics stay this fresh). */
  idleIntervalMs?: number;
  /** Chart points kept for browsers that connect later (default 900: 15 minutes). */
  samplesKept?: number;
}

/** The floor on the time between two looks, whatever asks for one. */
export const MIN_POLL_INTERVAL_MS = 1000;

/**
 * Reads the state schema for the dashboard on ONE connection, at most once a second, and
 * hands each look to every subscriber (each browser's event stream), so the database
 * sees the same load whether nobody or a hundred people watch. A lost connection is
 * opened again at the next look; meanwhile the last look is served with its error.
 *
 * @example
 * const poller = new StatePoller({ databaseUrl, schema: "public", stateSchema: "underway" });
 * await poller.start();
 * const stop = poller.subscribe(({ snapshot }) => console.log(snapshot.jobs));
 */
export class StatePoller {
  private client: Client | undefined;
  private last: DashboardSnapshot | null = null;
  private readonly history: ChartSample[] = [];
  private readonly listeners = new Set<(update: PollUpdate) => void>();
  private readonly sightings: PhaseSightings = new Map();
  private readonly activeIntervalMs: number;
  private readonly idleIntervalMs: number;
  private readonly samplesKept: number;
  private readonly pollCounter: Counter<"result"> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  /** A look was asked for while one was running: take the next one at the floor. */
  private soon = false;
  private lastStartedAt = 0;
  private polling: Promise<void> | undefined;
  private closed = false;
  /** Looks taken so far. */
  polls = 0;

  constructor(private readonly options: StatePollerOptions) {
    this.activeIntervalMs = Math.max(MIN_POLL_INTERVAL_MS, options.activeIntervalMs ?? MIN_POLL_INTERVAL_MS);
    this.idleIntervalMs = Math.max(this.activeIntervalMs, options.idleIntervalMs ?? 5000);
    this.samplesKept = options.samplesKept ?? 900;
    this.pollCounter = options.metrics
      ? new Counter({
          name: "underway_state_polls_total",
          help: "Looks the dashboard took at the state schema, by result (ok or error)",
          labelNames: ["result"],
          registers: [options.metrics.registry],
        })
      : undefined;
  }

  /** Takes the first look (so the first page and scrape have data), then keeps looking. */
  async start(): Promise<void> {
    await this.tick();
  }

  /** The last look, or null before the first. */
  snapshot(): DashboardSnapshot | null {
    return this.last;
  }

  /** The chart points kept, oldest first. */
  samples(): ChartSample[] {
    return [...this.history];
  }

  /** Receives every look from now on; returns the unsubscribe. While anyone listens, looks come every second. */
  subscribe(listener: (update: PollUpdate) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.refresh();
    return () => {
      this.listeners.delete(listener);
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Asks for a look as soon as the one-second floor allows (after a control action, say). */
  refresh(): void {
    if (this.closed) return;
    if (this.polling) {
      this.soon = true;
      return;
    }
    const delay = Math.max(0, this.lastStartedAt + MIN_POLL_INTERVAL_MS - Date.now());
    if (this.timer && this.timerAt <= Date.now() + delay) return;
    this.setTimer(delay);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  private setTimer(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = Date.now() + delayMs;
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    if (this.closed || this.polling) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastStartedAt = Date.now();
    this.polling = this.poll();
    try {
      await this.polling;
    } finally {
      this.polling = undefined;
    }
    if (this.closed) return;
    const interval = this.soon ? MIN_POLL_INTERVAL_MS : this.listeners.size > 0 ? this.activeIntervalMs : this.idleIntervalMs;
    this.soon = false;
    this.setTimer(Math.max(0, this.lastStartedAt + interval - Date.now()));
  }

  private async poll(): Promise<void> {
    this.polls++;
    let snapshot: DashboardSnapshot;
    try {
      this.client ??= await connect(this.options.databaseUrl, { applicationName: "underway dashboard" });
      snapshot = await readSnapshot(this.client, { schema: this.options.schema, stateSchema: this.options.stateSchema }, this.sightings);
      this.remember(snapshot);
      this.pollCounter?.inc({ result: "ok" });
    } catch (error) {
      this.pollCounter?.inc({ result: "error" });
      await this.client?.end().catch(() => undefined);
      this.client = undefined;
      const message = toUnderwayError(error).message;
      snapshot = this.last
        ? { ...this.last, at: new Date().toISOString(), error: message }
        : {
            at: new Date().toISOString(),
            schema: this.options.schema,
            stateSchema: this.options.stateSchema,
            initialized: false,
            migrations: [],
            current: null,
            jobs: [],
            replicaLagBytes: null,
            replicas: 0,
            error: message,
          };
    }
    this.last = snapshot;
    if (this.options.metrics) recordSnapshot(this.options.metrics, snapshot);
    const sample: ChartSample = {
      t: Date.parse(snapshot.at) / 1000,
      rates: Object.fromEntries(snapshot.jobs.map((j) => [j.table, Math.round(j.rowsPerSecond)])),
      rowsDone: Object.fromEntries(snapshot.jobs.map((j) => [j.table, j.rowsDone])),
      lagBytes: snapshot.replicaLagBytes,
    };
    if (snapshot.error === null) {
      this.history.push(sample);
      if (this.history.length > this.samplesKept) this.history.splice(0, this.history.length - this.samplesKept);
    }
    for (const listener of this.listeners) {
      try {
        listener({ snapshot, sample });
      } catch {
        // One broken stream must not stop the others.
      }
    }
  }

  /** Dates the phases the state schema does not date by when they were first seen. */
  private remember(snapshot: DashboardSnapshot): void {
    const current = snapshot.current;
    if (!current) return;
    const seen = this.sightings.get(current.name) ?? {};
    seen[current.phase] ??= snapshot.at;
    this.sightings.set(current.name, seen);
    for (const entry of current.timeline) {
      if (entry.at === null && (entry.state === "done" || entry.state === "current")) entry.at = seen[entry.phase] ?? null;
    }
  }
}
