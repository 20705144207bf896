import { describe, expect, it } from "vitest";
import { ForegroundGuard } from "../../src/backfill/foreground.js";

/**
 * A simulated application and backfill: the application writes `idleTps` transactions a
 * second while no batch runs and `busyTps` while one does; one worker runs 200 ms batches
 * and sleeps what the guard says. Time moves in 10 ms steps; the monitor samples every
 * 250 ms. Returns what the application kept of its throughput over the last half.
 */
function simulate(guard: ForegroundGuard, idleTps: number, busyTps: number, seconds: number, workers = 1) {
  let xmax = 1000n;
  let carry = 0;
  let now = 0;
  const batchMs = 200;
  const state = Array.from({ length: workers }, (_, i) => ({ busyUntil: -1, sleepUntil: i * 37 }));
  let kept = 0;
  let possible = 0;
  let busyTime = 0;
  for (; now < seconds * 1000; now += 10) {
    for (const w of state) {
      if (w.busyUntil >= 0 && now >= w.busyUntil) {
        guard.batchEnded(now);
        w.busyUntil = -1;
        w.sleepUntil = now + guard.pauseAfter(batchMs, workers);
      }
      if (w.busyUntil < 0 && now >= w.sleepUntil) {
        guard.batchStarted(now);
        w.busyUntil = now + batchMs;
        xmax += 1n; // the batch's own transaction
      }
    }
    const busy = state.some((w) => w.busyUntil >= 0);
    const rate = busy ? busyTps : idleTps;
    carry += rate / 100;
    const whole = Math.floor(carry);
    carry -= whole;
    xmax += BigInt(whole);
    if (now >= (seconds * 1000) / 2) {
      kept += rate;
      possible += idleTps;
      if (busy) busyTime++;
    }
    if (now % 250 === 0) guard.sample(xmax, now);
  }
  return { kept: kept / possible, busyShare: busyTime / ((seconds * 1000) / 2 / 10) };
}

describe("the foreground guard", () => {
  it("paces batches that halve the application's rate so it keeps the target share", () => {
    const guard = new ForegroundGuard(() => 0.9);
    const { kept, busyShare } = simulate(guard, 1000, 500, 120);
    const reading = guard.reading();
    expect(reading.tps).toBeGreaterThan(800);
    expect(reading.impact).toBeGreaterThan(0.4);
    expect(reading.impact).toBeLessThan(0.6);
    expect(reading.pacing).toBe(true);
    // (1 - 0.9) / (1 - 0.5) = 0.2 of the time in batches.
    expect(busyShare).toBeGreaterThan(0.12);
    expect(busyShare).toBeLessThan(0.3);
    expect(kept).toBeGreaterThanOrEqual(0.87);
  });

  it("lets batches that cost the application nothing run most of the time, and paces two workers together", () => {
    const free = new ForegroundGuard(() => 0.9);
    expect(simulate(free, 1000, 1000, 60).busyShare).toBeGreaterThan(0.7);
    const two = new ForegroundGuard(() => 0.9);
    const { kept } = simulate(two, 1000, 400, 120, 2);
    expect(kept).toBeGreaterThanOrEqual(0.86);
  });

  it("does not hold back a backfill when there is no application, or when it is turned off", () => {
    const idle = new ForegroundGuard(() => 0.9);
    expect(simulate(idle, 1, 0, 30).busyShare).toBeGreaterThan(0.98);
    expect(idle.reading().pacing).toBe(false);
    const off = new ForegroundGuard(() => null);
    expect(simulate(off, 1000, 200, 30).busyShare).toBeGreaterThan(0.98);
    expect(off.pauseAfter(200, 1)).toBe(0);
  });
});
