/**
 * The address clients use for "the primary", as a VIP, a DNS name or PgBouncer gives them
 * in production: a TCP proxy on 127.0.0.1 that forwards every connection to the current
 * primary. After a failover it is pointed at the new primary, so DATABASE_URL stays the
 * same for underway and the application alike; and it can cut the network between its
 * clients and the database, either by resetting every connection (a firewall rejecting,
 * a pooler restarting) or by stalling them (packets dropped: TCP retransmits, nothing errors
 * until the link returns).
 */
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";

export interface ProxyTarget {
  host: string;
  port: number;
}

/** How a cut looks to the clients. */
export type CutMode = "reset" | "stall";

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

export class TcpProxy {
  readonly host = "127.0.0.1";
  /** Connections accepted, and connections the proxy closed on purpose (cuts, retargets). */
  readonly stats = { accepted: 0, dropped: 0 };
  private readonly pairs = new Set<Pair>();
  private cutMode: CutMode | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private current: ProxyTarget,
  ) {}

  /**
   * Listens on a free port of 127.0.0.1 and forwards to `target`.
   *
   * @example
   * const proxy = await TcpProxy.start(cluster.primary);
   * const url = proxy.url(databaseUrl); // same user and database, the proxy's address
   * await failover(cluster);
   * proxy.retarget(cluster.primary);
   */
  static async start(target: ProxyTarget): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolvePromise, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolvePromise());
    });
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const proxy = new TcpProxy(server, port, { host: target.host, port: target.port });
    server.on("connection", (socket) => proxy.accept(socket));
    // The proxy must not keep a process alive on its own.
    server.unref();
    return proxy;
  }

  get target(): ProxyTarget {
    return this.current;
  }

  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string {
    const parsed = new URL(databaseUrl);
    parsed.hostname = this.host;
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /** Sends new connections to `target` and closes the ones to the old target. */
  retarget(target: ProxyTarget): void {
    this.current = { host: target.host, port: target.port };
    this.dropAll();
  }

  /**
   * Cuts the network until `heal()`. `reset`: every connection is closed now and new ones
   * are closed as soon as they arrive. `stall`: connections stay open but nothing passes
   * either way, and new ones wait, as behind a link that drops every packet.
   */
  cut(mode: CutMode): void {
    this.cutMode = mode;
    if (mode === "reset") this.dropAll();
    else for (const pair of this.pairs) this.pause(pair);
  }

  /** Ends a cut: stalled connections carry on where they stopped, waiting ones are connected. */
  heal(): void {
    const mode = this.cutMode;
    this.cutMode = null;
    if (mode !== "stall") return;
    for (const pair of this.pairs) {
      if (pair.upstream) {
        pair.client.resume();
        pair.upstream.resume();
      } else this.connectUpstream(pair);
    }
  }

  get isCut(): boolean {
    return this.cutMode !== null;
  }

  /** Closes every connection and stops listening. */
  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolvePromise) => this.server.close(() => resolvePromise()));
  }

  private accept(client: Socket): void {
    this.stats.accepted++;
    client.setNoDelay(true);
    if (this.cutMode === "reset") {
      this.stats.dropped++;
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: undefined };
    this.pairs.add(pair);
    client.on("error", () => this.close1(pair));
    client.on("close", () => this.close1(pair));
    if (this.cutMode === "stall") client.pause();
    else this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const upstream = tcpConnect({ host: this.current.host, port: this.current.port });
    upstream.setNoDelay(true);
    pair.upstream = upstream;
    upstream.on("error", () => this.close1(pair));
    upstream.on("close", () => this.close1(pair));
    pair.client.on("data", (chunk: Buffer) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => pair.client.write(chunk));
    pair.client.resume();
  }

  private pause(pair: Pair): void {
    pair.client.pause();
    pair.upstream?.pause();
  }

  private dropAll(): void {
    for (const pair of [...this.pairs]) {
      this.stats.dropped++;
      this.close1(pair, true);
    }
  }

  /** Closes both ends of a pair; `reset` sends an RST, as a rejecting firewall or a dead host's kernel would. */
  private close1(pair: Pair, reset = false): void {
    if (!this.pairs.delete(pair)) return;
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
