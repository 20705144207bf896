/**
 * Applying a directory of migration files in order, as `underway migrate DIR` does: each
 * pending file is started and completed in turn. Before anything runs, the files are held
 * against what the state schema says was applied: a completed migration whose file changed
 * since, or a pending file that sorts before one already applied, stops the run.
 */
import { InterruptedError, UnderwayError } from "../errors.js";
import { loadMigrationDir, type MigrationFile } from "../format/load.js";
import type { BackfillOptions, MigrationRecord, Migrator } from "./migrator.js";

/** A file `migrateDirectory` would apply (or applies). */
export interface PendingMigration {
  file: MigrationFile;
  /** It sorts before a file already applied (refused unless `allowOutOfOrder`). */
  outOfOrder: boolean;
  /** The record of a migration started from this file and not completed yet (migrate completes it), else null. */
  active: MigrationRecord | null;
}

/** The files of a directory held against the migrations applied. */
export interface DirectoryState {
  /** Every file, in the order they apply. */
  files: MigrationFile[];
  /** The names of the files whose migration is completed. */
  completed: string[];
  /** The files to apply, in order. */
  pending: PendingMigration[];
}

export interface MigrateDirectoryOptions extends BackfillOptions {
  /** Check and list what would be applied; change nothing. */
  dryRun?: boolean;
  /** Apply a pending file that sorts before one already applied (refused by default). */
  allowOutOfOrder?: boolean;
  /** Called before each pending migration is applied. */
  onMigration?: (pending: PendingMigration) => void;
}

export interface MigrateDirectoryResult extends DirectoryState {
  /** The names of the migrations this run applied, in order (none with `dryRun`). */
  applied: string[];
}

const ACTIVE_PHASES: ReadonlySet<string> = new Set(["started", "backfilling", "ready"]);

/**
 * Holds `files` against `history`: throws CHECKSUM_MISMATCH for a completed migration whose
 * file changed, and INVALID_STATE for a pending file that sorts before an applied one
 * unless `allowOutOfOrder`.
 */
export function directoryState(files: MigrationFile[], history: MigrationRecord[], options: { allowOutOfOrder?: boolean } = {}): DirectoryState {
  const known = new Map(history.map((m) => [m.name, m]));
  const isCompleted = (name: string) => known.get(name)?.phase === "completed";
  for (const file of files) {
    const record = known.get(file.name);
    if (record?.phase === "completed" && record.checksum !== file.checksum) {
      throw new UnderwayError(
        "CHECKSUM_MISMATCH",
        `${file.path} changed after migration "${file.name}" was completed (checksum ${record.checksum.slice(0, 12)} then, ${file.checksum.slice(0, 12)} now)`,
      );
    }
  }
  // As node-pg-migrate and Flyway: a file that sorts before one already applied was
  // probably merged late, and applying it now puts changes in an order no one tested.
  const lastApplied = files.findLastIndex((f) => isCompleted(f.name));
  const pending = files
    .map((file, index) => ({ file, index }))
    .filter(({ file }) => !isCompleted(file.name))
    .map(({ file, index }) => {
      const record = known.get(file.name);
      return { file, outOfOrder: index < lastApplied, active: record && ACTIVE_PHASES.has(record.phase) ? record : null };
    });
  const early = pending.filter((p) => p.outOfOrder);
  if (early.length > 0 && !options.allowOutOfOrder) {
    throw new UnderwayError(
      "INVALID_STATE",
      `${early[0]!.file.path} is pending but sorts before "${files[lastApplied]!.name}", which is already applied${early.length > 1 ? ` (and ${early.length - 1} more)` : ""}: rename it to sort after, or pass --allow-out-of-order to apply it anyway`,
    );
  }
  return { files, completed: files.filter((f) => isCompleted(f.name)).map((f) => f.name), pending };
}

/** The migrations recorded so far; none where the state schema does not exist yet (start creates it). */
async function historyOf(migrator: Migrator): Promise<MigrationRecord[]> {
  return migrator.history().catch((error: unknown) => {
    if (error instanceof UnderwayError && error.code === "INVALID_STATE") return [];
    throw error;
  });
}

/**
 * Applies every pending migration file of `dir`, in order: each is started and completed
 * (an active one, started earlier and left for clients to move over, is completed, and
 * its old version goes). Stops at the first failure; what was applied stays applied.
 *
 * @example
 * const result = await migrateDirectory(new Migrator({ databaseUrl }), "migrations", {
 *   onMigration: ({ file }) => console.log(`migrating ${file.name}`),
 * });
 * console.log(`applied ${result.applied.length}`);
 */
export async function migrateDirectory(migrator: Migrator, dir: string, options: MigrateDirectoryOptions = {}): Promise<MigrateDirectoryResult> {
  const { dryRun, allowOutOfOrder, onMigration, ...backfill } = options;
  const files = await loadMigrationDir(dir);
  const state = directoryState(files, await historyOf(migrator), { allowOutOfOrder: Boolean(allowOutOfOrder) });
  const applied: string[] = [];
  if (dryRun) return { ...state, applied };
  for (const pending of state.pending) {
    onMigration?.(pending);
    try {
      await migrator.start(pending.file, { ...backfill, complete: true });
    } catch (error) {
      throw error instanceof InterruptedError ? error.withNext(nextAfterStop(error, pending.file.name, dir)) : error;
    }
    applied.push(pending.file.name);
  }
  return { ...state, applied };
}

/** What to run after a stop: migrate again finishes a contracted migration, or carries on a started one. */
function nextAfterStop(error: InterruptedError, name: string, dir: string): string {
  return /contracted/.test(error.next)
    ? `migration "${name}" is contracted: run "underway migrate ${dir}" again to finish`
    : `migration "${name}" stays started: run "underway migrate ${dir}" again to carry on, or "underway rollback"`;
}
