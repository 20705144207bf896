import { describe, expect, it } from "vitest";
import { COCKROACHDB, YUGABYTEDB } from "../../src/dialect/distributed.js";
import { NEWEST_POSTGRES_MAJOR, OLDEST_POSTGRES_MAJOR, postgresProfile } from "../../src/dialect/postgres.js";
import type { DialectProfile } from "../../src/dialect/profile.js";
import { profileForServer } from "../../src/dialect/server-profile.js";
import { UnderwayError } from "../../src/errors.js";
import { parseTarget, targetProfile } from "../../src/lint/target.js";

type Capability = Exclude<keyof DialectProfile, "engine" | "major" | "name" | "basis">;

/** The capabilities that change between PostgreSQL majors, and the major that added each. */
const ADDED_IN: Record<string, number> = {
  uniqueNullsNotDistinct: 15,
  securityInvokerViews: 15,
  subscriptionRole: 16,
  setExpression: 17,
  notNullConstraints: 18,
  notValidForeignKeyOnPartitioned: 18,
  virtualGeneratedColumns: 18,
};

/** What every supported PostgreSQL major has. */
const EVERY_POSTGRES: Partial<DialectProfile> = {
  engine: "postgres",
  basis: "tested",
  advisoryLocks: true,
  transactionalDdl: true,
  notValidConstraints: true,
  indexBuild: "concurrently",
  triggers: "plpgsql",
  tidRangeScan: true,
  replicationView: true,
};

function refusal(versionNum: number): UnderwayError {
  try {
    profileForServer(versionNum);
  } catch (error) {
    return error as UnderwayError;
  }
  throw new Error(`server_version_num ${versionNum} was accepted`);
}

describe("PostgreSQL profiles", () => {
  it("covers 14 to 18", () => {
    expect([OLDEST_POSTGRES_MAJOR, NEWEST_POSTGRES_MAJOR]).toEqual([14, 18]);
    for (let major = 14; major <= 18; major++) expect(postgresProfile(major)?.major).toBe(major);
    expect(postgresProfile(13)).toBeUndefined();
    expect(postgresProfile(19)).toBeUndefined();
  });

  for (let major = 14; major <= 18; major++) {
    it(`PostgreSQL ${major}: what every major has, and each later feature from its major on`, () => {
      const profile = profileForServer(major * 10000 + 3);
      expect(profile).toMatchObject({ ...EVERY_POSTGRES, major, name: `PostgreSQL ${major}` });
      for (const [capability, since] of Object.entries(ADDED_IN)) {
        expect({ capability, has: profile[capability as Capability] }).toEqual({ capability, has: major >= since });
      }
    });
  }

  it("names every capability that changes between majors in ADDED_IN", () => {
    const changing = (Object.keys(postgresProfile(14)!) as (keyof DialectProfile)[]).filter(
      (key) => key !== "major" && key !== "name" && postgresProfile(14)![key] !== postgresProfile(18)![key],
    );
    expect(changing.sort()).toEqual(Object.keys(ADDED_IN).sort());
  });

  it("reads server_version_num: 150004 is 15, 180000 is 18", () => {
    expect(profileForServer(150004).major).toBe(15);
    expect(profileForServer(180000).major).toBe(18);
    expect(profileForServer(140000).major).toBe(14);
  });

  it("gives a newer major than it knows the newest profile, as the engine has always run there", () => {
    expect(profileForServer(190001)).toBe(postgresProfile(18));
  });

  it("refuses a PostgreSQL older than 14 with the message the engine has always given", () => {
    for (const [versionNum, major] of [
      [130011, 13],
      [110002, 11],
      [90624, 9],
    ] as const) {
      const error = refusal(versionNum);
      expect(error).toBeInstanceOf(UnderwayError);
      expect(error.code).toBe("INVALID_STATE");
      expect(error.message).toBe(`PostgreSQL ${major} is not supported; underway needs PostgreSQL 14 or newer`);
    }
    expect(refusal(139999).message).toMatch(/^PostgreSQL 13 is not supported/);
  });
});

describe("distributed engine profiles (documented, not run)", () => {
  it("CockroachDB: no advisory locks, no ctid, no replication view, DDL outside the transaction, online index builds, limited triggers", () => {
    expect(profileForServer(130000, "cockroachdb")).toBe(COCKROACHDB);
    expect(COCKROACHDB).toMatchObject({
      engine: "cockroachdb",
      major: null,
      basis: "documented",
      advisoryLocks: false,
      tidRangeScan: false,
      replicationView: false,
      transactionalDdl: false,
      indexBuild: "online",
      triggers: "limited",
      notValidConstraints: true,
    });
  });

  it("YugabyteDB: PostgreSQL's triggers, but no advisory locks, no ctid, no replication view, DDL outside the transaction, online index builds", () => {
    expect(profileForServer(110002, "yugabytedb")).toBe(YUGABYTEDB);
    expect(YUGABYTEDB).toMatchObject({
      engine: "yugabytedb",
      major: null,
      basis: "documented",
      advisoryLocks: false,
      tidRangeScan: false,
      replicationView: false,
      transactionalDdl: false,
      indexBuild: "online",
      triggers: "plpgsql",
    });
  });
});

describe("lint targets read the profiles", () => {
  it("maps each target to its profile", () => {
    expect(targetProfile(parseTarget("postgres@16"))).toBe(postgresProfile(16));
    expect(targetProfile(parseTarget("postgres"))).toBe(postgresProfile(14));
    expect(targetProfile(parseTarget("crdb"))).toBe(COCKROACHDB);
    expect(targetProfile(parseTarget("yugabytedb"))).toBe(YUGABYTEDB);
  });

  it("accepts exactly the majors that have a profile", () => {
    expect(() => parseTarget("postgres@13")).toThrow(/underway supports PostgreSQL 14 to 18/);
    expect(() => parseTarget("postgres@19")).toThrow(/underway supports PostgreSQL 14 to 18/);
    for (let major = 14; major <= 18; major++) expect(parseTarget(`postgres@${major}`)).toEqual({ engine: "postgres", major });
  });
});
