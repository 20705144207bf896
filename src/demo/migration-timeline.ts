/**
 * What the demo learns from the migrator's events: how long each step took, how the
 * backfill went, how often a lock was retried. It also tells the latency recorder which
 * step is running, so the slowest query can be blamed on it.
 */
import type { BackfillProgress } from "../backfill/backfill.js";
import type { MigrationEvent } from "../run/step-runner.js";
import type { LatencyHistograms } from "../harness/latency.js";
import type { StepTiming } from "./summary.js";

export class MigrationTimeline {
  readonly steps: StepTiming[] = [];
  lockRetries = 0;
  private current: { action: string; description: string; t0: number } | null = null;
  private lastProgress: BackfillProgress | null = null;

  constructor(
    private readonly recorder: LatencyHistograms,
    private readonly forward: (event: MigrationEvent) => void,
  ) {}

  readonly onEvent = (event: MigrationEvent): void => {
    this.forward(event);
    switch (event.type) {
      case "step":
        this.finishStep();
        this.current = { action: event.action, description: event.description, t0: performance.now() };
        this.recorder.activity = `${event.action} step ${event.index + 1}/${event.total}: ${event.description}`;
        return;
      case "retry":
        this.lockRetries++;
        return;
      case "backfill":
        this.lastProgress = event.progress;
        return;
      default:
        return;
    }
  };

  /** Closes the step in progress; call when a migrator action returns. */
  finishStep(activity?: string): void {
    if (this.current) {
      this.steps.push({
        action: this.current.action,
        description: this.current.description,
        seconds: round((performance.now() - this.current.t0) / 1000),
      });
    }
    this.current = null;
    if (activity !== undefined) this.recorder.activity = activity;
  }

  /**
   * How long the backfill step took (all backfill steps together), and the rows it says
   * it rewrote; `tableRows` is what it had to rewrite.
   */
  backfill(tableRows: number): { rows: number; reportedRows: number; seconds: number; rowsPerSecond: number } {
    // Migration events do not carry the step kind; the planner names backfill steps "backfill <table>".
    const seconds = this.steps.filter((s) => s.action === "start" && s.description.startsWith("backfill ")).reduce((sum, s) => sum + s.seconds, 0);
    return {
      rows: tableRows,
      reportedRows: this.lastProgress?.rowsDone ?? 0,
      seconds: round(seconds),
      rowsPerSecond: seconds > 0 ? Math.round(tableRows / seconds) : 0,
    };
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
