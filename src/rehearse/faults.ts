/** The faults a rehearsal can inject, apart from the harness that injects them (the CLI lists them in its help). */
export const FAULTS = ["kill", "failover", "lag", "partition", "blocker"] as const;
export type Fault = (typeof FAULTS)[number];
