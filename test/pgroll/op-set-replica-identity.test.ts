import { describe } from "vitest";
import { executeTests, replicaIdentityMustBe, type PgrollMigration } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_set_replica_identity_test.go (TestSetReplicaIdentity), translated. */
describe("set_replica_identity (pgroll's operation tests)", () => {
  const createTableMigration: PgrollMigration = {
    name: "01_add_table",
    operations: [
      {
        create_table: {
          name: "users",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "name", type: "varchar(255)" },
          ],
        },
      },
    ],
  };

  executeTests([
    {
      name: "set replica identity to FULL",
      migrations: [createTableMigration, { name: "02_set_replica_identity", operations: [{ set_replica_identity: { table: "users", identity: { type: "full" } } }] }],
      afterStart: async (db, schema) => {
        // The replica identity has been set to 'f' (full).
        await replicaIdentityMustBe(db, schema, "users", "f");
      },
      // afterRollback: rollback is a no-op; afterComplete: complete is a no-op (pgroll's hooks are empty).
    },
    {
      name: "set replica identity to NOTHING",
      migrations: [createTableMigration, { name: "02_set_replica_identity", operations: [{ set_replica_identity: { table: "users", identity: { type: "nothing" } } }] }],
      afterStart: async (db, schema) => {
        // The replica identity has been set to 'n' (nothing).
        await replicaIdentityMustBe(db, schema, "users", "n");
      },
      // afterRollback: rollback is a no-op; afterComplete: complete is a no-op (pgroll's hooks are empty).
    },
    {
      name: "set replica identity to DEFAULT",
      migrations: [createTableMigration, { name: "02_set_replica_identity", operations: [{ set_replica_identity: { table: "users", identity: { type: "default" } } }] }],
      afterStart: async (db, schema) => {
        // The replica identity has been set to 'd' (default).
        await replicaIdentityMustBe(db, schema, "users", "d");
      },
      // afterRollback: rollback is a no-op; afterComplete: complete is a no-op (pgroll's hooks are empty).
    },
    {
      name: "set replica identity to USING INDEX",
      migrations: [
        createTableMigration,
        { name: "02_set_replica_identity", operations: [{ set_replica_identity: { table: "users", identity: { type: "index", index: "users_pkey" } } }] },
      ],
      afterStart: async (db, schema) => {
        // The replica identity has been set to 'i' (index).
        await replicaIdentityMustBe(db, schema, "users", "i");
      },
      // afterRollback: rollback is a no-op; afterComplete: complete is a no-op (pgroll's hooks are empty).
    },
  ]);
});

/** pgroll's TestSetReplicaIdentityValidation, translated. */
describe("set_replica_identity validation (pgroll's operation tests)", () => {
  const addTableMigration: PgrollMigration = {
    name: "01_add_table",
    operations: [
      {
        create_table: {
          name: "users",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "name", type: "varchar(255)", unique: true },
          ],
        },
      },
    ],
  };

  executeTests([
    {
      name: "table must exist",
      migrations: [addTableMigration, { name: "02_add_column", operations: [{ set_replica_identity: { table: "doesntexist", identity: { type: "default" } } }] }],
      wantStartErr: /table "doesntexist" does not exist/,
    },
    {
      name: "identity must be valid",
      migrations: [addTableMigration, { name: "02_add_column", operations: [{ set_replica_identity: { table: "users", identity: { type: "invalid_identity" } } }] }],
      // underway refuses this file when loading it, which the harness does before start, so the case fails on that load error.
      wantStartErr: /set_replica_identity\.identity\.type: expected one of "NOTHING", "DEFAULT", "INDEX", "FULL", got "invalid_identity"/,
    },
    {
      name: "index name must be valid",
      migrations: [
        addTableMigration,
        { name: "02_add_column", operations: [{ set_replica_identity: { table: "users", identity: { type: "index", index: "invalid_index" } } }] },
      ],
      wantStartErr: /index "invalid_index" does not exist on table "users"/,
    },
  ]);
});
