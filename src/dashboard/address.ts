/** Where the dashboard listens, apart from the server itself (the CLI shows the default in its help). */
export const DEFAULT_DASHBOARD_PORT = 7432;

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
