import { describe, expect } from "vitest";

import { DROP_PREVIOUS_VERSION_SCHEMA, DROP_VERSION_SCHEMA, describePlans, ref, shop, statements } from "./support/plan-fixture.js";

const POSTS = ref("posts");

/** The shop schema with posts' replica identity on its unique index, as introspection reads it. */
function identityOnIndex() {
  const model = shop();
  model.tables.get("posts")!.replicaIdentity = "INDEX posts_user_id_title_key";
  return model;
}

describe("set_replica_identity", () => {
  describePlans([
    {
      name: "set_replica_identity full",
      operations: [{ set_replica_identity: { table: "posts", identity: { type: "full" } } }],
      start: [
        "changes the replica identity at start (catalog only)",
        (plan) => {
          expect(statements(plan.start)).toEqual([`ALTER TABLE ${POSTS} REPLICA IDENTITY FULL`]);
        },
      ],
      complete: [
        "has nothing left to do",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "restores the identity the table had, only if start changed it",
        (plan) => {
          expect(plan.rollback.slice(1)).toEqual([
            { kind: "ddl", description: "restore replica identity of posts", statements: [`ALTER TABLE ${POSTS} REPLICA IDENTITY DEFAULT`], table: POSTS, onlyIfStarted: 0 },
          ]);
        },
      ],
    },
    {
      name: "set_replica_identity index",
      operations: [{ set_replica_identity: { table: "posts", identity: { type: "index", index: "posts_user_id_title_key" } } }],
      start: [
        "uses the index",
        (plan) => {
          expect(statements(plan.start)).toEqual([`ALTER TABLE ${POSTS} REPLICA IDENTITY USING INDEX "posts_user_id_title_key"`]);
        },
      ],
      complete: [
        "has nothing left to do",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "restores DEFAULT",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA, `ALTER TABLE ${POSTS} REPLICA IDENTITY DEFAULT`]);
        },
      ],
    },
    {
      name: "set_replica_identity nothing, from an index",
      before: identityOnIndex,
      operations: [{ set_replica_identity: { table: "posts", identity: { type: "nothing" } } }],
      start: [
        "sets NOTHING",
        (plan) => {
          expect(statements(plan.start)).toEqual([`ALTER TABLE ${POSTS} REPLICA IDENTITY NOTHING`]);
        },
      ],
      complete: [
        "has nothing left to do",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "puts the identity back on the index it was on",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA, `ALTER TABLE ${POSTS} REPLICA IDENTITY USING INDEX "posts_user_id_title_key"`]);
        },
      ],
    },
  ]);
});
