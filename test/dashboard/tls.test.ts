import { execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { scratchDir, underway } from "../cli/run-cli.js";
import { until } from "./fixture.js";

/** One HTTPS request that trusts only `ca`; resolves to the status and body. */
function httpsRequest(url: string, ca: Buffer, options: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, method: options.method ?? "GET", headers: options.headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** `underway dashboard --tls-cert --tls-key`: HTTPS, and no plain HTTP on an address other machines reach. */
describe("dashboard over TLS", () => {
  let db: FreshDatabase;
  let cert: string;
  let key: string;
  beforeAll(async () => {
    db = await freshDatabase("dashboard_tls");
    const dir = await scratchDir();
    cert = join(dir, "cert.pem");
    key = join(dir, "key.pem");
    // A self-signed certificate for 127.0.0.1, which the client below trusts as its only CA.
    await promisify(execFile)("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
    ]);
  });
  afterAll(() => db?.drop());

  it("serves the page over HTTPS on 127.0.0.1 and still wants the token for a control", async () => {
    const child = spawn(process.execPath, [CLI, "dashboard", "--port", "0", "--json", "--tls-cert", cert, "--tls-key", key, "--database-url", db.url], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      const started = JSON.parse(await until(`the address on stdout (${stderr})`, () => lines[0], 20_000)) as { url: string; token: string };
      expect(started.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
      const ca = await readFile(cert);
      const page = await httpsRequest(started.url, ca);
      expect(page.status).toBe(200);
      expect(page.body).toContain("<html");
      expect((await httpsRequest(new URL("/api/pause", started.url).toString(), ca, { method: "POST" })).status).toBe(401);
      const allowed = await httpsRequest(new URL("/api/pause", started.url).toString(), ca, { method: "POST", headers: { authorization: `Bearer ${started.token}` } });
      expect(allowed.status).toBe(409); // the token opens the control; there is just no migration to pause
      // Plain HTTP on the same port gets no page.
      await expect(fetch(started.url.replace("https:", "http:"))).rejects.toThrow();
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  });

  it("refuses an address other machines reach without TLS, and half a TLS pair, as usage errors", async () => {
    const open = await underway(["dashboard", "--host", "0.0.0.0", "--port", "0", "--database-url", db.url]);
    expect(open.code, open.stderr).toBe(2);
    expect(open.errorLines).toEqual([expect.stringMatching(/^underway: .*0\.0\.0\.0.*only over TLS: give --tls-cert and --tls-key/)]);
    const half = await underway(["dashboard", "--port", "0", "--tls-cert", cert, "--database-url", db.url]);
    expect(half.code, half.stderr).toBe(2);
    expect(half.errorLines).toEqual(["underway: --tls-cert and --tls-key go together: give --tls-key too"]);
    const unreadable = await underway(["dashboard", "--port", "0", "--tls-cert", cert, "--tls-key", join(cert, "..", "missing.pem"), "--database-url", db.url]);
    expect(unreadable.code, unreadable.stderr).toBe(2);
    expect(unreadable.errorLines).toEqual([expect.stringMatching(/^underway: --tls-key .*missing\.pem: cannot read it \(ENOENT\)$/)]);
  });
});
