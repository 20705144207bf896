/**
 * TLS for every connection, read the way libpq reads it: `sslmode`, `sslrootcert`,
 * `sslcert`, `sslkey` and `sslpassword` from the URL, else `PGSSLMODE`, `PGSSLROOTCERT`,
 * `PGSSLCERT` and `PGSSLKEY`, else libpq's defaults (`prefer`, `~/.postgresql/root.crt`,
 * `~/.postgresql/postgresql.crt` and `.key`).
 *
 * node-postgres reads these differently, and in ways users hit: it treats `prefer`,
 * `require` and `verify-ca` as `verify-full` (pg-connection-string 2.x), never falls back
 * to plain text, ignores `PGSSLROOTCERT`, `PGSSLCERT` and `PGSSLKEY`, takes
 * `sslrootcert=system` for a file name, tries no TLS at all without an sslmode, and checks
 * a certificate against "localhost" when the host is an IP address. So underway builds the
 * driver's `ssl` option itself and hands it a URL without those parameters.
 * See https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from "node:tls";
import { UnderwayError } from "../errors.js";

export type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

const SSL_MODES: readonly SslMode[] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** What a connection does about TLS: the attempts to make, in order (`false`: plain text). */
export interface TlsPlan {
  mode: SslMode;
  /** One attempt, or two for `prefer` (TLS, then plain text) and `allow` (plain text, then TLS). */
  attempts: (ConnectionOptions | false)[];
  /** The URL with the TLS parameters taken out, for the driver, which would read them its own way. */
  driverUrl: string;
}

