/**
 * The one error class of the package. Every expected failure carries a `code`;
 * the CLI maps codes to exit codes (see `exitCodeFor`).
 *
 * @example
 * throw new UnderwayError("INVALID_STATE", "no migration is active");
 */
export type UnderwayErrorCode =
  | "INVALID_MIGRATION"
  | "INVALID_STATE"
  | "INVALID_ARGUMENT"
  | "LOCK_TIMEOUT"
  | "MIGRATION_LOCKED"
  | "UNSAFE_DDL"
  | "CHECKSUM_MISMATCH"
  | "BACKFILL_ABORTED"
  | "CONNECTION"
  | "INTERRUPTED"
  | "DATABASE";

export class UnderwayError extends Error {
  readonly code: UnderwayErrorCode;
  /** Extra lines shown with `--verbose`. */
  readonly detail: string | undefined;

  constructor(code: UnderwayErrorCode, message: string, options: { cause?: unknown; detail?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UnderwayError";
    this.code = code;
    this.detail = options.detail;
  }
}

/**
 * Exit codes of the contract: 2 for usage and invalid input, 1 for any other failure; a
 * phase stopped by a signal exits as a shell reports a process killed by it (128 + its
 * number: 130 for SIGINT, 143 for SIGTERM).
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UnderwayError && (error.code === "INVALID_MIGRATION" || error.code === "INVALID_ARGUMENT")) {
    return 2;
  }
  if (error instanceof InterruptedError) return signalExitCode(error.signal);
  return 1;
}

/** 128 + the signal's number, as shells report a process a signal ended. */
export function signalExitCode(signal: string): number {
  return signal === "SIGTERM" ? 143 : signal === "SIGHUP" ? 129 : 130;
}

/**
 * A phase stopped at a safe point because it was asked to (SIGINT, SIGTERM, an aborted
 * `AbortSignal`): `where` says what was done, `next` what to run to carry on or go back.
 */
export class InterruptedError extends UnderwayError {
  constructor(
    readonly signal: string,
    readonly where: string,
    readonly next: string,
  ) {
    super("INTERRUPTED", `stopped by ${signal} ${where}${next ? `; ${next}` : ""}`);
    this.name = "InterruptedError";
  }

  /** The same stop with another next step (a command that wraps the phase knows better). */
  withNext(next: string): InterruptedError {
    return new InterruptedError(this.signal, this.where, next);
  }
}

/**
 * An error as one line: PostgreSQL's message with its DETAIL (the key of a unique
 * violation, the objects that depend on a column) and its HINT, which node-postgres keeps
 * apart from the message.
 *
 * @example
 * describeError(error) // 'could not create unique index "u" (Key (email)=(a@b) is duplicated.)'
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const pg = error as Error & { detail?: unknown; hint?: unknown };
  const detail = typeof pg.detail === "string" && pg.detail.trim() !== "" ? ` (${pg.detail.trim().replace(/\s*\n\s*/g, "; ")})` : "";
  const hint = typeof pg.hint === "string" && pg.hint.trim() !== "" && !error.message.includes(pg.hint.trim()) ? `; ${pg.hint.trim()}` : "";
  return `${error.message}${detail}${hint}`;
}

/** Wraps anything thrown into an UnderwayError, keeping the cause. */
export function toUnderwayError(error: unknown, code: UnderwayErrorCode = "DATABASE"): UnderwayError {
  if (error instanceof UnderwayError) return error;
  return new UnderwayError(code, describeError(error), { cause: error });
}
