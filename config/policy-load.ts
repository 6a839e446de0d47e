/**
 * Loading a dispatch policy from YAML. Unlike the edge and hub configs, no GRIDOS_ environment
 * override applies: a policy is signed by the hub, and a variable on one gateway must not be
 * able to loosen it.
 */
import { readConfigText, parseYamlDocument, validateConfig } from './load.js';
import { policySchema, type Policy } from './policy.js';

/** Parses and validates policy text; `fileName` names it in errors. Returns the frozen, compiled policy. */
export function parsePolicy(text: string, fileName: string): Policy {
  return validateConfig(policySchema, parseYamlDocument(fileName, text), fileName, { env: {} });
}

/** Reads, parses and validates a policy file; throws a ConfigError naming the file and every bad key. */
export function loadPolicy(file: string): Policy {
  return parsePolicy(readConfigText(file), file);
}
