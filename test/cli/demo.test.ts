/** `gridos demo --duration 20` runs the whole system, exits 0, and leaves readings for all tags in the hub's store. */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGridos, startGridos } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

describe('gridos demo', () => {
  it('runs for 20 s on ephemeral ports, exits 0, and the hub store holds readings for every tag', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gridos-demo-'));
    const r = await runGridos(['demo', '--duration', '20', '--data-dir', dataDir, '--http-port', '0', '--mqtt-port', '0', '--opcua-port', '0', '--log-format', 'json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toMatch(/console: {2}http:\/\/127\.0\.0\.1:\d+\//);

    const db = new Database(join(dataDir, 'hub', 'hub.db'), { readonly: true });
    try {
      const tags = db.prepare("SELECT tag_id FROM tags WHERE edge_id = 'edge-north-01' ORDER BY tag_id").pluck().all() as string[];
      expect(tags.length).toBeGreaterThanOrEqual(8);
      const counts = db
        .prepare('SELECT s.tag_id AS tag, COUNT(r.ts_ms) AS n FROM series s LEFT JOIN readings r ON r.series_id = s.id GROUP BY s.tag_id ORDER BY s.tag_id')
        .all() as { tag: string; n: number }[];
      expect(counts.map((c) => c.tag)).toEqual(tags);
      // OPC UA reports a value when it changes: a constant setpoint yields one reading, a feeder many.
      for (const c of counts) expect(c.n, c.tag).toBeGreaterThanOrEqual(1);
      expect(counts.find((c) => c.tag === 'feeder1.active_power_kw')?.n).toBeGreaterThan(10);
    } finally {
      db.close();
    }
    expect(r.stderr).toMatch(/the hub holds readings for (\d+) of \1 tags of 1 edge/);
  }, 90_000);

  it('Ctrl-C (SIGINT) stops hub, simulator and edge cleanly with exit code 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gridos-demo-int-'));
    const demo = startGridos(['demo', '--data-dir', dataDir, '--http-port', '0', '--mqtt-port', '0', '--opcua-port', '0', '--log-format', 'json']);
    try {
      await waitFor('the demo to be running', () => demo.output().includes('gridos demo is running'), 30_000);
      demo.child.kill('SIGINT');
      const exit = await Promise.race([demo.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit 15 s after SIGINT')), 15_000))]);
      expect(exit, demo.output().slice(-2000)).toEqual({ code: 0, signal: null });
      expect(demo.output()).toContain('SIGINT, stopping');
      expect(demo.output()).toMatch(/"msg":"edge agent stopped"/);
      expect(demo.output()).toMatch(/"msg":"hub stopped"/);
      expect(demo.output()).toMatch(/gridos demo stopped/);
    } finally {
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    }
  }, 90_000);
});
