/**
 * @module hub/registry
 * The hub's TUF repository of policies and model artifacts (@tufjs/models), per-edge signed
 * assignments, and the air-gap bundle export. Errors are HubTufError with HUB_TUF_* codes.
 *
 * @example
 *   initRepository(dir, roles, [owner1, owner2]);                      // root v1, 2 of 3 root keys
 *   addTargets(dir, { add: [policyTargetFromFile('north.yaml')] }, [policyOwnerA, policyOwnerB]);
 *   publish(dir, { snapshot: [hubSnapshotKey], timestamp: [hubTimestampKey] });
 *   issueAssignment(dir, { edgeId: 'e1', siteId: 's1', policy: policyTarget('north-feeders', 7) }, [hubAssignmentKey]);
 *   exportBundle(dir, '/media/usb/gridos');
 */
export { HubTufError } from './errors.js';
export type { HubTufErrorCode } from './errors.js';
export { generateKeyFiles, loadSigningKey, loadPublicKey } from './keys.js';
export type { SigningKey, KeyFiles } from './keys.js';
export { DEFAULT_EXPIRIES } from './repo-files.js';
export type { Expiries, WriteOptions } from './repo-files.js';
export { initRepository, rotateRoot, rolesOf } from './repository.js';
export type { RoleKeys, RepositoryRoles } from './repository.js';
export { addTargets, publish } from './releases.js';
export type { TargetInput, TargetChanges, OnlineSigners } from './releases.js';
export { issueAssignment } from './assignments.js';
export type { AssignmentRequest } from './assignments.js';
export { exportBundle } from './export.js';
export type { ExportOptions } from './export.js';
export { policyTargetFromFile, modelTargetsFromDir } from './inputs.js';
export { repositoryStatus } from './status.js';
export type { RepositoryStatus, RoleStatus } from './status.js';