/** URL parameters underway reads itself and keeps from the driver. */
const TLS_PARAMETERS = ["sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "ssl", "uselibpqcompat"];

/**
 * How to connect to `url` as far as TLS goes, from the URL, then the environment, then
 * libpq's defaults. A bad sslmode or a certificate file that cannot be read is a usage
 * error (INVALID_ARGUMENT), never a stack trace.
 *
 * @example
 * tlsPlanFor("postgres://app@db/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem").mode // "verify-full"
 */
export function tlsPlanFor(url: string, env: NodeJS.ProcessEnv = process.env): TlsPlan {
  const parsed = new URL(url);
  const param = (name: string): string | undefined => {
    const value = parsed.searchParams.get(name);
    return value === null || value === "" ? undefined : value;
  };
  const envValue = (name: string): string | undefined => (env[name] === undefined || env[name] === "" ? undefined : env[name]);

  const rootCert = param("sslrootcert") ?? envValue("PGSSLROOTCERT");
  const givenMode = param("sslmode") ?? legacySslMode(param("ssl")) ?? envValue("PGSSLMODE");
  if (givenMode !== undefined && !SSL_MODES.includes(givenMode as SslMode)) {
    throw new UnderwayError("INVALID_ARGUMENT", `invalid sslmode "${givenMode}": use one of ${SSL_MODES.join(", ")}`);
  }
  // libpq 16+: the system's CAs are only worth trusting with the host name checked too.
  const mode = (givenMode ?? (rootCert === "system" ? "verify-full" : "prefer")) as SslMode;
  if (rootCert === "system" && mode !== "verify-full") {
    throw new UnderwayError("INVALID_ARGUMENT", `sslmode "${mode}" may not be used with sslrootcert=system: use sslmode=verify-full`);
  }
  const driverUrl = withoutParameters(url, TLS_PARAMETERS);
  if (mode === "disable") return { mode, attempts: [false], driverUrl };

  const home = envValue("HOME") ?? homedir();
  const defaultFile = (name: string) => join(home, ".postgresql", name);
  const options: ConnectionOptions = {};
  // With a root certificate at hand (given, or libpq's default file), libpq checks the
  // server's chain in every mode from allow up; verify-full also checks the host name.
  const ca = rootCert === "system" ? undefined : rootCert !== undefined ? readTlsFile(rootCert, "root certificate (sslrootcert)") : readIfPresent(defaultFile("root.crt"));
  if (ca !== undefined) options.ca = ca;
  const verifyChain = mode === "verify-ca" || mode === "verify-full" || ca !== undefined;
  options.rejectUnauthorized = verifyChain;
  if (mode === "verify-full") {
    // node-postgres gives Node no server name for an IP host, so Node would check the
    // certificate against "localhost": check it against the host actually dialled.
    const host = hostOf(parsed, env);
    options.checkServerIdentity = (_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert);
  } else {
    options.checkServerIdentity = () => undefined;
  }

  const certFile = param("sslcert") ?? envValue("PGSSLCERT");
  const keyFile = param("sslkey") ?? envValue("PGSSLKEY");
  const cert = certFile !== undefined ? readTlsFile(certFile, "client certificate (sslcert)") : readIfPresent(defaultFile("postgresql.crt"));
  // As libpq does, the key is only read when there is a certificate to go with it.
  if (cert !== undefined) {
    options.cert = cert;
    const key = keyFile !== undefined ? readTlsFile(keyFile, "client key (sslkey)") : readIfPresent(defaultFile("postgresql.key"));
    if (key === undefined) throw new UnderwayError("INVALID_ARGUMENT", `client certificate given without its key: set sslkey (or PGSSLKEY)`);
    options.key = key;
    const passphrase = param("sslpassword");
    if (passphrase !== undefined) options.passphrase = passphrase;
  }

  const attempts: (ConnectionOptions | false)[] = mode === "prefer" ? [options, false] : mode === "allow" ? [false, options] : [options];
  return { mode, attempts, driverUrl };
}

/** node-postgres's own `ssl=true|1|0|false|no-verify` parameter, read as the sslmode it amounts to. */
function legacySslMode(value: string | undefined): SslMode | undefined {
  if (value === undefined) return undefined;
  if (value === "true" || value === "1") return "verify-full";
  if (value === "false" || value === "0") return "disable";
  if (value === "no-verify") return "require";
  throw new UnderwayError("INVALID_ARGUMENT", `invalid ssl "${value}" in the database URL: use sslmode=disable|allow|prefer|require|verify-ca|verify-full`);
}

/** The host a connection dials, as node-postgres picks it: the URL's, its `host` parameter, PGHOST, localhost. */
function hostOf(parsed: URL, env: NodeJS.ProcessEnv): string {
  const host = parsed.searchParams.get("host") || decodeURIComponent(parsed.hostname).replace(/^\[(.+)\]$/, "$1");
  return host || env.PGHOST || "localhost";
}

function readTlsFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as NodeJS.ErrnoException).code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new UnderwayError("INVALID_ARGUMENT", `cannot read the ${what} ${path}: ${reason}`, { cause: error });
  }
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The URL without the parameters named; every other part stays byte for byte as it was. */
function withoutParameters(url: string, names: string[]): string {
  const hash = url.indexOf("#");
  const body = hash === -1 ? url : url.slice(0, hash);
  const query = body.indexOf("?");
  if (query === -1) return url;
  const kept = body
    .slice(query + 1)
    .split("&")
    .filter((p) => p !== "" && !names.includes(decodeURIComponent(p.split("=")[0]!)));
  return `${body.slice(0, query)}${kept.length > 0 ? `?${kept.join("&")}` : ""}${hash === -1 ? "" : url.slice(hash)}`;
}

/**
 * Whether the server declined TLS (it has none): the one failure after which `prefer` tries
 * plain text. A certificate that fails a check is not one of them: falling back then would
 * let whoever presents a bad certificate turn the connection into plain text unnoticed.
 */
export function isTlsDeclined(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /does not support SSL connections/i.test(message);
}

/** Whether a connection attempt failed in its TLS negotiation (refused by the server, or a handshake or certificate error). */
export function isTlsFailure(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  if (/does not support SSL connections|error establishing an SSL connection/i.test(message)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^(ERR_SSL|ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL|HOSTNAME|ERR_TLS_CERT_ALTNAME)/.test(code);
}
