/**
 * A real network between a client and a PostgreSQL node: two network namespaces made
 * here, joined by a veth pair with a private /30 that exists only inside them. The node's
 * side runs a relay from its address to the server's Unix socket (namespaces do not
 * separate filesystem sockets), so the server itself is untouched; the client's side runs
 * whatever is given (the underway CLI, under `ip netns exec`). A cut sets both ends of the
 * link down: packets go nowhere, nothing is reset, and TCP retransmits until the link is
 * back, as across a real partition. `tc netem` adds latency or loss where the kernel has
 * it (`netemAvailable()`; sandboxed kernels often do not). Needs root (CAP_NET_ADMIN) and
 * iproute2; `netnsAvailable()` says whether this machine has them.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export interface NetnsLink {
  /** Namespace the client runs in. */
  clientNs: string;
  /** The relay's address and port, as the client reaches the node. */
  host: string;
  port: number;
  /** `databaseUrl` pointed at the relay. */
  url(databaseUrl: string): string;
  /** The argv prefix that runs a program in the client's namespace. */
  exec: string[];
  /** Drops every packet both ways (both ends of the link down) until `heal()`. */
  cut(): void;
  /** Brings the link back up and removes any netem qdisc. */
  heal(): void;
  /** Adds latency (and jitter) both ways with netem; throws where the kernel has no netem. */
  delay(ms: number, jitterMs?: number): void;
  /** Drops a share of packets both ways with netem. */
  loss(percent: number): void;
  /** Stops the relay and deletes both namespaces (and so the link). Calling it again does nothing. */
  close(): void;
}

let counter = 0;
const live = new Set<NetnsLink>();
let hooked = false;

/** Whether this process may create network namespaces (root, iproute2, tc). */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `uwprobe${process.pid % 100_000}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "ignore" });
    execFileSync("ip", ["netns", "del", probe], { stdio: "ignore" });
    execFileSync("tc", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Whether `tc netem` works here (a kernel module many sandboxes lack). */
export function netemAvailable(): boolean {
  if (!netnsAvailable()) return false;
  const ns = `uwnetem${process.pid % 100_000}`;
  try {
    execFileSync("ip", ["netns", "add", ns], { stdio: "ignore" });
    execFileSync("ip", ["netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // Never made.
    }
  }
}

/**
 * Builds the two namespaces and the link, and a relay in the node's namespace from
 * `10.213.N.1:port` to the server's Unix socket.
 *
 * @example
 * const link = await startNetnsLink(cluster.primary);
 * const run = underway(["start", file, "--database-url", link.url(url)], {}, [...link.exec, process.execPath, CLI]);
 * link.cut(); await sleep(5000); link.heal();
 */
export async function startNetnsLink(node: { socketDir: string; port: number }): Promise<NetnsLink> {
  const id = `${process.pid % 10_000}x${counter++}`;
  const clientNs = `uwc${id}`;
  const nodeNs = `uwn${id}`;
  const clientIf = `uwc${id}`.slice(0, 15);
  const nodeIf = `uwn${id}`.slice(0, 15);
  // A /30 inside 10.213.0.0/16, different for each link of the process.
  const subnet = `10.213.${(process.pid + counter) % 250}`;
  const host = `${subnet}.1`;
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  const tc = (ns: string, ...args: string[]) => execFileSync("ip", ["netns", "exec", ns, "tc", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let relay: ChildProcess | undefined;
  let closed = false;

  const close = () => {
    if (closed) return;
    closed = true;
    live.delete(link);
    relay?.kill("SIGKILL");
    for (const ns of [clientNs, nodeNs]) {
      try {
        ip("netns", "del", ns);
      } catch {
        // Not created, or already gone.
      }
    }
  };
  const netem = (...args: string[]) => {
    for (const [ns, dev] of [[clientNs, clientIf], [nodeNs, nodeIf]] as const) tc(ns, "qdisc", "replace", "dev", dev, "root", "netem", ...args);
  };
  const link: NetnsLink = {
    clientNs,
    host,
    port: node.port,
    url(databaseUrl) {
      const parsed = new URL(databaseUrl);
      parsed.hostname = host;
      parsed.port = String(node.port);
      return parsed.toString();
    },
    exec: ["ip", "netns", "exec", clientNs],
    cut() {
      for (const [ns, dev] of [[clientNs, clientIf], [nodeNs, nodeIf]] as const) ip("-n", ns, "link", "set", dev, "down");
    },
    heal() {
      for (const [ns, dev] of [[clientNs, clientIf], [nodeNs, nodeIf]] as const) {
        ip("-n", ns, "link", "set", dev, "up");
        try {
          tc(ns, "qdisc", "del", "dev", dev, "root");
        } catch {
          // No qdisc to remove.
        }
      }
    },
    delay: (ms, jitterMs = 0) => netem("delay", `${ms}ms`, ...(jitterMs > 0 ? [`${jitterMs}ms`] : [])),
    loss: (percent) => netem("loss", `${percent}%`),
    close,
  };
  live.add(link);
  registerExitHook();
  try {
    ip("netns", "add", clientNs);
    ip("netns", "add", nodeNs);
    ip("link", "add", clientIf, "type", "veth", "peer", "name", nodeIf);
    ip("link", "set", clientIf, "netns", clientNs);
    ip("link", "set", nodeIf, "netns", nodeNs);
    ip("-n", clientNs, "addr", "add", `${subnet}.2/30`, "dev", clientIf);
    ip("-n", nodeNs, "addr", "add", `${host}/30`, "dev", nodeIf);
    for (const [ns, dev] of [[clientNs, clientIf], [nodeNs, nodeIf]] as const) {
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "set", dev, "up");
    }
    relay = spawn("ip", ["netns", "exec", nodeNs, process.execPath, "-e", RELAY, host, String(node.port), join(node.socketDir, `.s.PGSQL.${node.port}`)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    relay.unref();
    await new Promise<void>((resolve, reject) => {
      relay!.once("exit", (code) => reject(new Error(`the netns relay exited (${code})`)));
      relay!.stdout!.once("data", () => resolve());
    });
    (relay.stdout as unknown as { unref?: () => void }).unref?.();
    return link;
  } catch (error) {
    close();
    throw error;
  }
}

/** The relay: TCP on the node's address to the server's Unix socket; prints once it listens. */
const RELAY = `
const net = require("node:net");
const [host, port, socket] = process.argv.slice(1);
net.createServer((client) => {
  const server = net.connect(socket);
  const end = () => { client.destroy(); server.destroy(); };
  client.on("error", end); server.on("error", end); client.on("close", end); server.on("close", end);
  client.pipe(server); server.pipe(client);
}).listen(Number(port), host, () => console.log("listening"));
`;

function registerExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const link of [...live]) link.close();
  });
}
