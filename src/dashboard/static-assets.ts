import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { UnderwayError } from "../errors.js";

/** A file the page needs, held in memory (they are a few kilobytes). */
export interface Asset {
  body: Uint8Array;
  contentType: string;
}

/** URL path -> where it comes from: the page's own files, and uPlot from its package (no CDN). */
const PAGE_FILES: Record<string, { file: string; contentType: string }> = {
  "/": { file: "index.html", contentType: "text/html; charset=utf-8" },
  "/assets/app.js": { file: "app.js", contentType: "text/javascript; charset=utf-8" },
  "/assets/app.css": { file: "app.css", contentType: "text/css; charset=utf-8" },
  "/assets/icon.svg": { file: "icon.svg", contentType: "image/svg+xml" },
};
const PACKAGE_FILES: Record<string, { module: string; contentType: string }> = {
  "/assets/uplot.js": { module: "uplot/dist/uPlot.iife.min.js", contentType: "text/javascript; charset=utf-8" },
  "/assets/uplot.css": { module: "uplot/dist/uPlot.min.css", contentType: "text/css; charset=utf-8" },
};

/**
 * The page's folder: beside this module when running from source, or the source folder
 * when running from `dist/` (tsc copies no static files).
 */
export function staticDir(): string {
  const candidates = [new URL("./static/", import.meta.url), new URL("../../src/dashboard/static/", import.meta.url)];
  for (const candidate of candidates) {
    const dir = fileURLToPath(candidate);
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new UnderwayError("INVALID_STATE", `the dashboard's page is missing (looked in ${candidates.map((c) => fileURLToPath(c)).join(", ")})`);
}

/** Reads every asset once. */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const dir = staticDir();
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Asset>();
  for (const [path, { file, contentType }] of Object.entries(PAGE_FILES)) {
    assets.set(path, { body: await readFile(`${dir}${file}`), contentType });
  }
  for (const [path, { module, contentType }] of Object.entries(PACKAGE_FILES)) {
    assets.set(path, { body: await readFile(require.resolve(module)), contentType });
  }
  return assets;
}
