/**
 * The edge's durable write path: raw readings plus their outbox message(s), with sequence
 * numbers, in one SQLite transaction (WAL, synchronous=FULL), exactly as the agent commits a
 * pipeline batch. Batches of 5,000 readings (the agent's default commit under load, in messages of
 * 1,000) against the baseline of one transaction per reading.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeStore } from '../edge/store/edge-store.js';
import { Lane } from '../edge/store/lanes.js';
import { gapDraft, telemetryDrafts, type DraftContext } from '../edge/uplink/drafts.js';
import { Quality, type Reading } from '../protocols/index.js';
import { machine } from './machine.js';

const TAGS = Array.from({ length: 50 }, (_, i) => `feeder${(i % 8) + 1}.point_${i}`);

function measure(batchReadings: number, seconds: number, compress: boolean): { readingsPerSec: number; bytesPerReading: number } {
  const dir = mkdtempSync(join(tmpdir(), 'gridos-bench-outbox-'));
  const ctx: DraftContext = { edgeId: 'edge-1', siteId: 'site-1', compress, maxBatchReadings: 1000, maxBatchBytes: 256 * 1024, now: Date.now };
  const store = new EdgeStore(join(dir, 'edge.db'), {
    limits: { maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER, dropPolicy: 'oldest' },
    gapDraft: (gap) => gapDraft(ctx, gap),
  });
  let ts = Date.UTC(2026, 0, 1);
  let written = 0;
  const batch: Reading[] = new Array(batchReadings);
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < batchReadings; i++) {
      batch[i] = { tagId: TAGS[(written + i) % TAGS.length]!, tsMs: ts, value: 1000 * Math.sin(written + i), quality: Quality.Good };
      if ((written + i) % TAGS.length === TAGS.length - 1) ts += 1000;
    }
    store.commit({ readings: batch, telemetry: (fresh) => telemetryDrafts(ctx, fresh) });
    written += batchReadings;
  }
  const elapsed = (performance.now() - start) / 1000;
  if (store.outboxInLane(Lane.Telemetry, 0, Number.MAX_SAFE_INTEGER, 1).length === 0) throw new Error('nothing reached the outbox');
  store.close();
  const bytes = statSync(join(dir, 'edge.db')).size + (statSync(join(dir, 'edge.db-wal'), { throwIfNoEntry: false })?.size ?? 0);
  rmSync(dir, { recursive: true, force: true });
  return { readingsPerSec: Math.round(written / elapsed), bytesPerReading: +(bytes / written).toFixed(1) };
}

export function benchOutbox(args: string[] = []) {
  const seconds = args.includes('--quick') ? 1.5 : 4;
  // The agent commits up to storage.maxCommitReadings (default 5,000) per transaction under load.
  const batched = measure(5000, seconds, true);
  const batchedPlain = measure(5000, seconds, false);
  const batched1k = measure(1000, seconds, true);
  const perReading = measure(1, seconds, true);
  return {
    bench: 'outbox',
    machine: machine(),
    inputs: { batchReadings: 5000, readingsPerMessage: 1000, tags: TAGS.length, synchronous: 'FULL', journal: 'WAL', compress: true, seconds },
    figures: {
      batchedReadingsPerSec: batched.readingsPerSec,
      batchedUncompressedReadingsPerSec: batchedPlain.readingsPerSec,
      batched1000ReadingsPerSec: batched1k.readingsPerSec,
      perReadingReadingsPerSec: perReading.readingsPerSec,
      ratio: +(batched.readingsPerSec / perReading.readingsPerSec).toFixed(1),
      bytesOnDiskPerReading: batched.bytesPerReading,
    },
  };
}
