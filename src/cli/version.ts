/**
 * underway's version, read once from its package.json: what `--version` prints and what
 * the SARIF report names. A module of its own so printing it loads nothing else.
 */
import { readFileSync } from "node:fs";

// The same relative path from src/cli/ and from the built dist/cli/: both sit two levels below the package root.
const PACKAGE_JSON = new URL("../../package.json", import.meta.url);

export const VERSION: string = (JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as { version: string }).version;
