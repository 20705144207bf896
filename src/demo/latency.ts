/**
 * Query latencies of the demo's workload, kept per phase of the demo so the summary can
 * compare the baseline with the time the migration ran. Every sample is kept (a few
 * hundred thousand numbers at most), so the percentiles are exact.
 */

export type LatencyPhase = "before" | "during" | "after";

export interface LatencyStats {
  queries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The slowest query seen, and what the migration was doing when it began. */
export interface SlowestQuery {
  ms: number;
  phase: LatencyPhase;
  /** The migration step running when the query began, or the demo phase. */
  during: string;
}

export class LatencyRecorder {
  /** The phase new samples belong to; the demo moves it along. */
  phase: LatencyPhase = "before";
  /** What the migration is doing right now, for `slowest`. */
  activity = "baseline";
  private readonly samples: Record<LatencyPhase, number[]> = { before: [], during: [], after: [] };
  private window: number[] = [];
  private slowestQuery: SlowestQuery | null = null;

  /** Marks the start of a query; the returned function records its latency. */
  begin(): () => void {
    const phase = this.phase;
    const during = this.activity;
    const t0 = performance.now();
    return () => {
      const ms = performance.now() - t0;
      this.samples[phase].push(ms);
      this.window.push(ms);
      if (this.slowestQuery === null || ms > this.slowestQuery.ms) this.slowestQuery = { ms, phase, during };
    };
  }

  stats(phase: LatencyPhase): LatencyStats {
    return summarize(this.samples[phase]);
  }

  get slowest(): SlowestQuery | null {
    return this.slowestQuery;
  }

  /** The samples since the previous call, for the live progress line. */
  takeWindow(): LatencyStats {
    const window = this.window;
    this.window = [];
    return summarize(window);
  }
}

/** Nearest-rank percentiles (the smallest sample with at least p of all samples at or below it). */
export function summarize(samples: readonly number[]): LatencyStats {
  if (samples.length === 0) return { queries: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = Float64Array.from(samples).sort();
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
  return { queries: sorted.length, p50Ms: round(rank(0.5)), p99Ms: round(rank(0.99)), maxMs: round(sorted[sorted.length - 1]!) };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
