import { execFileSync } from "node:child_process";
import { chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverOwner, startLocalServer, type LocalServer } from "../../src/harness/local-server.js";
import { serverInfo } from "./database.js";

/** The files of a throwaway CA, a server certificate it signed, a client certificate, and a CA that signed neither. */
export interface TestCertificates {
  dir: string;
  ca: string;
  otherCa: string;
  serverCert: string;
  serverKey: string;
  /** For the role `clientRole`, signed by `ca`. */
  clientCert: string;
  clientKey: string;
  clientRole: string;
}

/** A PostgreSQL that takes only TLS connections (pg_hba.conf has hostssl lines only). */
export interface TlsServer {
  server: LocalServer;
  certs: TestCertificates;
  /** `postgres://ROLE[:PASSWORD]@HOST:PORT/DB` with `params` as its query. */
  url(opts: { role: string; password?: string; host?: string; database: string; params?: Record<string, string> }): string;
  stop(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Makes a CA, a server certificate for `localhost` only (so 127.0.0.1 is the wrong host
 * name), a client certificate for `clientRole` and a second, unrelated CA, with openssl.
 */
export async function makeCertificates(clientRole: string): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), "underway-tls-"));
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  for (const name of ["ca", "other-ca"]) {
    openssl(["req", "-x509", ...key, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=underway test ${name}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  }
  const sign = async (name: string, subject: string, extensions: string) => {
    openssl(["req", ...key, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
    await writeFile(join(dir, `${name}.ext`), extensions);
    openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`], dir);
  };
  await sign("server", "/CN=localhost", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await sign("client", `/CN=${clientRole}`, "extendedKeyUsage=clientAuth\n");
  // The server runs as the postgres OS user when we are root: it must read its files, and
  // it refuses a key that others can read.
  const owner = serverOwner();
  await chmod(dir, 0o755);
  for (const file of ["ca.crt", "server.crt", "server.key"]) {
    if (owner) await chown(join(dir, file), owner.uid, owner.gid);
  }
  await chmod(join(dir, "server.key"), 0o600);
  return {
    dir,
    ca: join(dir, "ca.crt"),
    otherCa: join(dir, "other-ca.crt"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
    clientCert: join(dir, "client.crt"),
    clientKey: join(dir, "client.key"),
    clientRole,
  };
}

/**
 * Starts a dedicated server of the run's major version that takes TLS only: the superuser
 * is trusted over TLS (for setup), `clientRole` logs in with its certificate, every other
 * role with a SCRAM password.
 */
export async function startTlsServer(clientRole: string): Promise<TlsServer> {
  const certs = await makeCertificates(clientRole);
  const hba = join(certs.dir, "pg_hba.conf");
  await writeFile(
    hba,
    [
      "hostssl all postgres 127.0.0.1/32 trust",
      `hostssl all ${clientRole} 127.0.0.1/32 cert`,
      "hostssl all all 127.0.0.1/32 scram-sha-256",
      "",
    ].join("\n"),
  );
  const owner = serverOwner();
  if (owner) await chown(hba, owner.uid, owner.gid);
  const server = await startLocalServer({
    version: serverInfo().version,
    fast: true,
    settings: { ssl: "on", ssl_cert_file: certs.serverCert, ssl_key_file: certs.serverKey, ssl_ca_file: certs.ca, hba_file: hba, password_encryption: "scram-sha-256" },
  });
  return {
    server,
    certs,
    url({ role, password, host = "localhost", database, params = {} }) {
      const auth = password === undefined ? encodeURIComponent(role) : `${encodeURIComponent(role)}:${encodeURIComponent(password)}`;
      const query = Object.entries(params)
        .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
        .join("&");
      return `postgres://${auth}@${host}:${server.port}/${encodeURIComponent(database)}${query ? `?${query}` : ""}`;
    },
    async stop() {
      await server.stop();
      await rm(certs.dir, { recursive: true, force: true });
    },
  };
}
