/**
 * `underway/convert`: SQL migration files to underway migration files that make the same
 * change safely (`underway convert`).
 *
 * @example
 * import { convertFile } from "underway/convert";
 * const { files } = await convertFile("db/20240101_add_index.sql", { dir: "migrations" });
 */
export { convertSql, convertFile } from "./convert/convert-file.js";
