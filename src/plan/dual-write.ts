import { createHash } from "node:crypto";
import { ident, literal, qualified } from "../db/ident.js";
import { asValueExpression, dollarTag, referencedColumns } from "./sql-expression.js";

/**
 * Dual write: while a migration is active, BEFORE ROW triggers on each changed table keep
 * the old and new representations in step. `up` fills new columns from the old version's
 * (evaluated with the old version's column names bound to the row), `down` fills old
 * columns from the new version's (with the new version's names).
 *
 * Which way a row goes is decided from what the statement wrote, not from who the session
 * claims to be: a client of the new version can still name the physical table (ORMs that
 * qualify names do), and a session setting does not follow a client through a transaction
 * pooler. The physical columns only one version has (`marked`) tell:
 *
 * - an UPDATE that changed old-only columns is an old-representation write (`up` runs for
 *   the new columns whose inputs changed); one that changed new-only columns is a
 *   new-representation write (`down` runs); one that changed both is run column by column,
 *   and refused when a pair was given two values that disagree;
 * - an INSERT supplies the columns of the relation it names. Every version view carries a
 *   default for each of its columns, and the physical default of each marked column is
 *   wrapped in `default_mark()`, which notes in a transaction-local setting that it ran:
 *   so the trigger knows which marked columns the statement gave and which it left to the
 *   table (a view of the other version, or a statement that did not name them);
 * - only when the statement touched no marked column (it changed only columns both
 *   versions share) does the session's version decide, and an unknown `underway.version`
 *   is refused rather than guessed.
 *
 * A computed value never overwrites what the statement wrote. When `up` fails for a row an
 * old-version client writes, the write goes through with the new columns empty and the row
 * is recorded (`up_failures`), so `verify` and `complete` refuse until it is fixed; in the
 * backfill the same failure stops the job, naming the key and the values.
 *
 * PostgreSQL fires BEFORE ROW triggers in name order. With no user trigger on the table one
 * trigger does everything and is named to fire last. With user BEFORE ROW triggers there are
 * two: `early` (named to fire first) decides the direction from what the statement wrote
 * and fills the old columns of a new-version write, so the user's triggers see a complete
 * old row; `late` (fires last) fills the new columns from the old ones as the user's
 * triggers left them. The two pass the decision on through a setting keyed by the trigger
 * depth, which a nested write of the same table cannot reach.
 */
export interface DualWriteTable {
  schema: string;
  /** Physical table name. */
  table: string;
  /** Logical column names of the old version, bound for `up`. */
  oldBindings: Binding[];
  /** Logical column names of the new version, bound for `down`. */
  newBindings: Binding[];
  up: Assignment[];
  down: Assignment[];
  /** Columns kept in step both ways (original, copy): `up` fills `new`, `down` fills `old`. */
  pairs: { old: string; new: string }[];
  /**
   * Physical columns only one version maps, whose defaults are wrapped while the trigger
   * exists. Absent in plans stored by earlier releases (their triggers decide by session).
   */
  marked?: MarkedColumn[];
  /** Physical primary key columns, to name a row in messages. */
  key?: string[];
  /** The names of the trigger(s): `early` only when the table has user BEFORE ROW triggers. */
  triggers?: { late: string; early?: string };
  /** Refuse writes that name no version (`underway.version`) while the migration is active. */
  strict?: boolean;
  /** Old version names besides the base schema, known to mean "old" without a lookup. */
  knownOld?: string[];
  /**
   * The transaction-local setting that, set to `on`, lets the backfill's own top-level
   * UPDATE skip the trigger (its `WHEN`), because the statement computes the new columns
   * itself. Absent in plans stored by earlier releases: their triggers have no `WHEN`, and
   * their backfill goes through the trigger.
   */
  backfillSkip?: string;
}

export interface Binding {
  name: string;
  physical: string;
  /** The column's type where the binding was made (for checking the expression). */
  type?: string;
}

export interface Assignment {
  /** Physical column set by the trigger. */
  target: string;
  expression: string;
  /**
   * Physical columns the expression reads (through its bindings), so an UPDATE recomputes
   * the target only when one of them changed; null: it cannot be told (all of them).
   */
  inputs?: string[] | null;
  /** Where the expression stands in the file, for messages: `operations[1].alter_column.up`. */
  origin?: string;
  /**
   * The names the expression is evaluated with, as its operation saw the table: for `up`
   * the columns before the operation, for `down` after it (pgroll's meaning, so a later
   * operation of a migration names a column as an earlier one renamed it). Absent in plans
   * of earlier releases: the table's old (up) or new (down) bindings.
   */
  bindings?: Binding[];
  /** The type of the target column where the assignment was made. */
  targetType?: string;
  /**
   * The column's own default (a volatile one, or a serial's nextval): a write already got
   * it from the default, so only the backfill computes it, for the rows that existed.
   */
  backfillOnly?: boolean;
}

