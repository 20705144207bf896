import { describe, expect, it } from "vitest";

import { UnderwayError } from "../../../src/errors.js";
import { parseMigration } from "../../../src/format/schema.js";
import type { Probe } from "../../../src/plan/operations/plan-context.js";
import { planMigration, type PlanInput } from "../../../src/plan/planner.js";
import type { ColumnModel, ConstraintModel, IndexModel, SchemaModel, TableModel } from "../../../src/plan/schema-model.js";
import type { MigrationPlan, Step } from "../../../src/plan/step.js";

/**
 * Plans a migration against a schema model built by hand, with a probe that answers from
 * the case instead of a database: planning is pure apart from the probe, so these tests
 * need no PostgreSQL and run in milliseconds.
 */

export const SCHEMA = "public";
export const STATE_SCHEMA = "underway";
export const MIGRATION = "02_change";
export const FILE = "migrations/02_change.yaml";
export const VERSION_SCHEMA = "public_02_change";
export const PREVIOUS_VERSION_SCHEMA = "public_01_init";

/** `"public"."<table>"`, as the planner names every table it touches. */
export const ref = (table: string): string => `"${SCHEMA}"."${table}"`;

export function column(name: string, type: string, options: Partial<ColumnModel> = {}): ColumnModel {
  return { name, physical: name, type, nullable: true, default: null, comment: null, identity: false, generated: false, ...options };
}

export function index(name: string, table: string, columns: string[], options: { unique?: boolean; primary?: boolean; constraint?: string } = {}): IndexModel {
  const unique = Boolean(options.unique || options.primary);
  return {
    name,
    columns,
    unique,
    primary: Boolean(options.primary),
    // pg_get_indexdef()'s form, which introspection stores.
    definition: `CREATE ${unique ? "UNIQUE " : ""}INDEX ${name} ON ${SCHEMA}.${table} USING btree (${columns.join(", ")})`,
    constraint: options.constraint ?? null,
  };
}

export function constraint(name: string, type: ConstraintModel["type"], columns: string[], definition: string): ConstraintModel {
  return { name, type, columns, definition, validated: true };
}

export function table(name: string, columns: ColumnModel[], options: Partial<TableModel> = {}): TableModel {
  return {
    name,
    physical: name,
    columns,
    primaryKey: [],
    indexes: [],
    constraints: [],
    comment: null,
    replicaIdentity: "DEFAULT",
    attributes: columns.length,
    ...options,
  };
}

export function schemaOf(...tables: TableModel[]): SchemaModel {
  return { schema: SCHEMA, tables: new Map(tables.map((t) => [t.name, t])), enums: new Map() };
}

/**
 * The schema most cases start from, as introspection would read it after
 * `01_init`:
 *
 *     users (id integer PK, name text NOT NULL, email text UNIQUE, age integer DEFAULT 0
 *            CHECK (age >= 0), bio text)  + index users_name_idx (name)
 *     posts (id integer PK, user_id integer NOT NULL REFERENCES users (id), title text NOT NULL,
 *            UNIQUE (user_id, title))
 */
export function shop(): SchemaModel {
  const users = table(
    "users",
    [
      column("id", "integer", { nullable: false, default: "nextval('public.users_id_seq'::regclass)" }),
      column("name", "text", { nullable: false }),
      column("email", "text"),
      column("age", "integer", { default: "0" }),
      column("bio", "text", { comment: "about me" }),
    ],
    {
      primaryKey: ["id"],
      indexes: [
        index("users_pkey", "users", ["id"], { primary: true, constraint: "users_pkey" }),
        index("users_email_key", "users", ["email"], { unique: true, constraint: "users_email_key" }),
        index("users_name_idx", "users", ["name"]),
      ],
      constraints: [
        constraint("users_pkey", "p", ["id"], "PRIMARY KEY (id)"),
        constraint("users_email_key", "u", ["email"], "UNIQUE (email)"),
        constraint("users_age_check", "c", ["age"], "CHECK ((age >= 0))"),
      ],
    },
  );
  const posts = table(
    "posts",
    [column("id", "integer", { nullable: false }), column("user_id", "integer", { nullable: false }), column("title", "text", { nullable: false })],
    {
      primaryKey: ["id"],
      indexes: [
        index("posts_pkey", "posts", ["id"], { primary: true, constraint: "posts_pkey" }),
        index("posts_user_id_title_key", "posts", ["user_id", "title"], { unique: true, constraint: "posts_user_id_title_key" }),
      ],
      constraints: [
        constraint("posts_pkey", "p", ["id"], "PRIMARY KEY (id)"),
        constraint("posts_user_id_fkey", "f", ["user_id"], "FOREIGN KEY (user_id) REFERENCES public.users(id)"),
        constraint("posts_user_id_title_key", "u", ["user_id", "title"], "UNIQUE (user_id, title)"),
      ],
    },
  );
  return schemaOf(users, posts);
}

