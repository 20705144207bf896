import type { MigrationEvent } from "../run/step-runner.js";
import { formatBytes } from "../backfill/settings.js";

/**
 * Progress for people: one rewritten line on a terminal, plain lines (at most one every
 * few seconds for a backfill) otherwise. Everything goes to stderr, so stdout carries
 * only the result (and `--json` stays parseable).
 */
export class ProgressPrinter {
  private readonly tty: boolean;
  private lastPlain = 0;
  private lineOpen = false;
  private lastWarning: string | null = null;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  readonly onEvent = (event: MigrationEvent): void => {
    if (this.quiet) return;
    switch (event.type) {
      case "step":
        this.line(`${event.action} ${event.index + 1}/${event.total}: ${event.description}`);
        return;
      case "step-skipped":
        this.line(`${event.action} ${event.index + 1}/${event.total}: skipped ${event.description} (${event.reason})`);
        return;
      case "retry":
        this.line(
          `  lock not acquired for "${event.description}" (attempt ${event.attempt}); retrying in ${event.delayMs}ms` +
            (event.blockedBy ? `; held by ${event.blockedBy}` : ""),
        );
        return;
      case "notice":
        this.line(event.message);
        return;
      case "backfill": {
        const p = event.progress;
        const pct = p.rowsTotal > 0 ? Math.min(100, (100 * p.rowsDone) / p.rowsTotal) : 100;
        const done = `  backfill ${p.table}: ${p.rowsDone.toLocaleString("en-US")}/${p.rowsTotal.toLocaleString("en-US")} rows (${pct.toFixed(1)}%)`;
        const held = p.throttledBy ? `, throttled by ${p.throttledBy}` : "";
        const lag = p.lagBytes !== null ? `, replica lag ${formatBytes(p.lagBytes)}` : "";
        const text =
          p.state === "paused"
            ? `${done}, paused (run "underway resume" to carry on)${lag}`
            : `${done}, ${Math.round(p.rowsPerSecond).toLocaleString("en-US")} rows/s, ETA ${etaText(p.rowsTotal - p.rowsDone, p.rowsPerSecond)}${held}${lag}`;
        if (p.warning && p.warning !== this.lastWarning) {
          this.lastWarning = p.warning;
          this.line(`  warning: ${p.warning}`);
        }
        if (this.tty) {
          this.stream.write(`\r\x1b[2K${text}`);
          this.lineOpen = true;
        } else if (Date.now() - this.lastPlain > 2000 || p.rowsDone >= p.rowsTotal) {
          this.lastPlain = Date.now();
          this.stream.write(`${text}\n`);
        }
        return;
      }
    }
  };

  line(text: string): void {
    if (this.quiet) return;
    if (this.lineOpen) {
      this.stream.write("\n");
      this.lineOpen = false;
    }
    this.stream.write(`${text}\n`);
  }

  end(): void {
    if (this.lineOpen) this.stream.write("\n");
    this.lineOpen = false;
  }
}

/** The time left at the current rate; "unknown" while nothing moves (never "0s" for work left). */
export function etaText(rowsLeft: number, rowsPerSecond: number): string {
  if (rowsLeft <= 0) return "0s";
  return rowsPerSecond > 0 ? formatSeconds(rowsLeft / rowsPerSecond) : "unknown";
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
