/**
 * The underway CLI as a rehearsal runs it: a child process it can kill, whose JSON event
 * stream (`--log-format json` on stderr, see observe/event-log.ts) it reads as events. The
 * rehearsal waits on those fields (a step of an action, a lock retry, a failure's code),
 * never on the progress text, which is for people and free to change.
 */
import { spawn } from "node:child_process";

/** One line of the CLI's event stream: pino's fields, the log context, and the event's own. */
export interface CliEvent {
  /** What the line is: `step`, `step-skipped`, `retry`, `backfill`, `notice`, `audit`, `phase`, `failed`. */
  event?: string;
  level?: string;
  msg?: string;
  action?: string;
  /** A step's place in its action, from 0. */
  index?: number;
  total?: number;
  /** A failure's error code. */
  code?: string;
  /** Whether a failure was the database going away (a restart, a failover, a cut network), not the migration failing. */
  connectionLost?: boolean;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The `failed` event the command ended with, if it got that far. */
  failure: CliEvent | null;
  /** The lines of stderr that are not events (the one-line `underway: ...` error, a usage error). */
  text: string[];
}

export interface UnderwayRun {
  exited: Promise<CliResult>;
  /** Kills it with SIGKILL, as a crash would end it. */
  kill(): void;
  /** Resolves with the first event (seen so far or to come) that `matches`; rejects when the process exits first. */
  waitFor(matches: (event: CliEvent) => boolean): Promise<CliEvent>;
  /** The last step (begun or skipped) of `action` so far. */
  lastStep(action: string): CliEvent | undefined;
}

/**
 * Runs `node cli ARGS --log-format json`.
 *
 * @example
 * const run = runUnderway(CLI, ["complete", "--database-url", url]);
 * await run.waitFor((e) => e.event === "step" && e.action === "complete" && e.index === 1);
 * run.kill();
 */
export function runUnderway(cli: string, args: string[]): UnderwayRun {
  const child = spawn(process.execPath, [cli, ...args, "--log-format", "json"], { stdio: ["ignore", "ignore", "pipe"] });
  const events: CliEvent[] = [];
  const text: string[] = [];
  const waiters: { matches: (event: CliEvent) => boolean; resolve: (event: CliEvent) => void; reject: (e: Error) => void }[] = [];
  let pending = "";
  const take = (line: string) => {
    const event = parseEvent(line);
    if (!event) {
      if (line.trim() !== "") text.push(line);
      return;
    }
    events.push(event);
    for (const w of [...waiters]) {
      if (!w.matches(event)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(event);
    }
  };
  child.stderr.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split("\n");
    pending = lines.pop()!;
    for (const line of lines) take(line);
  });
  const exited = new Promise<CliResult>((resolve) => {
    child.once("close", (code, signal) => {
      take(pending);
      pending = "";
      for (const w of waiters.splice(0)) w.reject(new Error(`underway ${args[0]} exited (${signal ?? code})`));
      resolve({ code, signal, failure: events.findLast((e) => e.event === "failed") ?? null, text });
    });
  });
  return {
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    waitFor: (matches) => {
      const seen = events.find(matches);
      if (seen) return Promise.resolve(seen);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`underway ${args[0]} already exited`));
      return new Promise((resolve, reject) => waiters.push({ matches, resolve, reject }));
    },
    lastStep: (action) => events.findLast((e) => (e.event === "step" || e.event === "step-skipped") && e.action === action),
  };
}

/** How a run ended, for the report: finished, killed, or the failure's own message. */
export function outcomeOf(result: CliResult): string {
  if (result.signal) return `killed (${result.signal})`;
  if (result.code === 0) return "finished";
  const prefix = "underway: ";
  const line = result.failure?.msg ?? [...result.text].reverse().find((l) => l.startsWith(prefix)) ?? result.text.at(-1) ?? "";
  return `exit ${result.code}: ${line.startsWith(prefix) ? line.slice(prefix.length) : line}`;
}

/** Whether a run that failed is worth running again: the database went away, or another process still held the guard (a killed run's lease). */
export function stoppedByFault(result: CliResult): boolean {
  return result.failure?.connectionLost === true || result.failure?.code === "MIGRATION_LOCKED";
}

function parseEvent(line: string): CliEvent | null {
  if (!line.startsWith("{")) return null;
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === "object" && value !== null ? (value as CliEvent) : null;
  } catch {
    return null;
  }
}