/** What a fake probe answers, fixed per case. */
export interface ProbeAnswers {
  /** Whether `ADD COLUMN ... DEFAULT <expr>` would rewrite the table (a volatile default). */
  defaultRewrites?: boolean;
  /** Whether the server would accept a statement (a default or check that fits a new type). */
  compiles?: boolean;
}

/** A probe with fixed answers that records what the planner asked. */
export interface FakeProbe extends Probe {
  asked: { defaultRewrites: { type: string; expression: string }[]; compiles: string[] };
}

export function fakeProbe(answers: ProbeAnswers = {}): FakeProbe {
  const asked: FakeProbe["asked"] = { defaultRewrites: [], compiles: [] };
  return {
    asked,
    async defaultRewrites(type, expression) {
      asked.defaultRewrites.push({ type, expression });
      return answers.defaultRewrites ?? false;
    },
    async compiles(sql) {
      asked.compiles.push(sql);
      return answers.compiles ?? true;
    },
  };
}

export interface PlanOptions {
  before?: SchemaModel;
  probe?: Probe;
  previousVersionSchema?: string | null;
}

/** Parses `operations` (as a file has them) with the format's entry and plans them. */
export async function plan(operations: unknown[], options: PlanOptions = {}): Promise<MigrationPlan> {
  const migration: PlanInput["migration"] = parseMigration({ operations }, { name: MIGRATION, file: FILE });
  return planMigration({
    schema: SCHEMA,
    stateSchema: STATE_SCHEMA,
    migration,
    file: FILE,
    versionSchema: VERSION_SCHEMA,
    previousVersionSchema: options.previousVersionSchema === undefined ? PREVIOUS_VERSION_SCHEMA : options.previousVersionSchema,
    previousMigration: "01_init",
    before: options.before ?? shop(),
    probe: options.probe ?? fakeProbe(),
  });
}

/**
 * The message of the INVALID_MIGRATION error the planner refuses `operations` with. The
 * format must accept them first: a refusal that the parser makes is not the planner's.
 */
export async function refusal(operations: unknown[], options: PlanOptions = {}): Promise<string> {
  expect(() => parseMigration({ operations }, { name: MIGRATION, file: FILE }), "the format accepts the file").not.toThrow();
  const error = await plan(operations, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the planner accepted the migration").toBeInstanceOf(UnderwayError);
  expect((error as UnderwayError).code).toBe("INVALID_MIGRATION");
  return (error as UnderwayError).message;
}

/** Each step as `kind: description`, for asserting a phase's shape and order. */
export function outline(steps: Step[]): string[] {
  return steps.map((s) => `${s.kind}: ${s.description}`);
}

/** Every SQL statement a phase runs, in order (a contract's parts flattened). */
export function statements(steps: Step[]): string[] {
  return steps.flatMap((step): string[] => {
    switch (step.kind) {
      case "ddl":
        return step.statements;
      case "concurrent_index":
        return [step.statement];
      case "user_sql":
        return [step.sql];
      case "contract":
        return [...step.before, ...step.tables.flatMap((t) => [...t.pre, ...t.post]), ...step.after];
      default:
        return [];
    }
  });
}

/** The one step of `kind` in a phase (and, when given, whose description contains `about`). */
export function stepOf<K extends Step["kind"]>(steps: Step[], kind: K, about?: string): Extract<Step, { kind: K }> {
  const found = steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind && (about === undefined || s.description.includes(about)));
  expect(found.map((s) => s.description), `one ${kind} step${about ? ` about "${about}"` : ""}`).toHaveLength(1);
  return found[0]!;
}

