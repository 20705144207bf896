import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/db/connection.js";
import { createDatabase } from "../../src/harness/local-server.js";
import { json, underway, type CliRun } from "../cli/run-cli.js";
import { serverInfo } from "../support/database.js";
import { startTlsServer, type TlsServer } from "../support/tls-server.js";

/**
 * TLS and credentials as docs/security.md promises them, against a server that takes TLS
 * only, with a throwaway CA: what sslmode, sslrootcert, sslcert and sslkey mean in the URL
 * and as PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY, and where a password comes from
 * (URL, PGPASSWORD, a .pgpass file). Through the built binary, as a user runs it.
 */

const PASSWORD_ROLE = "tls_app";
const PASSWORD = "Tls-test-pass-4f9c2e71";
const CERT_ROLE = "tls_cert_user";

let tls: TlsServer;
let home: string;

beforeAll(async () => {
  tls = await startTlsServer(CERT_ROLE);
  await createDatabase(tls.server, { name: "tlsdb", owner: PASSWORD_ROLE, ownerPassword: PASSWORD });
  await createDatabase(tls.server, { name: "certdb", owner: CERT_ROLE });
  // An empty home: no ~/.postgresql certificates or ~/.pgpass of the machine's user take part.
  home = await mkdtemp(join(tmpdir(), "underway-tls-home-"));
}, 120_000);

afterAll(async () => {
  await tls?.stop();
});

function run(args: string[], url: string, env: Record<string, string> = {}): Promise<CliRun> {
  return underway([...args, "--database-url", url], { env: { HOME: home, ...env } });
}

function passwordUrl(params: Record<string, string>, options: { host?: string; password?: string | null } = {}): string {
  const password = options.password === null ? undefined : (options.password ?? PASSWORD);
  return tls.url({ role: PASSWORD_ROLE, database: "tlsdb", host: options.host ?? "localhost", params, ...(password === undefined ? {} : { password }) });
}

