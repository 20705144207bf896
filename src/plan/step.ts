import type { VersionMapping } from "./version-mapping.js";
import type { DualWriteTable } from "./dual-write.js";
import type { SqlCheck } from "./operations/plan-context.js";

/**
 * A phase is a list of steps, stored with the migration when it starts so that a
 * re-run after a crash executes the same plan the first run began, whatever the
 * catalog looks like by then.
 *
 * - `ddl`: statements run in one transaction together with the progress update, so
 *   the step is done exactly once. `table` names the relation it locks (for messages).
 * - `concurrent_index` / `drop_index`: CONCURRENTLY, which cannot run in a transaction;
 *   they are idempotent instead (see `ddl-runner.ts`).
 * - `backfill`: rewrites existing rows of a table through the dual-write trigger.
 * - `user_sql`: SQL from the migration file, run in a transaction when it allows one.
 * - `undo_sql`: drops what `sql` operations without `down` created in the schema (the
 *   objects each `user_sql` step added are recorded as it runs).
 * - `version_schema`: (re)creates a version schema's views from the mapping and the catalog.
 * - `contract`: complete's one transaction that removes the old version (see `ContractTable`).
 * - `validate_carried`: validates the foreign keys the contract re-created NOT VALID.
 *
 * `onlyIfStarted` (rollback steps only): the index of the start step that must have
 * finished for this step to run, e.g. a `sql` operation's `down`.
 */
export type Step =
  | { kind: "ddl"; description: string; statements: string[]; table?: string; onlyIfStarted?: number }
  | {
      kind: "concurrent_index";
      description: string;
      schema: string;
      table: string;
      index: string;
      statement: string;
      onlyIfStarted?: number;
    }
  | { kind: "drop_index"; description: string; schema: string; index: string; onlyIfStarted?: number }
  | { kind: "backfill"; description: string; schema: string; table: string; onlyIfStarted?: number }
  | { kind: "user_sql"; description: string; sql: string; schema: string; onlyIfStarted?: number }
  | { kind: "undo_sql"; description: string; schema: string; onlyIfStarted?: number }
  | {
      kind: "contract";
      description: string;
      schema: string;
      /** First: the previous version schema goes; dual-write triggers of dropped tables go. */
      before: string[];
      tables: ContractTable[];
      /** Last: dropped tables go, tables take their new names. */
      after: string[];
      /** Tables `after` drops, whose dependents must be gone first. */
      droppedTables: string[];
      onlyIfStarted?: number;
    }
  | { kind: "validate_carried"; description: string; schema: string; onlyIfStarted?: number }
  | {
      kind: "version_schema";
      description: string;
      schema: string;
      versionSchema: string;
      mapping: VersionMapping;
      /** Bring an existing version schema up to the tables (after on_complete SQL) instead of making it. */
      refresh?: boolean;
      onlyIfStarted?: number;
    };

/**
 * One table's part of the contract. Between `pre` and `post` the objects that depend on
 * the columns `post` drops (views, policies, triggers, rules, statistics, foreign keys of
 * other tables, publications' column lists) are read and dropped, and after `post` they
 * are created again, naming the copies that took the dropped columns' places.
 */
export interface ContractTable {
  /** Physical table name. */
  table: string;
  pre: string[];
  post: string[];
  /**
   * Columns `post` drops (as named after `pre`), each with the copy that replaces it, if
   * any, and its name when the plan was made.
   */
  dropped: { column: string; replacement: string | null; planned?: string }[];
  /** Indexes and constraints the plan knew of; others on a dropped column were made during the migration. */
  expected: string[];
}

export interface MigrationPlan {
  start: Step[];
  complete: Step[];
  rollback: Step[];
  /** Physical tables that need a backfill, for status and the backfill job. */
  backfillTables: string[];
  /** What the dual-write triggers do, per table; `verify` checks the same relations. */
  dualWrite: DualWriteTable[];
  /** Objects the contract drops and creates again (views, policies...), as the catalog names them. */
  carried?: string[];
  /** What the plan does differently from what the file says, and why. */
  notices?: string[];
  /** Attribute numbers each changed table has used, and the columns start adds (rollback gives none back). */
  attributes?: { table: string; used: number; adds: number }[];
  /** SQL from the file for the database to check before anything changes (not stored with the plan). */
  checks?: SqlCheck[];
  /** The user's triggers on each dual-written table; `early` when a first trigger runs before them. */
  userTriggers?: { table: string; triggers: string[]; early: boolean }[];
}

export type Action = "start" | "complete" | "rollback";
