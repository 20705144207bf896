import { createConnection, createServer } from "node:net";

/** Loopback, where every throwaway server of the harness listens. */
const HOST = "127.0.0.1";

/** A port on 127.0.0.1 that nothing listens on now, found by binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Calls `onLine` with each line of a child's output as it comes, and the last unfinished
 * one when the stream ends. With `unref`, the stream does not keep this process alive.
 */
export function forEachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void, options: { unref?: boolean } = {}): void {
  if (!stream) return;
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  stream.on("end", () => {
    if (pending) onLine(pending);
  });
  if (options.unref) (stream as NodeJS.ReadableStream & { unref?: () => void }).unref?.();
}
