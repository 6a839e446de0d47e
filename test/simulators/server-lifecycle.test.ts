/**
 * The simulator's lifecycle: stop() releases what start took (port, clock), and a start that
 * cannot listen fails with the reason instead of leaving a half-started server behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSubstation, substationDefaults, type SubstationOptions } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const TEST_TIMEOUT_MS = 30_000;
const dir = mkdtempSync(join(tmpdir(), 'gridos-sim-lifecycle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const options = (o: Partial<SubstationOptions>): SubstationOptions => ({ ...substationDefaults, port: 0, hourSeconds: 2, tickMs: 20, pkiDir: join(dir, 'pki'), logger: captureLogger('warn').logger, ...o });

describe('substation simulator lifecycle', () => {
  it('stop() frees the port and stops the clock, and may be called twice', { timeout: TEST_TIMEOUT_MS }, async () => {
    const sim = await startSubstation(options({}));
    try {
      await waitFor('a physics step', () => sim.snapshot().simTimeMs > substationDefaults.startSimTime.getTime(), 10_000, 10);
    } finally {
      await sim.stop();
    }
    await sim.stop();
    const stoppedAtMs = sim.snapshot().simTimeMs;
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.snapshot().simTimeMs).toBe(stoppedAtMs);
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(sim.port, '127.0.0.1', () => resolve()));
    await new Promise((r) => probe.close(r));
  });

  it('refuses a port in use with the listen error', { timeout: TEST_TIMEOUT_MS }, async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const { port } = blocker.address() as { port: number };
    try {
      await expect(startSubstation(options({ port }))).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