function expectOk(result: CliRun): CliRun {
  expect(result.code, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(0);
  return result;
}

/** Refused the way the contract says: exit `code`, one line on stderr, matching `pattern`. */
function expectRefused(result: CliRun, code: 1 | 2, pattern: RegExp): void {
  const context = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
  expect(result.code, context).toBe(code);
  expect(result.errorLines, context).toHaveLength(1);
  expect(result.errorLines[0], context).toMatch(pattern);
}

describe("a TLS-only server with a test CA", () => {
  it("sslmode=verify-full with the right CA: init, then status --json", async () => {
    const url = passwordUrl({ sslmode: "verify-full", sslrootcert: tls.certs.ca });
    expectOk(await run(["init", "--json"], url));
    const status = json<{ migrations: unknown[] }>(expectOk(await run(["status", "--json"], url)));
    expect(status.migrations).toEqual([]);
  });

  it("the session underway opens really is TLS, verified", async () => {
    const client = await connect(passwordUrl({ sslmode: "verify-full", sslrootcert: tls.certs.ca }));
    try {
      const { rows } = await client.query<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
      expect(rows).toEqual([{ ssl: true }]);
    } finally {
      await client.end();
    }
  });

  it("another CA is refused under verify-full, verify-ca, require and prefer with a root certificate (the chain is checked then)", async () => {
    // prefer too, when it has a root certificate to check with: a certificate that fails the
    // check ends the attempt, it does not fall back to plain text.
    for (const sslmode of ["verify-full", "verify-ca", "require", "prefer"]) {
      expectRefused(await run(["status", "--json"], passwordUrl({ sslmode, sslrootcert: tls.certs.otherCa })), 1, new RegExp(`^underway: cannot connect to .*TLS \\(sslmode=${sslmode}\\): (self[- ]signed|unable to verify)`));
    }
  });

  it("the wrong host name (127.0.0.1 for a certificate of localhost) is refused under verify-full, accepted under verify-ca and require", async () => {
    const wrongHost = (sslmode: string) => passwordUrl({ sslmode, sslrootcert: tls.certs.ca }, { host: "127.0.0.1" });
    expectRefused(await run(["status", "--json"], wrongHost("verify-full")), 1, /TLS \(sslmode=verify-full\): .*IP: 127\.0\.0\.1 is not in the cert's list/);
    expectOk(await run(["status", "--json"], wrongHost("verify-ca")));
    expectOk(await run(["status", "--json"], wrongHost("require")));
  });

  it("require without a root certificate encrypts without checking the certificate; so does prefer, the default", async () => {
    expectOk(await run(["status", "--json"], passwordUrl({ sslmode: "require" }, { host: "127.0.0.1" })));
    expectOk(await run(["status", "--json"], passwordUrl({ sslmode: "prefer" })));
    expectOk(await run(["status", "--json"], passwordUrl({})));
    // allow tries plain text first, and TLS when the server refuses that.
    expectOk(await run(["status", "--json"], passwordUrl({ sslmode: "allow" })));
  });

  it("verify-full without a root certificate checks against the public CAs, which did not sign this one", async () => {
    expectRefused(await run(["status", "--json"], passwordUrl({ sslmode: "verify-full" })), 1, /TLS \(sslmode=verify-full\): (self[- ]signed|unable to verify|unable to get local issuer)/);
  });

  it("sslmode=disable is refused by the server (pg_hba.conf: hostssl only)", async () => {
    expectRefused(await run(["status", "--json"], passwordUrl({ sslmode: "disable" })), 1, /no pg_hba\.conf entry .*no encryption/);
  });

  it("a bad sslmode, an unreadable certificate and sslrootcert=system with a weak mode are usage errors, one line", async () => {
    expectRefused(await run(["status", "--json"], passwordUrl({ sslmode: "verify" })), 2, /^underway: invalid sslmode "verify": use one of disable, allow, prefer, require, verify-ca, verify-full$/);
    expectRefused(await run(["status", "--json"], passwordUrl({ sslmode: "verify-full", sslrootcert: join(tls.certs.dir, "nope.crt") })), 2, /^underway: cannot read the root certificate \(sslrootcert\) .*nope\.crt: no such file$/);
    expectRefused(await run(["status", "--json"], passwordUrl({}), { PGSSLMODE: "sure" }), 2, /^underway: invalid sslmode "sure"/);
    expectRefused(await run(["status", "--json"], passwordUrl({ sslmode: "require", sslrootcert: "system" })), 2, /^underway: sslmode "require" may not be used with sslrootcert=system/);
    expectRefused(
      await run(["status", "--json"], tls.url({ role: CERT_ROLE, database: "certdb", params: { sslmode: "verify-full", sslrootcert: tls.certs.ca, sslcert: join(tls.certs.dir, "missing.crt"), sslkey: tls.certs.clientKey } })),
      2,
      /^underway: cannot read the client certificate \(sslcert\) .*missing\.crt: no such file$/,
    );
  });

  it("PGSSLMODE and PGSSLROOTCERT are read when the URL says nothing", async () => {
    const bare = passwordUrl({});
    expectOk(await run(["status", "--json"], bare, { PGSSLMODE: "verify-full", PGSSLROOTCERT: tls.certs.ca }));
    expectRefused(await run(["status", "--json"], bare, { PGSSLMODE: "verify-full", PGSSLROOTCERT: tls.certs.otherCa }), 1, /TLS \(sslmode=verify-full\)/);
    expectRefused(await run(["status", "--json"], bare, { PGSSLMODE: "disable" }), 1, /no pg_hba\.conf entry .*no encryption/);
    // The URL wins over the environment.
    expectOk(await run(["status", "--json"], passwordUrl({ sslmode: "verify-full", sslrootcert: tls.certs.ca }), { PGSSLMODE: "disable", PGSSLROOTCERT: tls.certs.otherCa }));
  });

  it("a client certificate logs in a role with cert authentication: sslcert/sslkey in the URL, or PGSSLCERT/PGSSLKEY", async () => {
    const base = { sslmode: "verify-full", sslrootcert: tls.certs.ca };
    const withCert = tls.url({ role: CERT_ROLE, database: "certdb", params: { ...base, sslcert: tls.certs.clientCert, sslkey: tls.certs.clientKey } });
    expectOk(await run(["init", "--json"], withCert));
    expectOk(await run(["status", "--json"], withCert));
    const bare = tls.url({ role: CERT_ROLE, database: "certdb", params: base });
    expectOk(await run(["status", "--json"], bare, { PGSSLCERT: tls.certs.clientCert, PGSSLKEY: tls.certs.clientKey }));
    expectRefused(await run(["status", "--json"], bare), 1, /cannot connect to .*(certificate|no pg_hba\.conf entry)/i);
  });

  it("~/.postgresql/root.crt, postgresql.crt and postgresql.key are the defaults, as in libpq", async () => {
    const otherHome = await mkdtemp(join(tmpdir(), "underway-tls-home-"));
    await mkdir(join(otherHome, ".postgresql"));
    const inHome = (args: string[], url: string) => underway([...args, "--database-url", url], { env: { HOME: otherHome } });
    await copyFile(tls.certs.ca, join(otherHome, ".postgresql", "root.crt"));
    expectOk(await inHome(["status", "--json"], passwordUrl({ sslmode: "verify-full" })));
    await copyFile(tls.certs.clientCert, join(otherHome, ".postgresql", "postgresql.crt"));
    await copyFile(tls.certs.clientKey, join(otherHome, ".postgresql", "postgresql.key"));
    expectOk(await inHome(["status", "--json"], tls.url({ role: CERT_ROLE, database: "certdb", params: { sslmode: "verify-full" } })));
    // With a root certificate at hand, require checks the chain too.
    await copyFile(tls.certs.otherCa, join(otherHome, ".postgresql", "root.crt"));
    expectRefused(await inHome(["status", "--json"], passwordUrl({ sslmode: "require" })), 1, /TLS \(sslmode=require\)/);
  });

  it("a password comes from the URL, else PGPASSWORD, else the .pgpass file PGPASSFILE names", async () => {
    const noPassword = passwordUrl({ sslmode: "verify-full", sslrootcert: tls.certs.ca }, { password: null });
    expectRefused(await run(["status", "--json"], noPassword), 1, /cannot connect to /);
    expectOk(await run(["status", "--json"], noPassword, { PGPASSWORD: PASSWORD }));
    expectRefused(await run(["status", "--json"], noPassword, { PGPASSWORD: "not-the-password" }), 1, /password authentication failed for user "tls_app"/);
    // The URL's password wins over PGPASSWORD.
    expectOk(await run(["status", "--json"], passwordUrl({ sslmode: "verify-full", sslrootcert: tls.certs.ca }), { PGPASSWORD: "not-the-password" }));

    const pgpass = join(home, "test.pgpass");
    await writeFile(pgpass, `# host:port:database:user:password\nlocalhost:${tls.server.port}:tlsdb:${PASSWORD_ROLE}:${PASSWORD}\n`);
    await chmod(pgpass, 0o600);
    expectOk(await run(["status", "--json"], noPassword, { PGPASSFILE: pgpass }));
    // PGPASSWORD wins over the file.
    expectRefused(await run(["status", "--json"], noPassword, { PGPASSFILE: pgpass, PGPASSWORD: "not-the-password" }), 1, /password authentication failed/);
    // ~/.pgpass is the default file.
    await writeFile(join(home, ".pgpass"), `*:*:tlsdb:${PASSWORD_ROLE}:${PASSWORD}\n`);
    await chmod(join(home, ".pgpass"), 0o600);
    expectOk(await run(["status", "--json"], noPassword));
  });

  it("a whole migration's connections (phase, two backfill workers, verify) all go over verified TLS", async () => {
    const url = passwordUrl({ sslmode: "verify-full", sslrootcert: tls.certs.ca });
    const client = await connect(url);
    try {
      await client.query("CREATE TABLE items (id bigserial PRIMARY KEY, price integer NOT NULL)");
      await client.query("INSERT INTO items (price) SELECT g FROM generate_series(1, 5000) g");
    } finally {
      await client.end();
    }
    const dir = await mkdtemp(join(tmpdir(), "underway-tls-mig-"));
    const file = join(dir, "01_widen.json");
    await writeFile(file, JSON.stringify({ operations: [{ alter_column: { table: "items", column: "price", type: "bigint", up: "price::bigint", down: "price::integer" } }] }));
    expectOk(await run(["start", file, "--workers", "2", "--json"], url));
    expectOk(await run(["verify", "--json"], url));
    expectOk(await run(["complete", "--json"], url));
    // The server takes no plain-text connection, so every one of them was TLS; and verified,
    // since the same URL with the wrong CA is refused above.
    expect(json<{ migrations: { phase: string }[] }>(expectOk(await run(["status", "--json"], url))).migrations.map((m) => m.phase)).toEqual(["completed"]);
  });
});

describe("a server without TLS (the suite's own)", () => {
  it("prefer, the default, and allow connect in plain text; require and stricter are refused", async () => {
    const plain = (sslmode?: string) => {
      const url = new URL(serverInfo().adminUrl);
      if (sslmode) url.searchParams.set("sslmode", sslmode);
      return url.toString();
    };
    for (const url of [plain(), plain("prefer"), plain("allow"), plain("disable")]) {
      const client = await connect(url);
      try {
        const { rows } = await client.query<{ ssl: boolean }>("SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS ssl");
        expect(rows).toEqual([{ ssl: false }]);
      } finally {
        await client.end();
      }
    }
    for (const sslmode of ["require", "verify-ca", "verify-full"]) {
      await expect(connect(plain(sslmode))).rejects.toThrow(new RegExp(`^cannot connect to .*TLS \\(sslmode=${sslmode}\\): The server does not support SSL connections$`));
    }
  });
});

describe("one way to connect", () => {
  it("no module of src/ opens a connection except through connect() in src/db/connection.ts", async () => {
    const root = join(import.meta.dirname, "../../src");
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith(".ts") && relative(root, path) !== join("db", "connection.ts")) {
          const code = (await readFile(path, "utf8"))
            .split("\n")
            .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
            .join("\n");
          if (/new\s+(pg\.|driver\.)?(Client|Pool)\s*\(|connectionString\s*:/.test(code)) offenders.push(relative(root, path));
        }
      }
    };
    await walk(root);
    expect(offenders).toEqual([]);
  });
});
