import { InterruptedError } from "../errors.js";

/**
 * Stopping a phase on request. The CLI aborts an `AbortSignal` with the name of the signal
 * it received (`controller.abort("SIGINT")`); a library user aborts with anything. The
 * phase checks it only at safe points (between steps, between backfill batches, while
 * waiting for a lock), so what is done stays recorded and the next command carries on.
 */

/** What stopped the phase, for messages: the signal's name, or "request". */
export function stopReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === "string" && /^SIG[A-Z]+$/.test(reason)) return reason;
  return "request";
}

/** Throws an InterruptedError (its next step left for the caller) if the signal fired. */
export function throwIfStopped(signal: AbortSignal | undefined, where: () => string): void {
  if (signal?.aborted) throw new InterruptedError(stopReason(signal), where(), "");
}

/** Waits `ms`, or less if the signal fires meanwhile. */
export function sleepUnlessStopped(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