export interface MarkedColumn {
  physical: string;
  /** The column's type as format_type prints it, for a typed NULL default. */
  type: string;
  side: "old" | "new";
  /** The default the column has without the wrapper (put back at rollback or complete). */
  default: string | null;
}

/** The trigger of plans stored before the direction was decided from the statement. */
export const LEGACY_DUAL_WRITE_TRIGGER = "_uw_dual_write";

/** Setting names are per table; the hash keeps them within PostgreSQL's identifier rules. */
function tableHash(schema: string, table: string): string {
  return createHash("sha256").update(`${schema}.${table}`).digest("hex").slice(0, 10);
}

/** The trigger function's name: stable per schema and table, within 63 bytes. */
export function dualWriteFunctionName(schema: string, table: string): string {
  return `dual_write_${tableHash(schema, table)}_${Buffer.from(table).subarray(0, 36).toString("utf8").replace(/\uFFFD/g, "")}`;
}

/** The transaction-local setting `default_mark()` writes for a table. */
export function markSetting(schema: string, table: string): string {
  return `underway.m_${tableHash(schema, table)}`;
}

/** The transaction-local setting with which the backfill's own statements skip the table's dual-write trigger. */
export function backfillSkipSetting(schema: string, table: string): string {
  return `underway.b_${tableHash(schema, table)}`;
}

/**
 * The trigger's `WHEN`: it fires for every write but the backfill's own top-level UPDATE,
 * which names the setting for its transaction only. A write nested in it (a trigger of
 * another table writing this one) is at a trigger depth above zero and still goes through.
 */
export function backfillSkipCondition(setting: string): string {
  return `(current_setting(${literal(setting)}, true) IS DISTINCT FROM 'on' OR pg_trigger_depth() > 0)`;
}

/** The transaction-local setting that tells the table's NOT NULL checks that `up` failed for this row. */
export function upFailedSetting(schema: string, table: string): string {
  return `underway.f_${tableHash(schema, table)}`;
}

/**
 * Names for the triggers that sort after (and, for `early`, before) every trigger the
 * table has: PostgreSQL compares trigger names byte by byte.
 */
export function dualWriteTriggerNames(existing: string[], needsEarly: boolean): { late: string; early?: string } {
  const bytes = (s: string) => Buffer.from(s, "utf8");
  const after = (name: string) => existing.every((e) => Buffer.compare(bytes(name), bytes(e)) > 0);
  const before = (name: string) => existing.every((e) => Buffer.compare(bytes(name), bytes(e)) < 0);
  const late = ["zz_uw_dual_write", "~uw_dual_write", "\u00ff_uw_dual_write"].find(after) ?? "zz_uw_dual_write";
  if (!needsEarly) return { late };
  const early = ["_uw_dual_write_first", "0_uw_dual_write_first", "!uw_dual_write_first", " uw_dual_write_first"].find(before) ?? " uw_dual_write_first";
  return { late, early };
}

/** The physical columns an assignment reads, from the bindings its expression names. */
export function assignmentInputs(expression: string, bindings: Binding[]): string[] | null {
  const { names, qualifiesNew } = referencedColumns(expression);
  if (qualifiesNew) return null;
  const physical = new Set<string>();
  for (const b of bindings) if (names.has(b.name)) physical.add(b.physical);
  return [...physical];
}

/** The physical default of a marked column while the trigger exists. */
export function markedDefault(stateSchema: string, spec: DualWriteTable, index: number): string {
  const column = spec.marked![index]!;
  const value = column.default === null ? `NULL::${column.type}` : `CAST((${column.default}) AS ${column.type})`;
  return `${qualified(stateSchema, "default_mark")}(${literal(markSetting(spec.schema, spec.table))}, ${literal(String(index))}, ${value})`;
}

