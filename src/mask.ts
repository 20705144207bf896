/**
 * `underway/mask`: the masking rules a rehearsal applies to the sample it copies, usable
 * for any other copy between clusters (`resolveMasking` and `selectList` build the select
 * lists that mask on the source).
 *
 * @example
 * import { loadMaskFile } from "underway/mask";
 * const policy = await loadMaskFile("masks.yaml");
 */
export { resolveMasking, selectList, SALT_VARIABLE } from "./mask/masking-plan.js";
export type { MaskPlan } from "./mask/masking-plan.js";
export { loadMaskFile, parseMaskPolicy } from "./mask/rules-file.js";
export { MASK_RULES, FAKE_KINDS } from "./mask/policy.js";
export type { MaskPolicy, MaskRule } from "./mask/policy.js";
export { personalKind } from "./mask/detect.js";
export type { PersonalKind } from "./mask/detect.js";
