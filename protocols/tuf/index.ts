/**
 * @module protocols/tuf
 * The signed-distribution wire: TUF repository layout and target names, ed25519 key ids, canonical
 * JSON, and the hub-signed per-edge assignment. Imports nothing of edge/ or hub/.
 *
 * @example
 *   const signed = signAssignment({ type: ASSIGNMENT_TYPE, edgeId: 'e1', siteId: 's1', version: 1,
 *     issuedAt: '2026-01-01T00:00:00Z', expires: '2026-01-08T00:00:00Z',
 *     policy: { target: policyTarget('north-feeders', 7), version: 7, sha256, length }, models: [] }, [privateKey]);
 *   const r = verifyAssignment(signed, { keys: [tufPublicKey(privateKey)], threshold: 1 },
 *     { edgeId: 'e1', siteId: 's1', referenceTimeMs: Date.now() }); // r.ok === true
 */
export { canonicalJson } from './canonical-json.js';
export { tufKeyJson, tufKeyId, tufPublicKey, ed25519PublicKeyHex, publicKeyFromHex } from './keys.js';
export type { TufPublicKey } from './keys.js';
export {
  METADATA_DIR,
  TARGETS_DIR,
  ASSIGNMENTS_DIR,
  TIMESTAMP_FILE,
  ASSIGNMENT_KEYS_FIELD,
  MODEL_FILES,
  versionedMetadataFile,
  rootVersionOf,
  policyTarget,
  parsePolicyTarget,
  modelTarget,
  parseModelTarget,
  isKnownTarget,
  targetFilePath,
  assignmentFile,
} from './layout.js';
export type { TopRole, ModelFile } from './layout.js';
export { ASSIGNMENT_TYPE, MAX_ASSIGNMENT_BYTES, assignmentSchema, signedAssignmentSchema, signAssignment, verifyAssignment, assignmentTrustField, parseAssignmentTrust } from './assignment.js';
export type { Assignment, SignedAssignment, AssignmentProblem, AssignmentProblemCode, AssignmentResult, AssignmentTrust } from './assignment.js';