export function createDualWriteStatements(
  stateSchema: string,
  versionSchema: string,
  migration: string,
  spec: DualWriteTable,
): string[] {
  const fn = qualified(stateSchema, dualWriteFunctionName(spec.schema, spec.table));
  const table = qualified(spec.schema, spec.table);
  const triggers = spec.triggers ?? { late: LEGACY_DUAL_WRITE_TRIGGER };
  const statements = [functionStatement(stateSchema, versionSchema, migration, spec)];
  for (const [i, column] of (spec.marked ?? []).entries()) {
    statements.push(`ALTER TABLE ${table} ALTER COLUMN ${ident(column.physical)} SET DEFAULT ${markedDefault(stateSchema, spec, i)}`);
  }
  for (const [name, mode] of [[triggers.early, "early"], [triggers.late, triggers.early ? "late" : "single"]] as const) {
    if (!name) continue;
    statements.push(
      `DROP TRIGGER IF EXISTS ${ident(name)} ON ${table}`,
      `CREATE TRIGGER ${ident(name)} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW${
        spec.backfillSkip ? ` WHEN ${backfillSkipCondition(spec.backfillSkip)}` : ""
      } EXECUTE FUNCTION ${fn}(${literal(mode)})`,
    );
  }
  return statements;
}

/**
 * Removes the trigger(s) and function, and gives the marked columns the defaults they had
 * before (`restore: "old"`, at rollback) or will keep (`"new"`, at complete).
 */
export function dropDualWriteStatements(
  stateSchema: string,
  schema: string,
  table: string,
  spec?: Pick<DualWriteTable, "triggers" | "marked">,
  restore?: "old" | "new",
): string[] {
  const ref = qualified(schema, table);
  const triggers = spec?.triggers ?? { late: LEGACY_DUAL_WRITE_TRIGGER };
  const statements = [triggers.early, triggers.late]
    .filter((name): name is string => name !== undefined)
    .map((name) => `DROP TRIGGER IF EXISTS ${ident(name)} ON ${ref}`);
  if (restore) {
    for (const column of spec?.marked ?? []) {
      if (column.side !== restore) continue;
      statements.push(
        `ALTER TABLE ${ref} ALTER COLUMN ${ident(column.physical)} ${column.default === null ? "DROP DEFAULT" : `SET DEFAULT ${column.default}`}`,
      );
    }
  }
  statements.push(`DROP FUNCTION IF EXISTS ${qualified(stateSchema, dualWriteFunctionName(schema, table))}`);
  return statements;
}

/** A PL/pgSQL identifier for one of the function's own variables. */
const v = (kind: string, i: number) => `_uw_${kind}${i}`;

