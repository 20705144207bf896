/**
 * `underway/dashboard`: the live web page of `underway dashboard`, started in-process. The
 * HTTP framework and server load when `startDashboard` is called, not with this module.
 *
 * @example
 * import { startDashboard } from "underway/dashboard";
 * const dashboard = await startDashboard({ databaseUrl: process.env.DATABASE_URL! });
 * console.log(`open ${dashboard.urlWithToken}`);
 */
export { startDashboard } from "./on-demand.js";
export type { Dashboard, DashboardOptions } from "./dashboard/dashboard.js";
export type { DashboardSnapshot } from "./dashboard/snapshot.js";
