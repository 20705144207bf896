/**
 * What a benchmark prints: each figure as a measured value, its baseline, their ratio
 * and the target the ratio is held to, plus the facts needed to compare runs.
 */

export interface Figure {
  id: string;
  title: string;
  unit: string;
  value: number;
  baseline: number;
  /** value / baseline. */
  ratio: number;
  /** The ratio the figure should reach; null for a figure shown only for information. */
  target: number | null;
  pass: boolean | null;
  /** How the two numbers were obtained, and anything that weakens them. */
  notes: string[];
}

export interface BenchReport {
  benchmark: string;
  date: string;
  machine: {
    cores: number;
    cpuModel: string;
    memoryGiB: number;
    /** One-minute load average when the run ended: other work on the machine shows here. */
    loadAverageAtEnd: number;
    os: string;
    node: string;
  };
  postgres: {
    version: string;
    settings: Record<string, string>;
  };
  parameters: Record<string, number | string | boolean>;
  figures: Figure[];
  /** Supporting measurements (durations, WAL, table sizes), by name. */
  details: Record<string, number | string | boolean | null>;
  durationSeconds: number;
}

/** A figure from its two measurements; `target` null makes it informational. */
export function figure(spec: Omit<Figure, "ratio" | "pass" | "notes"> & { notes?: string[] }): Figure {
  const ratio = spec.baseline > 0 ? spec.value / spec.baseline : Number.NaN;
  return {
    ...spec,
    ratio,
    pass: spec.target === null ? null : Number.isFinite(ratio) && ratio >= spec.target,
    notes: spec.notes ?? [],
  };
}

export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  lines.push(`${report.benchmark} (${report.date})`);
  const m = report.machine;
  lines.push(`machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB, ${m.os}, node ${m.node}, load average at the end ${m.loadAverageAtEnd.toFixed(2)}`);
  lines.push(`postgres: ${report.postgres.version}`);
  lines.push(`settings: ${Object.entries(report.postgres.settings).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  lines.push(`parameters: ${Object.entries(report.parameters).map(([k, v]) => `${k}=${String(v)}`).join(" ")}`);
  lines.push("");
  for (const f of report.figures) {
    const verdict = f.pass === null ? "info" : f.pass ? "PASS" : "MISS";
    const target = f.target === null ? "no target" : `target >= ${f.target.toFixed(2)}`;
    lines.push(
      `${f.id}. ${f.title}: ${formatNumber(f.value)} ${f.unit} / baseline ${formatNumber(f.baseline)} ${f.unit} = ratio ${f.ratio.toFixed(3)}  (${target})  ${verdict}`,
    );
    for (const note of f.notes) lines.push(`     ${note}`);
  }
  lines.push("");
  lines.push("details:");
  for (const [name, value] of Object.entries(report.details)) {
    lines.push(`  ${name}: ${typeof value === "number" ? formatNumber(value) : String(value)}`);
  }
  lines.push("");
  lines.push(`total time: ${report.durationSeconds.toFixed(0)} s`);
  return lines.join("\n");
}

/** Share of the machine's CPU above which other processes make a figure unreliable. */
const FOREIGN_CPU_WARNING = 0.1;

/** A note for a figure whose measurement windows may have shared the machine with others. */
export function foreignNote(windows: Record<string, number | null>): string[] {
  const known = Object.entries(windows).filter((entry): entry is [string, number] => entry[1] !== null);
  if (known.length === 0) return [];
  const text = known.map(([name, share]) => `${name} ${(share * 100).toFixed(0)}%`).join(", ");
  const disturbed = known.some(([, share]) => share > FOREIGN_CPU_WARNING);
  return [`CPU used by processes outside the benchmark: ${text}${disturbed ? " -- WARNING: the machine was shared, the figure is unreliable" : ""}`];
}

/** 1234567.8 -> "1,234,568"; 12.345 -> "12.35"; small values keep three digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
