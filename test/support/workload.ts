import pg from "pg";

/** One writer's account of what it did: only committed work counts. */
export interface WriterStats {
  updates: number;
  inserts: number;
  /** Sum of committed balance deltas, including inserted rows' balances. */
  delta: bigint;
  failures: string[];
}

/**
 * A client writing continuously through one version: short transactions that move a
 * random row's balance and sometimes insert a row, counting only what committed. The
 * table is `accounts(id, owner/holder, balance)`; `columns` names them for the version.
 */
export class Writer {
  readonly stats: WriterStats = { updates: 0, inserts: 0, delta: 0n, failures: [] };
  private running = false;
  private loop: Promise<void> | undefined;
  private client: pg.Client | undefined;

  constructor(
    private readonly url: string,
    private readonly searchPath: string,
    private readonly rows: number,
    private readonly columns: { owner: string; balance: string } = { owner: "owner", balance: "balance" },
  ) {}

  async start(): Promise<void> {
    this.client = new pg.Client({ connectionString: this.url });
    this.client.on("error", () => {});
    await this.client.connect();
    await this.client.query(`SET search_path TO ${this.searchPath}`);
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<WriterStats> {
    this.running = false;
    await this.loop;
    await this.client?.end();
    return this.stats;
  }

  private async run(): Promise<void> {
    const client = this.client!;
    let n = 0;
    while (this.running) {
      n++;
      const insert = n % 10 === 0;
      const delta = (n % 7) - 3;
      try {
        await client.query("BEGIN");
        if (insert) {
          await client.query(`INSERT INTO accounts ("${this.columns.owner}", "${this.columns.balance}") VALUES ($1, $2)`, [`writer ${n}`, delta]);
        } else {
          const id = 1 + Math.floor(Math.random() * this.rows);
          const result = await client.query(`UPDATE accounts SET "${this.columns.balance}" = "${this.columns.balance}" + $1 WHERE id = $2`, [delta, id]);
          if (result.rowCount !== 1) throw new Error(`row ${id} not found`);
        }
        await client.query("COMMIT");
        if (insert) this.stats.inserts++;
        else this.stats.updates++;
        this.stats.delta += BigInt(delta);
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        this.stats.failures.push(error instanceof Error ? error.message : String(error));
        if (this.stats.failures.length > 50) return;
      }
    }
  }
}
