import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const CLI = join(import.meta.dirname, "../../bin/underway.js");

/**
 * Runs `underway ARGS` and sends it `signals` (default one SIGKILL) as soon as its stderr
 * matches `killAt`, the next ones `gapMs` apart. Resolves to whether it was signalled
 * (false: it ended on its own first), its exit code and output, and how long it took to
 * end after the first signal.
 */
export function runUntil(
  args: string[],
  killAt: RegExp,
  env: NodeJS.ProcessEnv = {},
  options: { signals?: NodeJS.Signals[]; gapMs?: number } = {},
): Promise<{ killed: boolean; code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string; endedAfterMs: number | null }> {
  const signals = options.signals ?? ["SIGKILL"];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    let killed = false;
    let firstAt = 0;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!killed && killAt.test(stderr)) {
        killed = true;
        firstAt = Date.now();
        signals.forEach((signal, i) => {
          setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          }, i * (options.gapMs ?? 100));
        });
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ killed, code, signal, stderr, stdout, endedAfterMs: killed ? Date.now() - firstAt : null }));
  });
}

/**
 * Starts `underway ARGS` in the background with only PATH and HOME of this environment:
 * its process, its stdout lines as they come, its stderr so far, and its exit code.
 */
export function launch(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, lines, stderr: () => stderr, exited };
}
