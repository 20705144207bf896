import { ident } from "../../db/ident.js";
import type { SetReplicaIdentityOperation } from "../../format/schema.js";
import { invalid, requireTable, tableRef, type PlanContext } from "./plan-context.js";

/** set_replica_identity: a catalog-only change made at start and undone by rollback. */
export async function planSetReplicaIdentity(ctx: PlanContext, op: SetReplicaIdentityOperation): Promise<void> {
  const table = requireTable(ctx, op.table);
  const ref = tableRef(ctx, table);
  const type = op.identity.type.toUpperCase();
  let clause: string;
  if (type === "INDEX") {
    const index = op.identity.index;
    if (!index) throw invalid(ctx, "identity.index", "type index needs the index name");
    if (!table.indexes.some((i) => i.name === index)) {
      throw invalid(ctx, "identity.index", `index "${index}" does not exist on table "${table.name}"`);
    }
    clause = `USING INDEX ${ident(index)}`;
  } else if (type === "NOTHING" || type === "DEFAULT" || type === "FULL") {
    clause = type;
  } else {
    throw invalid(ctx, "identity.type", `expected nothing, default, full or index, got "${op.identity.type}"`);
  }
  const step = {
    kind: "ddl" as const,
    description: `set replica identity of ${table.name}`,
    statements: [`ALTER TABLE ${ref} REPLICA IDENTITY ${clause}`],
    table: ref,
  };
  ctx.stages.expand.push(step);
  const before = table.replicaIdentity ?? "DEFAULT";
  const restore = {
    kind: "ddl" as const,
    description: `restore replica identity of ${table.name}`,
    statements: [`ALTER TABLE ${ref} REPLICA IDENTITY ${before.startsWith("INDEX ") ? `USING INDEX ${ident(before.slice(6))}` : before}`],
    table: ref,
  };
  ctx.stages.rollback.push(restore);
  ctx.stages.gates.set(restore, step);
}
