import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { UnderwayError } from "../errors.js";

/** A listening HTTP server. */
export interface HttpServer {
  /** `http://host:port` (`https://` with TLS), with the port actually bound (for port 0). */
  url: string;
  host: string;
  port: number;
  /** Stops listening and drops open connections (server-sent event streams never end by themselves). */
  close(): Promise<void>;
}

/** The default address: this machine only. */
export const LOOPBACK = "127.0.0.1";

/** A PEM certificate (chain) and its private key: the server speaks HTTPS with them. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/**
 * Serves a fetch handler (a Hono app's `fetch`) on `host:port`; port 0 picks a free one.
 * With `tls` it serves HTTPS.
 *
 * @example
 * const server = await startHttpServer(app.fetch, { port: 9464 });
 * console.log(`${server.url}/metrics`);
 */
export function startHttpServer(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { port: number; host?: string; tls?: TlsFiles },
): Promise<HttpServer> {
  const host = options.host ?? LOOPBACK;
  return new Promise((resolve, reject) => {
    let server: Server;
    try {
      server = (
        options.tls
          ? serve({ fetch, port: options.port, hostname: host, createServer: createHttpsServer, serverOptions: { cert: options.tls.cert, key: options.tls.key } })
          : serve({ fetch, port: options.port, hostname: host })
      ) as Server;
    } catch (error) {
      // A key that does not parse, or does not match the certificate, fails here, before listening.
      reject(new UnderwayError("INVALID_ARGUMENT", `cannot serve HTTPS with the given certificate and key: ${(error as Error).message}`, { cause: error }));
      return;
    }
    const failed = (error: NodeJS.ErrnoException) => {
      const reason = error.code === "EADDRINUSE" ? "the address is in use" : error.code === "EACCES" ? "permission denied" : error.message;
      reject(new UnderwayError("INVALID_STATE", `cannot listen on ${host}:${options.port}: ${reason}`, { cause: error }));
    };
    server.once("error", failed);
    server.once("listening", () => {
      server.off("error", failed);
      const address = server.address() as AddressInfo;
      const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
      resolve({
        url: `${options.tls ? "https" : "http"}://${shown}:${address.port}`,
        host: address.address,
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
