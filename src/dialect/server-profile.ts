/**
 * From a server to its profile: the only place that turns a version number into
 * capabilities, and that refuses a server underway cannot run on.
 */
import type { Client } from "../db/connection.js";
import { UnderwayError } from "../errors.js";
import { COCKROACHDB, YUGABYTEDB } from "./distributed.js";
import { NEWEST_POSTGRES_MAJOR, OLDEST_POSTGRES_MAJOR, postgresProfile } from "./postgres.js";
import type { DialectProfile, Engine } from "./profile.js";

/**
 * The profile of a server from its `server_version_num` (`150004` is 15.4) and engine.
 * A PostgreSQL newer than underway knows gets the newest profile: a major keeps what the
 * one before had, and refusing would block an upgrade that works. The distributed
 * engines report a PostgreSQL version of their own (CockroachDB 13, YugabyteDB 11 or 15),
 * so they are told apart by name, not by number.
 *
 * @throws UnderwayError `INVALID_STATE` for a PostgreSQL older than 14.
 *
 * @example
 * profileForServer(170002).setExpression; // true
 */
export function profileForServer(serverVersionNum: number, engine: Engine = "postgres"): DialectProfile {
  if (engine === "cockroachdb") return COCKROACHDB;
  if (engine === "yugabytedb") return YUGABYTEDB;
  const major = Math.floor(serverVersionNum / 10000);
  const known = postgresProfile(Math.min(major, NEWEST_POSTGRES_MAJOR));
  if (known === undefined || !(major >= OLDEST_POSTGRES_MAJOR)) {
    throw new UnderwayError("INVALID_STATE", `PostgreSQL ${major} is not supported; underway needs PostgreSQL ${OLDEST_POSTGRES_MAJOR} or newer`);
  }
  return known;
}

/** Profiles by connection: a session's server cannot change under it, so it is asked once. */
const profiles = new WeakMap<Client, DialectProfile>();

/**
 * The profile of the server `client` is connected to, read once per connection. Every
 * server is taken for PostgreSQL for now: telling a distributed engine apart (its
 * `version()` text) comes with running on one.
 *
 * @throws UnderwayError `INVALID_STATE` for a PostgreSQL older than 14.
 */
export async function serverProfile(client: Client): Promise<DialectProfile> {
  const known = profiles.get(client);
  if (known !== undefined) return known;
  const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  const profile = profileForServer(Number(rows[0]!.v));
  profiles.set(client, profile);
  return profile;
}
