/**
 * Query latencies of a rehearsal's workload, in HDR histograms (microsecond resolution,
 * three significant digits, up to an hour), one per phase of the rehearsal, so the report
 * can set the time the migration ran beside the baseline before it.
 */
import * as hdr from "hdr-histogram-js";

export type LatencyPhase = "before" | "during" | "after";

export interface LatencySummary {
  queries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const HOUR_US = 3_600_000_000;

export class LatencyHistograms {
  /** The phase new samples go to; the rehearsal moves it along. */
  phase: LatencyPhase = "before";
  private readonly histograms: Record<LatencyPhase, hdr.Histogram> = {
    before: newHistogram(),
    during: newHistogram(),
    after: newHistogram(),
  };

  /** Marks the start of a query; the returned function records its latency in the phase it began in. */
  begin(): () => void {
    const histogram = this.histograms[this.phase];
    const t0 = performance.now();
    return () => {
      const us = Math.max(1, Math.round((performance.now() - t0) * 1000));
      histogram.recordValue(Math.min(us, HOUR_US));
    };
  }

  summary(phase: LatencyPhase): LatencySummary {
    const h = this.histograms[phase];
    if (h.totalCount === 0) return { queries: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
    return {
      queries: h.totalCount,
      p50Ms: toMs(h.getValueAtPercentile(50)),
      p99Ms: toMs(h.getValueAtPercentile(99)),
      maxMs: toMs(h.maxValue),
    };
  }
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HOUR_US, numberOfSignificantValueDigits: 3 });
}

function toMs(us: number): number {
  return Math.round(us / 10) / 100;
}
