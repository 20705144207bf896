import { Command } from "commander";
import { registerLintCommands } from "../../../src/cli/lint-commands.js";
import { exitCodeFor, toUnderwayError } from "../../../src/errors.js";

export interface LintCliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `underway lint|convert ARGS` in this process through the same commander program
 * main.ts builds, capturing stdout and stderr and returning the exit code main() would.
 */
export async function runLintCli(args: string[]): Promise<LintCliRun> {
  const program = new Command("underway").exitOverride();
  registerLintCommands(program);
  let stdout = "";
  let stderr = "";
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  process.exitCode = undefined;
  let code: number;
  try {
    await program.parseAsync(["node", "underway", ...args]);
    code = typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof Error && error.name === "CommanderError") code = (error as { exitCode?: number }).exitCode === 0 ? 0 : 2;
    else {
      const failure = toUnderwayError(error);
      stderr += `underway: ${failure.message}\n`;
      code = exitCodeFor(failure);
    }
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.exitCode = undefined;
  }
  return { code, stdout, stderr };
}
