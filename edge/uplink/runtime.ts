/**
 * What the edge tells the hub it runs (State.runtime), pure: the active signed policy (null when
 * none is installed) and the forecast models per target and role.
 */
import type { ActiveModelInfo, EdgeRuntime } from '../../protocols/index.js';

/** The parts of the active policy view the hub is told about. */
export interface PolicySummary {
  readonly policyId: string;
  readonly version: number;
  readonly sha256: string;
  readonly expiresMs: number | undefined;
  readonly expired: boolean;
}

export function edgeRuntime(policy: PolicySummary | undefined, models: readonly ActiveModelInfo[]): EdgeRuntime {
  return {
    policy: policy === undefined ? null : { id: policy.policyId, version: policy.version, sha256: policy.sha256, expiresMs: policy.expiresMs ?? null, expired: policy.expired },
    models: [...models],
  };
}
