export interface DemoOptions {
  databaseUrl?: string | undefined;
  rows: number;
  clients: number;
  log: (line: string) => void;
}

export interface DemoSummary {
  text: string;
  failedQueries: number;
  lostWrites: number;
}

export async function runDemo(_options: DemoOptions): Promise<DemoSummary> {
  throw new Error("demo: not written yet");
}