/** The contract step of a complete phase. */
export function contractOf(plan: MigrationPlan): Extract<Step, { kind: "contract" }> {
  return stepOf(plan.complete, "contract");
}

/** The version schema the start phase builds: its mapping is what the new version sees. */
export function versionStep(plan: MigrationPlan): Extract<Step, { kind: "version_schema" }> {
  const last = plan.start.at(-1)!;
  expect(last.kind, "start ends with the version schema").toBe("version_schema");
  return last as Extract<Step, { kind: "version_schema" }>;
}

/** The dual-write trigger statement, as `CREATE TRIGGER` has it (name, timing, table, mode). */
export function triggerStatement(table: string, mode: "single" | "early" | "late" = "single", name = "zz_uw_dual_write"): RegExp {
  const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `^CREATE TRIGGER ${escaped(`"${name}"`)} BEFORE INSERT OR UPDATE ON ${escaped(ref(table))} FOR EACH ROW WHEN .* EXECUTE FUNCTION "${STATE_SCHEMA}"\\."dual_write_[0-9a-f]+_${table}"\\('${mode}'\\)$`,
  );
}

/** What rollback always does first: the new version's schema goes before anything it reads. */
export const DROP_VERSION_SCHEMA = `DROP SCHEMA IF EXISTS "${VERSION_SCHEMA}" CASCADE`;
/** What the contract always does first: the previous version's schema goes. */
export const DROP_PREVIOUS_VERSION_SCHEMA = `DROP SCHEMA IF EXISTS "${PREVIOUS_VERSION_SCHEMA}" CASCADE`;

/** One migration planned against a model, with what each phase must show. */
export interface PlanCase {
  name: string;
  operations: unknown[];
  /** The schema before the migration; `shop()` when absent. */
  before?: () => SchemaModel;
  /** The fake probe's fixed answers for this case. */
  probe?: ProbeAnswers;
  start: PhaseCheck;
  complete: PhaseCheck;
  rollback: PhaseCheck;
}

/** What one phase must show, and the assertions that say so. */
export type PhaseCheck = [says: string, check: (plan: MigrationPlan, probe: FakeProbe) => void];

const PHASES = ["start", "complete", "rollback"] as const;

/** One `describe` per case and one `it` per phase, each planning afresh (no state shared). */
export function describePlans(cases: PlanCase[]): void {
  describe.each(cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    it.each(PHASES.map((phase) => [`${phase}: ${c[phase][0]}`, phase] as const))("%s", async (_, phase) => {
      const probe = fakeProbe(c.probe);
      const planned = await plan(c.operations, { probe, ...(c.before ? { before: c.before() } : {}) });
      c[phase][1](planned, probe);
    });
  });
}

/** How the new version sees a table: each column as `name=physical` (undefined when its view is unchanged). */
export function mapped(plan: MigrationPlan, physical: string): string[] | undefined {
  return versionStep(plan).mapping.tables[physical]?.columns.map((c) => (c.name === c.physical ? c.name : `${c.name}=${c.physical}`));
}

/** The dual-write assignments of a table as `target <- expression`, and the column pairs it keeps in step. */
export function dualWriteOf(plan: MigrationPlan, table: string): { up: string[]; down: string[]; pairs: string[] } {
  const spec = plan.dualWrite.find((d) => d.table === table);
  expect(spec, `a dual write on ${table}`).toBeDefined();
  return {
    up: spec!.up.map((a) => `${a.target} <- ${a.expression}`),
    down: spec!.down.map((a) => `${a.target} <- ${a.expression}`),
    pairs: spec!.pairs.map((p) => `${p.old} ~ ${p.new}`),
  };
}
