/**
 * The OPC UA server is replaced by a new instance with a new certificate on the same endpoint (a
 * re-installed or re-keyed device): every session and subscription is gone, and the certificate
 * the client knew is no longer the server's. The source comes back on its own and readings of
 * every tag flow again, both without security and over SignAndEncrypt with Basic256Sha256 (a
 * secure session against the simulator, each side accepting the other's new certificate).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig, type OpcuaSourceConfig } from '../../config/index.js';
import { OpcuaSource } from '../../edge/sources/opcua.js';
import { Quality, type Reading } from '../../protocols/index.js';
import { startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const { logger } = captureLogger('info');
let sim: SubstationHandle | undefined;
let source: OpcuaSource | undefined;

afterEach(async () => {
  await source?.stop();
  await sim?.stop();
});

const startSim = (port: number, pkiDir: string) => startSubstation({ ...substationDefaults, port, hourSeconds: 30, tickMs: 100, pkiDir, logger });

function sourceConfig(s: SubstationHandle, securityMode: 'None' | 'SignAndEncrypt'): OpcuaSourceConfig {
  const cfg = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: 'edge-cert', site: 'site-cert' },
      hub: { mqttUrl: 'mqtt://127.0.0.1:1' },
      storage: { dataDir: '/unused' },
      sources: [
        {
          kind: 'opcua',
          name: 'substation',
          endpoint: s.endpointUrl,
          securityMode,
          securityPolicy: securityMode === 'None' ? 'None' : 'Basic256Sha256',
          samplingInterval: '100ms',
          publishingInterval: '100ms',
          reconnect: { initialDelay: '200ms', maxDelay: '2s' },
          tags: s.points.map((p) => ({ id: p.tag, nodeId: p.nodeId })),
        },
      ],
    },
    'test',
  );
  return cfg.sources[0] as OpcuaSourceConfig;
}

const serverCertificate = (pkiDir: string) => {
  const certs = join(pkiDir, 'server', 'own', 'certs');
  return readdirSync(certs).map((f) => readFileSync(join(certs, f), 'utf8')).join();
};

describe.each(['None', 'SignAndEncrypt'] as const)('a new server instance with a new certificate, securityMode %s', (securityMode) => {
  it('the source re-creates session and subscription, and every tag flows again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridos-uacert-'));
    sim = await startSim(0, join(dir, 'pki-before'));
    const port = sim.port;
    const tags = sim.points.filter((p) => !p.writable).map((p) => p.tag);
    source = new OpcuaSource(sourceConfig(sim, securityMode), { logger, pkiDir: join(dir, 'edge-pki') });
    const received: (Reading & { atMs: number })[] = [];
    source.readings$.subscribe((batch) => received.push(...batch.map((r) => ({ ...r, atMs: Date.now() }))));
    await source.start();
    const flowsSince = (t0: number) => tags.every((tag) => received.some((r) => r.tagId === tag && r.quality === Quality.Good && r.atMs > t0));
    await waitFor('readings of every tag before the restart', () => flowsSince(0), 15_000);

    await sim.stop();
    sim = await startSim(port, join(dir, 'pki-after'));
    const backAt = Date.now();
    expect(serverCertificate(join(dir, 'pki-after'))).not.toBe(serverCertificate(join(dir, 'pki-before')));

    await waitFor('readings of every tag from the new server', () => flowsSince(backAt), 30_000, 100);
    expect(source.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(received.filter((r) => r.quality === Quality.Stale && r.atMs <= backAt).map((r) => r.tagId)).toEqual(expect.arrayContaining(tags));
  }, 90_000);
});
