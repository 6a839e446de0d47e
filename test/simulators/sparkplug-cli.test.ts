/** `gridos sim sparkplug` (the built command): help, refused options, a run stopped by SIGINT with its NDEATH. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGridos, startGridos } from '../helpers/cli.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';
import { subscribeSparkplug } from './sparkplug-subscriber.js';

const TEST_TIMEOUT_MS = 30_000;
let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(() => broker?.stop());

describe('gridos sim sparkplug', () => {
  it('documents its options and refuses what the node cannot run with exit code 2', { timeout: TEST_TIMEOUT_MS }, async () => {
    const help = await runGridos(['sim', 'sparkplug', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--url', '--devices', '--metrics-per-device', '--rate', '--batch', '--qos', '--stuck', '--faults']) expect(help.stdout).toContain(flag);
    const refused = await runGridos(['sim', 'sparkplug', '--url', broker.url, '--batch', '500']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/batchSize: expected a whole number from 1 to metricsPerDevice \(100\)/);
  });

  it('publishes births and data with the chosen faults, and an NDEATH on SIGINT', { timeout: TEST_TIMEOUT_MS }, async () => {
    const group = `cli${process.pid}`;
    const sub = await subscribeSparkplug(broker.url, group);
    const sim = startGridos(['--log-format', 'json', 'sim', 'sparkplug', '--url', broker.url, '--group', group, '--devices', '2', '--rate', '2000', '--stuck', 'Bay01/Feeder01/Voltage_kV', '--faults', 'malformed', '--fault-every', '0.2']);
    try {
      await waitFor(`a malformed payload (${sim.output()})`, () => sub.messages.some((m) => m.error !== undefined), 15_000, 20);
      sim.child.kill('SIGINT');
      expect((await sim.exited).code).toBe(0);
      await waitFor('the NDEATH', () => sub.of('NDEATH').length === 1, 10_000, 20);
      expect(sub.of('DBIRTH')).toHaveLength(2);
      const alias = sub.of('DBIRTH')[0]!.payload!.metrics.find((m) => m.name === 'Feeder01/Voltage_kV')!.alias;
      const stuck = sub.of('DDATA').flatMap((m) => m.payload?.metrics.filter((x) => x.alias === alias).map((x) => x.value) ?? []);
      expect(stuck.length).toBeGreaterThan(0);
      expect(new Set(stuck).size).toBe(1);
    } finally {
      if (sim.child.exitCode === null) sim.child.kill('SIGKILL');
      await sub.close();
    }
  });
});
