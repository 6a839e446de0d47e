/**
 * The simulator as a device: a real node-opcua client writes the battery setpoint and reads the
 * state of charge back over OPC UA while the simulated clock runs (1 simulated hour per 2 s).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPCUAClient, AttributeIds, DataType, MessageSecurityMode, SecurityPolicy, StatusCodes, type ClientSession } from 'node-opcua-client';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBattery, startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-sim-'));
let sim: SubstationHandle;
let client: OPCUAClient;
let session: ClientSession;

beforeAll(async () => {
  sim = await startSubstation({ ...substationDefaults, port: 0, hourSeconds: 2, tickMs: 100, pkiDir: join(dir, 'pki'), logger: captureLogger('warn').logger });
  client = OPCUAClient.create({
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    connectionStrategy: { maxRetry: 2, initialDelay: 100 },
    clientCertificateManager: new OPCUACertificateManager({ rootFolder: join(dir, 'client-pki'), automaticallyAcceptUnknownCertificate: true }),
  });
  await client.connect(sim.endpointUrl);
  session = await client.createSession();
}, 60_000);

afterAll(async () => {
  await session?.close();
  await client?.disconnect();
  await sim?.stop();
});

async function read(nodeId: string): Promise<{ value: number; tsMs: number }> {
  const dv = await session.read({ nodeId, attributeId: AttributeIds.Value });
  expect(dv.statusCode.value, nodeId).toBe(StatusCodes.Good.value);
  return { value: dv.value.value as number, tsMs: dv.sourceTimestamp!.getTime() };
}

const write = (nodeId: string, value: number) => session.write({ nodeId, attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Double, value } } });

describe('substation simulator over OPC UA', () => {
  it('serves the documented address space with the tags the edge is configured from', async () => {
    const nodeIds = sim.points.map((p) => p.nodeId);
    expect(nodeIds).toEqual(expect.arrayContaining(['ns=1;s=Feeder1.ActivePower', 'ns=1;s=Feeder2.Voltage', 'ns=1;s=PV1.CurtailmentLimit', 'ns=1;s=BESS1.StateOfCharge', 'ns=1;s=BESS1.PowerSetpoint']));
    for (const p of sim.points) {
      const { value } = await read(p.nodeId);
      expect(value, p.tag).toBeGreaterThanOrEqual(p.minValue);
      expect(value, p.tag).toBeLessThanOrEqual(p.maxValue);
    }
    const ns = await session.readNamespaceArray();
    expect(ns[1]).toBe('urn:gridos:simulator:substation');
  });

  it('a discharge setpoint lowers the state of charge over time, a charge setpoint raises it, within limits', async () => {
    const soc0 = (await read('ns=1;s=BESS1.StateOfCharge')).value;
    expect((await write('ns=1;s=BESS1.PowerSetpoint', 800)).value).toBe(StatusCodes.Good.value);
    const afterDischarge = await waitFor('SoC to fall by 5 points', async () => {
      const v = (await read('ns=1;s=BESS1.StateOfCharge')).value;
      return v <= soc0 - 5 ? v : undefined;
    });
    expect((await read('ns=1;s=BESS1.ActivePower')).value).toBeGreaterThan(0);
    expect(afterDischarge).toBeGreaterThanOrEqual(defaultBattery.socMinPct);

    expect((await write('ns=1;s=BESS1.PowerSetpoint', -800)).value).toBe(StatusCodes.Good.value);
    await waitFor('SoC to rise by 5 points', async () => (await read('ns=1;s=BESS1.StateOfCharge')).value >= afterDischarge + 5);
    const up = (await read('ns=1;s=BESS1.StateOfCharge')).value;
    expect(up).toBeLessThanOrEqual(defaultBattery.socMaxPct);
    expect((await read('ns=1;s=BESS1.PowerSetpoint')).value).toBe(-800);
  });

  it('discharging until empty stops at the minimum SoC with zero power', async () => {
    await write('ns=1;s=BESS1.PowerSetpoint', 1000);
    await waitFor('SoC at its minimum', async () => (await read('ns=1;s=BESS1.StateOfCharge')).value === defaultBattery.socMinPct, 25_000);
    await waitFor('battery power to stop', async () => (await read('ns=1;s=BESS1.ActivePower')).value === 0, 5_000);
    await write('ns=1;s=BESS1.PowerSetpoint', 0);
  });

  it('refuses an out-of-range setpoint (BadOutOfRange) and a write to a measurement (BadNotWritable), changing nothing', async () => {
    await write('ns=1;s=BESS1.PowerSetpoint', 0);
    expect((await write('ns=1;s=BESS1.PowerSetpoint', 5000)).name).toBe('BadOutOfRange');
    expect((await write('ns=1;s=PV1.CurtailmentLimit', 120)).name).toBe('BadOutOfRange');
    expect((await write('ns=1;s=PV1.ActivePower', 10)).name).toBe('BadNotWritable');
    await new Promise((r) => setTimeout(r, 300));
    expect((await read('ns=1;s=BESS1.PowerSetpoint')).value).toBe(0);
    expect(sim.snapshot().battery.setpointKw).toBe(0);
  });

  it('records what it served, so a value can be matched to its source timestamp', async () => {
    const { value, tsMs } = await read('ns=1;s=Feeder1.ActivePower');
    expect(sim.servedValue('ns=1;s=Feeder1.ActivePower', tsMs)).toBe(value);
    expect(sim.servedValue('ns=1;s=Feeder1.ActivePower', tsMs + 1)).toBeUndefined();
  });
});
