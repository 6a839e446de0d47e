/**
 * Deadbands reach the server as DataChangeFilters: a tag whose deadband no change can cross
 * reports its initial value and then nothing, while a tag that overrides it with `none` keeps
 * reporting every change.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig, type OpcuaSourceConfig } from '../../config/index.js';
import { OpcuaSource } from '../../edge/sources/opcua.js';
import { Quality, type Reading } from '../../protocols/index.js';
import type { SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { startTestSubstation } from '../helpers/slice.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-uadeadband-'));
const { logger } = captureLogger('info');
let sim: SubstationHandle | undefined;
let source: OpcuaSource | undefined;

afterAll(async () => {
  await source?.stop();
  await sim?.stop();
});

describe('deadband', () => {
  it('an absolute deadband wider than any change holds a tag at its first value; a per-tag none override does not', async () => {
    sim = await startTestSubstation(dir, logger);
    const [held, free] = ['feeder1.active_power_kw', 'feeder2.active_power_kw'].map((tag) => sim!.points.find((p) => p.tag === tag)!);
    const cfg = validateConfig(
      edgeConfigSchema,
      {
        edge: { id: 'edge-d', site: 'site-d' },
        hub: { mqttUrl: 'mqtt://127.0.0.1:1' },
        storage: { dataDir: '/unused' },
        sources: [
          {
            kind: 'opcua',
            name: 'substation',
            endpoint: sim.endpointUrl,
            samplingInterval: '100ms',
            publishingInterval: '100ms',
            deadband: { type: 'absolute', value: 1e9 },
            tags: [
              { id: held!.tag, nodeId: held!.nodeId },
              { id: free!.tag, nodeId: free!.nodeId, deadband: { type: 'none' } },
            ],
          },
        ],
      },
      'test',
    );
    source = new OpcuaSource(cfg.sources[0] as OpcuaSourceConfig, { logger, pkiDir: join(dir, 'edge-pki') });
    const good: Reading[] = [];
    source.readings$.subscribe((batch) => good.push(...batch.filter((r) => r.quality === Quality.Good)));
    await source.start();
    const count = (tag: string) => good.filter((r) => r.tagId === tag).length;
    await waitFor('several changes of the tag without deadband', () => count(free!.tag) >= 10, 15_000);
    expect(count(held!.tag)).toBe(1);
  }, 30_000);
});
