/**
 * Query latencies of a workload, in HDR histograms (microsecond resolution, three
 * significant digits, up to an hour), one per phase of the run, so a report can set the
 * time the migration ran beside the baseline before it. Also the slowest query and what
 * was running when it began, and a window for a live progress line.
 */
import * as hdr from "hdr-histogram-js";

export type LatencyPhase = "before" | "during" | "after";

export interface LatencySummary {
  queries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The slowest query seen, and what the migration was doing when it began. */
export interface SlowestQuery {
  ms: number;
  phase: LatencyPhase;
  /** The migration step running when the query began, or the run's own phase. */
  during: string;
}

const HOUR_US = 3_600_000_000;

export class LatencyHistograms {
  /** The phase new samples go to; the run moves it along. */
  phase: LatencyPhase = "before";
  /** What the migration is doing right now, for `slowest`. */
  activity = "baseline";
  private readonly histograms: Record<LatencyPhase, hdr.Histogram> = {
    before: newHistogram(),
    during: newHistogram(),
    after: newHistogram(),
  };
  private window = newHistogram();
  private slowestQuery: SlowestQuery | null = null;

  /** Marks the start of a query; the returned function records its latency in the phase it began in. */
  begin(): () => void {
    const histogram = this.histograms[this.phase];
    const phase = this.phase;
    const during = this.activity;
    const t0 = performance.now();
    return () => {
      const ms = performance.now() - t0;
      const us = Math.min(HOUR_US, Math.max(1, Math.round(ms * 1000)));
      histogram.recordValue(us);
      this.window.recordValue(us);
      if (this.slowestQuery === null || ms > this.slowestQuery.ms) this.slowestQuery = { ms, phase, during };
    };
  }

  summary(phase: LatencyPhase): LatencySummary {
    return summarize(this.histograms[phase]);
  }

  get slowest(): SlowestQuery | null {
    return this.slowestQuery;
  }

  /** The latencies since the previous call, for a live progress line. */
  takeWindow(): LatencySummary {
    const window = this.window;
    this.window = newHistogram();
    return summarize(window);
  }
}

function summarize(h: hdr.Histogram): LatencySummary {
  if (h.totalCount === 0) return { queries: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  return {
    queries: h.totalCount,
    p50Ms: toMs(h.getValueAtPercentile(50)),
    p99Ms: toMs(h.getValueAtPercentile(99)),
    maxMs: toMs(h.maxValue),
  };
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HOUR_US, numberOfSignificantValueDigits: 3 });
}

function toMs(us: number): number {
  return Math.round(us / 10) / 100;
}
