import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig, type ReplaySourceConfig } from '../../config/index.js';
import { readColumn, ReplaySource } from '../../edge/sources/replay.js';
import { captureLogger } from '../helpers/logger.js';

const csv = 'timestamp,load,temp\n2018-01-01 00:00,100,20\n2018-01-01 01:00,,21\n2018-01-01 02:00,300,x\n';

describe('replay source', () => {
  it('reads a column, skipping missing and non-numeric cells', () => {
    expect(readColumn(csv, 'load')).toEqual([100, 300]);
    expect(readColumn(csv, 'temp')).toEqual([20, 21]);
  });

  it('emits batches at its rate, round robin over tags, scaled, with strictly increasing timestamps per tag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridos-replay-'));
    const file = join(dir, 'load.csv');
    writeFileSync(file, csv);
    const cfg = validateConfig(
      edgeConfigSchema,
      {
        edge: { id: 'e', site: 's' },
        hub: { mqttUrl: 'mqtt://127.0.0.1:1' },
        storage: { dataDir: dir },
        sources: [{ kind: 'replay', name: 'r', file, readingsPerSecond: 400, batchInterval: '20ms', tags: [{ id: 'a' }, { id: 'b', column: 'temp', scale: 10 }] }],
      },
      'test',
    );
    let t = 1000;
    const src = new ReplaySource(cfg.sources[0] as ReplaySourceConfig, { logger: captureLogger().logger, now: () => t });
    const batches = firstValueFrom(src.readings$.pipe(take(2), toArray()));
    await src.start();
    const [first, second] = await batches;
    await src.stop();
    expect(first).toHaveLength(8);
    expect(first!.map((r) => [r.tagId, r.value])).toEqual([
      ['a', 100], ['b', 200], ['a', 300], ['b', 210], ['a', 100], ['b', 200], ['a', 300], ['b', 210],
    ]);
    expect(first!.filter((r) => r.tagId === 'a').map((r) => r.tsMs)).toEqual([1000, 1001, 1002, 1003]);
    expect(second![0]!.tsMs).toBe(1004);
  });

  it('refuses a file without values for a tag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridos-replay-'));
    const file = join(dir, 'empty.csv');
    writeFileSync(file, 'timestamp,load\n');
    const src = new ReplaySource({ kind: 'replay', name: 'r', file, readingsPerSecond: 10, batchIntervalMs: 100, tags: [{ id: 'a', column: 'load', scale: 1, unit: '', description: '', min: 0, max: 1 }] }, { logger: captureLogger().logger });
    await expect(src.start()).rejects.toThrow(/no load values for tag a/);
  });
});
