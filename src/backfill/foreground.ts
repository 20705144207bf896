/**
 * The foreground guard: a backfill takes only what the application leaves free, with no
 * tuning. It measures the application's write throughput while batches run and while they
 * do not, and paces the batches so that the application keeps `target` of the throughput
 * it has without the backfill.
 *
 * The application's writes are counted from the database's transaction ids: every
 * transaction that writes takes the next one, so the growth of `pg_current_snapshot()`'s
 * xmax, less the backfill's own batches, is the foreground's write transactions, at any
 * time scale (the statistics views are flushed once a second at best). Each sample of the
 * monitor (every 250 ms) gives a rate and the share of the interval a batch was running.
 * A least-squares line through the recent samples (older ones weigh less) gives the
 * rate with no batch running (`idle`) and with one running all the time (`busy`); their
 * ratio is the batches' impact. With batches running a share `duty` of the time, the
 * application keeps `1 - duty * (1 - impact)`, so the guard allows
 * `duty = (1 - target) / (1 - impact)`, and the workers sleep after each batch so that they
 * run that share of the time.
 *
 * An application that only reads takes no transaction ids and is not seen: `--max-rate`
 * and the throttle query remain for it. Below a few write transactions a second there is
 * no foreground to protect and the backfill runs flat out.
 */

/** Below this many foreground write transactions a second, nothing is held back. */
const ACTIVE_TPS = 5;
/** Each sample's weight falls by this much per sample: a half-life of about 7 s at 4 samples a second. */
const DECAY = 0.975;
/** While the application is active, at most this share of the time in batches, so idle samples keep coming. */
const MAX_ACTIVE_DUTY = 0.85;
const MIN_DUTY = 0.03;
/** Until the impact is measured, batches run this share of the time: enough spread to measure, little harm meanwhile. */
const EXPLORING_DUTY = 0.3;

export interface ForegroundReading {
  /** The application's write transactions per second, smoothed. */
  tps: number;
  /** Its rate while a batch runs relative to while none does; null until measured. */
  impact: number | null;
  /** The share of time the guard lets batches run (1: no limit). */
  duty: number;
  /** Whether the guard is holding the backfill back now. */
  pacing: boolean;
}

export class ForegroundGuard {
  private running = 0;
  private busySince = 0;
  private busyMs = 0;
  private batchesBegun = 0;
  private last: { at: number; xmax: bigint; busyMs: number; batches: number } | null = null;
  private sums = { w: 0, f: 0, ff: 0, y: 0, fy: 0 };
  private tps = 0;
  private impact: number | null = null;
  private duty = 1;

  /** @param target the share of its throughput the application keeps (null: no guard). */
  constructor(private target: () => number | null) {}

  batchStarted(now = Date.now()): void {
    if (this.running === 0) this.busySince = now;
    this.running++;
    this.batchesBegun++;
  }

  batchEnded(now = Date.now()): void {
    this.running = Math.max(0, this.running - 1);
    if (this.running === 0) this.busyMs += now - this.busySince;
  }

  /** One sample of the transaction counter (xmax of the current snapshot), taken by the monitor. */
  sample(xmax: bigint, now = Date.now()): void {
    const busyMs = this.busyMs + (this.running > 0 ? now - this.busySince : 0);
    const previous = this.last;
    this.last = { at: now, xmax, busyMs, batches: this.batchesBegun };
    if (!previous || now <= previous.at) return;
    const span = now - previous.at;
    // Each batch is one transaction of the backfill's own.
    const foreground = Math.max(0, Number(xmax - previous.xmax) - (this.batchesBegun - previous.batches));
    const rate = (foreground * 1000) / span;
    const f = Math.min(1, Math.max(0, (busyMs - previous.busyMs) / span));
    const s = this.sums;
    for (const k of Object.keys(s) as (keyof typeof s)[]) s[k] *= DECAY;
    s.w += 1;
    s.f += f;
    s.ff += f * f;
    s.y += rate;
    s.fy += f * rate;
    this.tps = s.y / s.w;
    this.update();
  }

  private update(): void {
    const target = this.target();
    if (target === null || this.tps < ACTIVE_TPS) {
      // Nothing to protect; what was measured is forgotten, as an application that comes
      // back may not be the same.
      this.duty = 1;
      this.impact = null;
      return;
    }
    const s = this.sums;
    const variance = s.w * s.ff - s.f * s.f;
    // The samples must spread over busy and idle: right after the application appears the
    // batches run all the time, so the guard first makes room to measure. Once measured, a
    // guard that lets batches run most of the time keeps its estimate while the spread is small.
    if (variance <= 0.02 * s.w * s.w) {
      if (this.impact === null && this.duty > EXPLORING_DUTY) this.duty = EXPLORING_DUTY;
      return;
    }
    const slope = (s.w * s.fy - s.f * s.y) / variance;
    const idle = (s.y - slope * s.f) / s.w;
    if (idle <= 0) return;
    this.impact = Math.min(1, Math.max(0, (idle + slope) / idle));
    const wanted = this.impact >= 1 ? MAX_ACTIVE_DUTY : Math.min(MAX_ACTIVE_DUTY, Math.max(MIN_DUTY, (1 - target) / (1 - this.impact)));
    // Toward the wanted share, not at once: each estimate is noisy.
    this.duty += 0.3 * (wanted - this.duty);
  }

  /**
   * How long a worker sleeps after a batch of `batchMs`, so that the `workers` of this
   * process together run batches the allowed share of the time.
   */
  pauseAfter(batchMs: number, workers: number): number {
    if (this.duty >= 1) return 0;
    return Math.min(5000, Math.max(0, batchMs * (Math.max(1, workers) / this.duty - 1)));
  }

  reading(): ForegroundReading {
    return { tps: this.tps, impact: this.impact, duty: this.duty, pacing: this.duty < 1 };
  }
}
