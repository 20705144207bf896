/** set_replica_identity: what logical replication sends to identify a changed row. */
import * as z from "zod";

import { given, operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { canonical, closed, identifier, keyword, optional } from "../raw.js";

export interface SetReplicaIdentityOperation {
  kind: "set_replica_identity";
  table: string;
  identity: { type: "NOTHING" | "DEFAULT" | "INDEX" | "FULL"; index?: string };
}

const REPLICA_IDENTITIES = ["NOTHING", "DEFAULT", "INDEX", "FULL"] as const;

const rawSetReplicaIdentity = closed({
  table: identifier,
  identity: closed({
    type: keyword(REPLICA_IDENTITIES),
    index: optional(z.string()),
  }),
});

export type SetReplicaIdentityInput = z.input<typeof rawSetReplicaIdentity>;

function buildSetReplicaIdentity(raw: z.output<typeof rawSetReplicaIdentity>, path: Path, problems: Problems): SetReplicaIdentityOperation {
  const type = canonical(REPLICA_IDENTITIES, raw.identity.type);
  const index = given(raw.identity.index) && raw.identity.index !== "" ? raw.identity.index : undefined;
  const identity: SetReplicaIdentityOperation["identity"] = { type };
  if (type === "INDEX") {
    if (index === undefined) problems.add([...path, "identity", "index"], "required when identity type is index");
    else if (problems.parse(identifier, index, [...path, "identity", "index"]) !== undefined) identity.index = index;
  } else if (index !== undefined) {
    problems.add([...path, "identity", "index"], `only applies when identity type is index, not ${raw.identity.type}`);
  }
  return { kind: "set_replica_identity", table: raw.table, identity };
}

export const setReplicaIdentityFormat = operationFormat(rawSetReplicaIdentity, buildSetReplicaIdentity);
