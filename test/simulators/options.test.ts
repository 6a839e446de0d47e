/** startSubstation refuses options the physics cannot run, before it opens a port or a file. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSeriesFile, perUnitAt, SimulatorOptionsError, startSubstation, substationDefaults, type SubstationOptions } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-sim-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base: SubstationOptions = { ...substationDefaults, port: 0, pkiDir: join(dir, 'pki'), logger: captureLogger().logger };

async function problems(options: Partial<SubstationOptions>): Promise<string[]> {
  const err: unknown = await startSubstation({ ...base, ...options }).then(
    async (sim) => {
      await sim.stop();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SimulatorOptionsError);
  expect((err as SimulatorOptionsError).code).toBe('SIM_OPTIONS_INVALID');
  return (err as SimulatorOptionsError).problems;
}

describe('substation options', () => {
  it('has the documented defaults', () => {
    expect(substationDefaults).toEqual({ port: 4840, feeders: 2, hourSeconds: 3600, startSimTime: new Date('2018-07-16T00:00:00Z'), tickMs: 1000 });
    expect(Object.isFrozen(substationDefaults)).toBe(true);
  });

  it('names every problem at once, and opens nothing', async () => {
    const found = await problems({ port: 70_000, feeders: 0, hourSeconds: 0, tickMs: Number.NaN, startSimTime: new Date('nonsense') });
    expect(found).toHaveLength(5);
    for (const key of ['port', 'feeders', 'hourSeconds', 'tickMs', 'startSimTime']) expect(found.some((p) => p.startsWith(`${key}:`)), key).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses PV and battery parameters outside what the physics can run', async () => {
    expect(await problems({ pv: { capacityKw: -1 } })).toEqual([expect.stringMatching(/^pv\.capacityKw/)]);
    expect(await problems({ battery: { efficiency: 1.2 } })).toEqual([expect.stringMatching(/^battery\.efficiency/)]);
    expect(await problems({ battery: { socMinPct: 90, socMaxPct: 20 } })).toEqual([expect.stringMatching(/SoC limits/)]);
    expect(await problems({ battery: { initialSocPct: 99 } })).toEqual([expect.stringMatching(/^battery\.initialSocPct/)]);
    expect(await problems({ battery: { capacityKwh: 0, maxChargeKw: -5 } })).toHaveLength(2);
  });

  it('refuses feeder peaks and load series it cannot replay', async () => {
    expect(await problems({ feederPeaksKw: [4000, 0] })).toEqual([expect.stringMatching(/^feederPeaksKw: expected one or more peaks > 0 kW, got \[4000, 0\]/)]);
    expect(await problems({ feederPeaksKw: [] })).toEqual([expect.stringMatching(/^feederPeaksKw/)]);
    expect(await problems({ series: ['../etc/passwd'] })).toEqual([expect.stringMatching(/^series: expected one or more names of files in simulators\/data/)]);
  });

  it('replays the chosen series at the chosen feeder peaks (a second substation, as the demo runs)', async () => {
    const sim = await startSubstation({ ...base, feeders: 2, series: ['pjm_aep', 'pjm_dayton'], feederPeaksKw: [5000, 3500], pkiDir: join(dir, 'pki-south') });
    try {
      const t = base.startSimTime.getTime();
      const [f1, f2] = sim.snapshot().feeders;
      // one simulated hour per real hour: the load moves by far less than 1 kW in the time it takes to look
      expect(f1!.loadKw).toBeCloseTo(perUnitAt(loadSeriesFile('pjm_aep'), t) * 5000, 0);
      expect(f2!.loadKw).toBeCloseTo(perUnitAt(loadSeriesFile('pjm_dayton'), t) * 3500, 0);
    } finally {
      await sim.stop();
    }
  }, 30_000);
});
