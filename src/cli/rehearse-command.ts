import type { Command } from "commander";
import { UnderwayError } from "../errors.js";
import { parseDurationMs } from "../util/time.js";
import { FAULTS, TOPOLOGIES, allFaults, type Fault, type TopologyKind } from "../rehearse/faults.js";
import type { RehearsalOptions } from "../rehearse/rehearsal.js";
import { FAKE_KINDS, MASK_RULES, type MaskRule } from "../mask/policy.js";

interface RehearseFlags {
  from?: string;
  schema: string;
  stateSchema: string;
  sample: string;
  faults?: string;
  topology: string;
  pooler?: string;
  rows: string;
  backfillTime: string;
  clients: string;
  mask: boolean;
  maskFile?: string;
  maskFlagged?: string;
  json?: boolean;
  verbose?: boolean;
}

/** `--sample 1%`, `0.5%` or a fraction such as `0.01`. */
export function parseSample(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const value = match ? Number(match[1]) / (match[2] ? 100 : 1) : NaN;
  if (!(value > 0 && value <= 1)) throw new UnderwayError("INVALID_ARGUMENT", `invalid --sample "${text}": a percentage such as 1% (at most 100%)`);
  return value;
}

/** `--topology simple` or `patroni`. */
export function parseTopology(text: string): TopologyKind {
  const kind = text.trim().toLowerCase();
  if ((TOPOLOGIES as readonly string[]).includes(kind)) return kind as TopologyKind;
  throw new UnderwayError("INVALID_ARGUMENT", `invalid --topology "${text}": choose ${TOPOLOGIES.join(" or ")}`);
}

/** `--pooler pgbouncer`. */
export function parsePooler(text: string | undefined): "pgbouncer" | undefined {
  if (text === undefined) return undefined;
  if (text.trim().toLowerCase() === "pgbouncer") return "pgbouncer";
  throw new UnderwayError("INVALID_ARGUMENT", `invalid --pooler "${text}": the one pooler is pgbouncer`);
}

/** `--faults kill,failover`, `all` (every fault the topology can inject) or `none`; undefined: the topology's default. */
export function parseFaults(text: string | undefined, topology: TopologyKind = "patroni"): Fault[] | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "all") return allFaults(topology);
  if (trimmed === "none" || trimmed === "") return [];
  const faults = trimmed.split(",").map((f) => f.trim());
  const unknown = faults.filter((f) => !(FAULTS as readonly string[]).includes(f));
  if (unknown.length > 0) throw new UnderwayError("INVALID_ARGUMENT", `unknown fault(s) ${unknown.join(", ")}: choose from ${FAULTS.join(", ")}, all or none`);
  return [...new Set(faults)] as Fault[];
}

/** `--mask-flagged hash`: `refuse` or one of the masking rules. */
export function parseMaskFlagged(text: string | undefined): MaskRule | "refuse" | undefined {
  if (text === undefined) return undefined;
  const rule = text.trim().toLowerCase();
  if (rule === "refuse" || (MASK_RULES as readonly string[]).includes(rule)) return rule as MaskRule | "refuse";
  throw new UnderwayError("INVALID_ARGUMENT", `invalid --mask-flagged "${text}": choose refuse, keep, hash, null, fake or fake:<kind> (${FAKE_KINDS.join(", ")})`);
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const value = Number(text.replaceAll("_", ""));
  if (!Number.isInteger(value) || value < min || value > max) throw new UnderwayError("INVALID_ARGUMENT", `${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  return value;
}

/**
 * `underway rehearse FILE`: runs the migration on a throwaway local cluster under a
 * workload while injecting faults, and reports what the application saw. Exit 1 when a
 * write was lost, a query failed outside an injected outage, or the migration did not finish.
 */
export function registerRehearseCommand(program: Command): void {
  program
    .command("rehearse")
    .description("rehearse a migration on a throwaway local primary + replicas under load, injecting faults")
    .argument("<file>", "migration file (YAML or JSON)")
    .option("--from <url>", "copy the schema and a sample of rows from this database (default: apply the migrations before FILE in its directory)")
    .option("--schema <name>", "schema the migrations change", "public")
    .option("--state-schema <name>", "schema where underway keeps its state", "underway")
    .option("--sample <percent>", "share of each table's rows to copy from --from (tables under 10,000 rows are copied whole)", "1%")
    .option("--topology <kind>", "simple: a primary and replicas the rehearsal fails over itself; patroni: Patroni with etcd behind HAProxy", "simple")
    .option("--pooler <name>", "pgbouncer: PgBouncer in transaction mode in front of the cluster (with --topology patroni)")
    .option("--faults <list>", `faults to inject: ${FAULTS.join(",")}, all or none (default: all the topology can inject; simple: all but complete-failover)`)
    .option("--rows <n>", "rows to generate per table without --from", "20000")
    .option("--backfill-time <duration>", "how long the backfill should last, so the faults land inside it", "15s")
    .option("--clients <n>", "application clients per version", "2")
    .option("--mask-file <file>", "masking rules for the sample from --from (YAML or JSON: salt, flagged, default, tables: { users: { email: hash } })")
    .option("--mask-flagged <rule>", "rule for columns that look personal and have none: refuse (default), hash, fake, null or keep")
    .option("--no-mask", "copy the sample from --from unmasked (a warning says so)")
    .option("--json", "print the report as JSON")
    .option("--verbose", "print error details")
    .action(async (file: string, flags: RehearseFlags) => {
      if (!flags.from && (flags.maskFile !== undefined || flags.maskFlagged !== undefined)) {
        throw new UnderwayError("INVALID_ARGUMENT", "--mask-file and --mask-flagged mask the sample copied by --from: give --from, or drop them");
      }
      if (!flags.mask && (flags.maskFile !== undefined || flags.maskFlagged !== undefined)) {
        throw new UnderwayError("INVALID_ARGUMENT", "--no-mask copies every value as it is: drop --mask-file and --mask-flagged, or --no-mask");
      }
      const topology = parseTopology(flags.topology);
      const options: RehearsalOptions = {
        file,
        from: flags.from,
        schema: flags.schema,
        stateSchema: flags.stateSchema,
        sample: parseSample(flags.sample),
        topology,
        pooler: parsePooler(flags.pooler),
        faults: parseFaults(flags.faults, topology),
        rows: wholeNumber("--rows", flags.rows, 100, 10_000_000),
        backfillSeconds: parseDurationMs(flags.backfillTime, "--backfill-time") / 1000,
        clients: wholeNumber("--clients", flags.clients, 1, 32),
        mask: flags.mask ? { file: flags.maskFile, flagged: parseMaskFlagged(flags.maskFlagged) } : false,
        log: (line) => process.stderr.write(`${line}\n`),
      };
      // The rehearsal harness (throwaway clusters, proxies, a workload) loads only once the flags are known to be good.
      const [{ rehearse }, { formatReport }] = await Promise.all([import("../on-demand.js"), import("../rehearse/report.js")]);
      const report = await rehearse(options);
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
      if (!report.ok) process.exitCode = 1;
    });
}
