/**
 * The hub's decision key: ed25519, a PKCS#8 PEM file in the hub's data dir (mode 0600), created
 * on first start. Edges trust its public half (GET /api/decision-key) to verify decisions.
 */
import { loadOrCreateEd25519Key, type Ed25519KeyFile } from '../../protocols/index.js';

export type DecisionKey = Ed25519KeyFile;

export function loadOrCreateDecisionKey(path: string): DecisionKey {
  return loadOrCreateEd25519Key(path, "the hub's decision key");
}
