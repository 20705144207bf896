import { spawn } from "node:child_process";
import { join } from "node:path";

export const CLI = join(import.meta.dirname, "../../bin/underway.js");

/**
 * Runs `underway ARGS` and SIGKILLs it as soon as a stderr line matches `killAt`.
 * Resolves to whether it was killed (false: it ended on its own first) and its output.
 */
export function runUntil(
  args: string[],
  killAt: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<{ killed: boolean; code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    let killed = false;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!killed && killAt.test(stderr)) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ killed, code, stderr, stdout }));
  });
}
