/**
 * The edge's audit key: ed25519, `<dataDir>/edge-key.pem` (PKCS#8, mode 0600), created on first
 * start, air-gapped or not, so every checkpoint is signed from the first one. Its public half is
 * registered at the hub (`gridos audit key --config edge.yaml` prints it; hub config
 * `audit.edgeKeys`), which checks each checkpoint against it.
 */
import { join } from 'node:path';
import { loadOrCreateEd25519Key, type Ed25519KeyFile } from '../../protocols/index.js';

export const EDGE_KEY_FILE = 'edge-key.pem';

export function loadOrCreateEdgeKey(dataDir: string): Ed25519KeyFile {
  return loadOrCreateEd25519Key(join(dataDir, EDGE_KEY_FILE), "the edge's audit key");
}