function functionStatement(stateSchema: string, versionSchema: string, migration: string, spec: DualWriteTable): string {
  const fn = qualified(stateSchema, dualWriteFunctionName(spec.schema, spec.table));
  const table = qualified(spec.schema, spec.table);
  const col = (physical: string) => `NEW.${ident(physical)}`;
  const marked = spec.marked ?? [];
  const markIndex = new Map(marked.map((m, i) => [m.physical, i]));
  const oldOnly = marked.filter((m) => m.side === "old").map((m) => m.physical);
  const newOnly = marked.filter((m) => m.side === "new").map((m) => m.physical);
  const everyOld = spec.oldBindings.map((b) => b.physical);
  const everyNew = spec.newBindings.map((b) => b.physical);
  const common = new Set(everyOld.filter((c) => everyNew.includes(c)));
  const inputsOf = (a: Assignment, all: string[]) => a.inputs ?? all;

  // Every column whose change the function looks at gets a flag: "the statement wrote it".
  const tracked = [...new Set([...marked.map((m) => m.physical), ...spec.up.flatMap((a) => inputsOf(a, everyOld)), ...spec.down.flatMap((a) => inputsOf(a, everyNew)), ...spec.up.map((a) => a.target), ...spec.down.map((a) => a.target)])];
  const flag = new Map(tracked.map((c, i) => [c, v("w", i)]));
  const wrote = (physical: string) => flag.get(physical)!;
  const any = (columns: string[]) => (columns.length === 0 ? "false" : columns.map(wrote).join(" OR "));

  const upInputsChanged = spec.up.map((a) => `(_uw_ins OR ${any(inputsOf(a, everyOld))})`);
  const downInputsChanged = spec.down.map((a) => `(_uw_ins OR ${any(inputsOf(a, everyNew))})`);
  const pairs = spec.pairs
    .map((p) => ({ p, up: spec.up.findIndex((a) => a.target === p.new), down: spec.down.findIndex((a) => a.target === p.old) }))
    .filter((x) => x.up >= 0 && x.down >= 0);

  const hash = tableHash(spec.schema, spec.table);
  const markName = literal(markSetting(spec.schema, spec.table));
  const failedName = literal(upFailedSetting(spec.schema, spec.table));
  const stash = `'underway.s_${hash}_' || pg_trigger_depth()`;

  const declarations = [
    "_uw_v text := current_setting('underway.version', true);",
    "_uw_bf boolean := coalesce(current_setting('underway.backfill', true), '') = 'on';",
    "_uw_ins boolean := TG_OP = 'INSERT';",
    "_uw_mode text := TG_ARGV[0];",
    "_uw_m text;",
    "_uw_side text;",
    "_uw_st text;",
    ...tracked.map((c) => `${wrote(c)} boolean := false;`),
    ...spec.up.map((_, i) => `${v("u", i)} boolean := false;`),
    ...spec.down.map((_, i) => `${v("d", i)} boolean := false;`),
    // What up and down give for each pair, typed as the column each fills.
    ...pairs.map((x, i) => `${v("pf", i)} ${table}.${ident(x.p.new)}%TYPE;`),
    ...pairs.map((x, i) => `${v("pg", i)} ${table}.${ident(x.p.old)}%TYPE;`),
  ];

  // What the statement wrote: for an INSERT, every column but the marked ones whose
  // default ran; for an UPDATE, what differs from the old row.
  const flagsFromStatement = [
    "IF _uw_ins THEN",
    `  _uw_m := current_setting(${markName}, true);`,
    `  IF _uw_m <> '' THEN PERFORM set_config(${markName}, '', true); END IF;`,
    // Unmarked columns both versions have count as given; a column neither version has (a
    // copy of a copy, filled from the one before) never is.
    ...tracked.map((c) => `  ${wrote(c)} := ${markIndex.has(c) ? `_uw_m IS NULL OR strpos(_uw_m, ',${markIndex.get(c)},') = 0` : common.has(c) ? "true" : "false"};`),
    "ELSE",
    `  IF current_setting(${markName}, true) <> '' THEN PERFORM set_config(${markName}, '', true); END IF;`,
    ...tracked.map((c) => `  ${wrote(c)} := ${col(c)} IS DISTINCT FROM OLD.${ident(c)};`),
    "END IF;",
  ];

  const known = [spec.schema, ...(spec.knownOld ?? [])];
  const claim = `CASE
      WHEN _uw_v IN (${literal(versionSchema)}, ${literal(migration)}) THEN true
      WHEN _uw_v IN (${known.map(literal).join(", ")}) THEN false${
        versionSchema.includes('"') ? "" : `\n      WHEN coalesce(_uw_v, '') = '' AND strpos(current_setting('search_path'), ${literal(versionSchema)}) = 0 THEN false`
      }
      ELSE ${qualified(stateSchema, "is_new_version")}(${literal(spec.schema)}, ${literal(versionSchema)}, ${literal(migration)})
    END`;

  const side = [
    "IF _uw_bf THEN",
    "  _uw_side := 'old';",
    "ELSE",
    ...(spec.strict
      ? [
          "  IF coalesce(_uw_v, '') = '' THEN",
          `    RAISE EXCEPTION 'underway: % is being migrated and this session names no version', ${literal(`${spec.schema}.${spec.table}`)}`,
          `      USING ERRCODE = '42501', HINT = ${literal(`pin the transaction to a version (underway.version, or the client helpers) while migration ${migration} is active`)};`,
          "  END IF;",
        ]
      : []),
    `  _uw_side := CASE WHEN (${any(oldOnly)}) AND (${any(newOnly)}) THEN 'both' WHEN ${any(oldOnly)} THEN 'old' WHEN ${any(newOnly)} THEN 'new' END;`,
    // An unknown underway.version is an error even when the columns decide.
    `  IF _uw_side IS NULL OR (coalesce(_uw_v, '') <> '' AND _uw_v NOT IN (${[versionSchema, migration, ...known].map(literal).join(", ")})) THEN`,
    `    _uw_st := CASE WHEN ${claim} THEN 'new' ELSE 'old' END;`,
    "    _uw_side := coalesce(_uw_side, _uw_st);",
    "  END IF;",
    "END IF;",
  ];

  // A row the backfill has not reached yet has its new columns empty: a write in the old
  // version's terms that changes none of an `up`'s inputs still fills them, or the row would
  // break the new version's NOT NULL. A column's own volatile default is computed once, the
  // first time the row is written (or backfilled) without it.
  const upFlags = spec.up.map((a, i) =>
    a.backfillOnly
      ? `${v("u", i)} := NOT _uw_ins AND ${col(a.target)} IS NULL AND (_uw_bf OR _uw_side IN ('old', 'both'));`
      : `${v("u", i)} := _uw_bf OR (_uw_side IN ('old', 'both') AND NOT ${wrote(a.target)} AND (${upInputsChanged[i]} OR ${col(a.target)} IS NULL));`,
  );
  const downFlags = spec.down.map(
    (a, i) => `${v("d", i)} := NOT _uw_bf AND _uw_side IN ('new', 'both') AND NOT ${wrote(a.target)} AND ${downInputsChanged[i]};`,
  );

  const declare = (bindings: Binding[], expressions: string[]) => {
    const used = new Set(expressions.flatMap((e) => assignmentInputs(e, bindings) ?? bindings.map((b) => b.physical)));
    return bindings
      .filter((b) => used.has(b.physical))
      .map((b) => `      ${ident(b.name)} ${table}.${ident(b.physical)}%TYPE := NEW.${ident(b.physical)};`)
      .join("\n");
  };
  const block = (bindings: Binding[], expressions: string[], body: string[], handler?: string[]) =>
    [
      "  DECLARE",
      declare(bindings, expressions),
      "  BEGIN",
      ...body.map((line) => `    ${line}`),
      ...(handler ? ["  EXCEPTION WHEN OTHERS THEN", ...handler.map((line) => `    ${line}`)] : []),
      "  END;",
    ].filter((line) => line !== "");
  // Each assignment is evaluated with its own bindings (the names its operation saw), in a
  // block of its own entered when it runs, so it reads what earlier assignments wrote.
  const upBindings = (a: Assignment) => a.bindings ?? spec.oldBindings;
  const downBindings = (a: Assignment) => a.bindings ?? spec.newBindings;
  const evaluate = (bindings: Binding[], expression: string, into: string) => block(bindings, [expression], [`${into} := ${asValueExpression(expression)};`]);

  // A pair given two disagreeing values by one statement (a raw write of both columns).
  const pairCheck =
    pairs.length === 0
      ? []
      : [
          `IF _uw_side = 'both' AND (${pairs.map((x) => `(${wrote(x.p.old)} AND ${wrote(x.p.new)})`).join(" OR ")}) THEN`,
          ...pairs.flatMap((x, i) => [
            ...evaluate(downBindings(spec.down[x.down]!), spec.down[x.down]!.expression, v("pg", i)),
            ...evaluate(upBindings(spec.up[x.up]!), spec.up[x.up]!.expression, v("pf", i)),
          ]).map((l) => `  ${l}`),
          ...pairs.flatMap((x, i) => [
            `  IF ${wrote(x.p.old)} AND ${wrote(x.p.new)} AND ${col(x.p.new)} IS DISTINCT FROM ${v("pf", i)} AND ${col(x.p.old)} IS DISTINCT FROM ${v("pg", i)} THEN`,
            `    RAISE EXCEPTION 'underway: one write set both % and % of %, to values that disagree', ${literal(x.p.old)}, ${literal(x.p.new)}, ${literal(`${spec.schema}.${spec.table}`)}`,
            `      USING ERRCODE = '23514', HINT = 'write the column through one version: its view, or the table''s own column';`,
            "  END IF;",
          ]),
          "END IF;",
        ];

  // `down` comes newest operation first, so each sees what the later ones filled.
  const downBlock = spec.down.flatMap((a, i) => [`IF ${v("d", i)} THEN`, ...evaluate(downBindings(a), a.expression, col(a.target)).map((l) => `  ${l}`), "END IF;"]);

  const keyText =
    (spec.key ?? []).length === 0
      ? "NULL"
      : `'(' || ${literal((spec.key ?? []).join(", "))} || ')=(' || ${(spec.key ?? []).map((k) => `coalesce(${col(k)}::text, 'NULL')`).join(" || ', ' || ")} || ')'`;
  const keyJson = (spec.key ?? []).length === 0 ? "NULL" : `jsonb_build_object(${(spec.key ?? []).map((k) => `${literal(k)}, ${col(k)}`).join(", ")})`;
  const upReads = [...new Set(spec.up.flatMap((a) => inputsOf(a, everyOld)))];
  const oldName = new Map(spec.oldBindings.map((b) => [b.physical, b.name]));
  const valuesText =
    upReads.length === 0 ? "''" : upReads.map((c) => `${literal(`${oldName.get(c) ?? c}=`)} || quote_nullable(${col(c)}::text)`).join(" || ', ' || ");
  const upBlock =
    spec.up.length === 0
      ? []
      : [
          `IF ${spec.up.map((_, i) => v("u", i)).join(" OR ")} THEN`,
          ...block(
            [],
            [],
            spec.up.flatMap((a, i) => [`IF ${v("u", i)} THEN`, ...evaluate(upBindings(a), a.expression, col(a.target)).map((l) => `  ${l}`), "END IF;"]),
            [
              "IF _uw_bf THEN",
              `  RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = format('up of %s failed for key %s (%s): %s', ${literal(`${spec.schema}.${spec.table}`)}, ${keyText}, ${valuesText}, SQLERRM),`,
              `    HINT = 'fix the row through the old version and run "underway resume", or run "underway rollback"';`,
              "END IF;",
              // An old-version write goes through: its new columns stay empty and the row is remembered.
              ...spec.up.map((a, i) => `IF ${v("u", i)} THEN ${col(a.target)} := NULL; END IF;`),
              `PERFORM ${qualified(stateSchema, "record_up_failure")}(${literal(spec.schema)}, ${literal(spec.table)}, ${keyJson}, ${keyText}, ${valuesText}, SQLSTATE, SQLERRM);`,
              `PERFORM set_config(${failedName}, 'on', true);`,
            ],
          ).map((l) => `  ${l}`),
          "END IF;",
        ];

  // After the user's triggers, for a new-version write: a pair whose old column a user
  // trigger changed gets its new column from it.
  const resync = pairs.length === 0
    ? []
    : [
        "IF _uw_side = 'new' THEN",
        ...pairs.flatMap((x, i) => evaluate(downBindings(spec.down[x.down]!), spec.down[x.down]!.expression, v("pg", i))).map((l) => `  ${l}`),
        ...pairs.map((x, i) => `  ${v("u", x.up)} := ${col(x.p.old)} IS DISTINCT FROM ${v("pg", i)};`),
        "END IF;",
      ];

  const stashValue = `_uw_side || '|' || ${spec.up.length === 0 ? "''" : spec.up.map((_, i) => `CASE WHEN ${v("u", i)} THEN '1' ELSE '0' END`).join(" || ")}`;
  const lateFlags = [
    `_uw_st := current_setting(${stash}, true);`,
    "IF coalesce(_uw_st, '') = '' THEN",
    `  RAISE EXCEPTION 'underway: the first dual-write trigger of % did not run for this row', ${literal(`${spec.schema}.${spec.table}`)} USING ERRCODE = 'XX000';`,
    "END IF;",
    `PERFORM set_config(${stash}, '', true);`,
    "_uw_side := split_part(_uw_st, '|', 1);",
    "IF _uw_ins THEN",
    ...spec.up.map((_, i) => `  ${v("u", i)} := substr(split_part(_uw_st, '|', 2), ${i + 1}, 1) = '1';`),
    "ELSE",
    ...tracked.map((c) => `  ${wrote(c)} := ${col(c)} IS DISTINCT FROM OLD.${ident(c)};`),
    ...upFlags.map((l) => `  ${l}`),
    "END IF;",
  ];

  const body = [
    `IF current_setting(${failedName}, true) = 'on' THEN PERFORM set_config(${failedName}, '', true); END IF;`,
    "IF _uw_mode = 'late' THEN",
    ...lateFlags.map((l) => `  ${l}`),
    ...resync.map((l) => `  ${l}`),
    ...upBlock.map((l) => `  ${l}`),
    "  RETURN NEW;",
    "END IF;",
    ...flagsFromStatement,
    ...side,
    ...upFlags,
    ...downFlags,
    ...pairCheck,
    ...downBlock,
    "IF _uw_mode = 'early' THEN",
    `  PERFORM set_config(${stash}, ${stashValue}, true);`,
    "  RETURN NEW;",
    "END IF;",
    ...upBlock,
    "RETURN NEW;",
  ];
  const tag = dollarTag(...spec.up.map((a) => a.expression), ...spec.down.map((a) => a.expression));
  return `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${tag}
#variable_conflict use_column
DECLARE
${declarations.map((d) => `  ${d}`).join("\n")}
BEGIN
${body.map((l) => `  ${l}`).join("\n")}
END
${tag}`;
}
