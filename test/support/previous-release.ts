import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * The last commit before the state schema got its versioned upgrades and the plan its
 * format version: the release whose in-flight migrations the new build must finish.
 */
export const PREVIOUS_RELEASE = "3bfa3c6";

const REPO = resolve(import.meta.dirname, "../..");

/**
 * The CLI (`bin/underway.js`) of a build of `commit`, made from this clone's history: a
 * detached worktree outside the repository, the repository's node_modules linked in, and
 * `tsc -p tsconfig.build.json` there. The build is kept under the temporary directory
 * and reused by later runs; one left half-made (a killed run) is made again.
 *
 * @example
 * const oldCli = await previousReleaseCli();
 * spawn(process.execPath, [oldCli, "start", file, "--database-url", url]);
 */
export async function previousReleaseCli(commit = PREVIOUS_RELEASE): Promise<string> {
  const sha = await resolveCommit(commit);
  const dir = join(tmpdir(), `underway-release-${sha.slice(0, 12)}`);
  const cli = join(dir, "bin", "underway.js");
  const marker = join(dir, ".underway-built");
  if (existsSync(marker)) {
    // The build is kept between runs, but its node_modules link may point at a checkout that is gone: link this one's.
    await rm(join(dir, "node_modules"), { force: true });
    await symlink(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
    return cli;
  }
  await rm(dir, { recursive: true, force: true });
  // A worktree whose directory was removed stays registered until pruned, and blocks a new one at the same path.
  await git(["worktree", "prune"]);
  await git(["worktree", "add", "--detach", "--force", dir, sha]);
  await symlink(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  await run(process.execPath, [join(REPO, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], { cwd: dir, maxBuffer: 16 << 20 }).catch(
    (error: { stdout?: string; stderr?: string }) => {
      throw new Error(`building ${commit} in ${dir} failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
    },
  );
  await mkdir(join(dir, "dist"), { recursive: true });
  await writeFile(marker, `${sha}\n`);
  return cli;
}

async function resolveCommit(commit: string): Promise<string> {
  try {
    return (await git(["rev-parse", "--verify", "--quiet", `${commit}^{commit}`])).trim();
  } catch {
    throw new Error(
      `commit ${commit} is not in the history of ${REPO}: the upgrade test builds that release from it; fetch the full history (git fetch --unshallow) and run again`,
    );
  }
}

async function git(args: string[]): Promise<string> {
  const { stdout } = await run("git", ["-C", REPO, ...args], { maxBuffer: 16 << 20 });
  return stdout;
}
