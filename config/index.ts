/**
 * @module config
 * zod schemas for the edge and hub configs, YAML loading with GRIDOS_ environment overrides,
 * and readable errors; the dispatch policy's schema and loading (`loadPolicy`). A leaf: imports nothing else of gridos.
 *
 * @example
 *   const cfg = loadEdgeConfig('config/edge.example.yaml'); // frozen, durations in ms
 *   // on error: ConfigError, whose message lists `file: key.path: expected X, got Y` per line
 */
import { edgeConfigSchema, type EdgeConfig } from './edge.js';
import { hubConfigSchema, type HubConfig } from './hub.js';
import { loadConfigFile, type LoadOptions } from './load.js';

export { edgeConfigSchema, hubConfigSchema };
export { tagsOf } from './edge.js';
export type { EdgeConfig, EdgeConfigInput, SourceConfig, OpcuaSourceConfig, ReplaySourceConfig, MqttSourceConfig, SparkplugSourceConfig, TagConfig } from './edge.js';
export type { HubConfig, HubConfigInput, BrokerConfig, HubAuthConfig } from './hub.js';
export { ConfigError, formatProblem } from './errors.js';
export type { ConfigProblem } from './errors.js';
export { validateConfig, parseYamlDocument } from './load.js';
export type { LoadOptions } from './load.js';
export { parseDurationMs } from './units.js';
export { policySchema, ACTION_TYPES, DAYS_OF_WEEK } from './policy.js';
export type { Policy, PolicyInput, PolicyRule, PolicyRange, PolicyTimeWindow, PolicyConditions, PolicyApproval, PolicyOnTimeout, PolicyRateLimits, PolicyFallback, FallbackAction, ActionType, Outcome } from './policy.js';
export { loadPolicy, parsePolicy } from './policy-load.js';
export { ENV_PREFIX } from './env.js';

export function loadEdgeConfig(file: string, options: LoadOptions = {}): EdgeConfig {
  return loadConfigFile(edgeConfigSchema, file, {
    ...options,
    pathKeys: [['storage', 'dataDir'], ['forecast', 'targets', '*', 'model'], ['forecast', 'targets', '*', 'shadow'], ['forecast', 'targets', '*', 'history', 'file'], ['policy', 'source'], ['policy', 'trustedRoot'], ['dispatch', 'decisionKey']],
  });
}

export function loadHubConfig(file: string | undefined, options: LoadOptions = {}): HubConfig {
  return loadConfigFile(hubConfigSchema, file, { ...options, pathKeys: [['storage', 'dataDir'], ['registry', 'dir'], ['audit', 'edgeKeys', '*']] });
}
