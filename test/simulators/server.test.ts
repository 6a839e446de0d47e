/**
 * The simulator as a device: a real node-opcua client on 127.0.0.1 browses, reads and writes the
 * substation while its clock runs at one simulated hour per 2 s (a tick of 100 ms = 3 simulated
 * minutes), and the served log answers for every value the client saw.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { AttributeIds, DataType, MessageSecurityMode, OPCUAClient, SecurityPolicy, type ClientSession, type DataValue, type StatusCode } from 'node-opcua-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBattery, startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const TEST_TIMEOUT_MS = 30_000;
const SIM_MS_PER_TICK = 180_000; // tickMs (100) x 3600 / hourSeconds (2)
const SOC = 'ns=1;s=BESS1.StateOfCharge';
const BESS_POWER = 'ns=1;s=BESS1.ActivePower';
const SETPOINT = 'ns=1;s=BESS1.PowerSetpoint';

const dir = mkdtempSync(join(tmpdir(), 'gridos-sim-server-'));
// node-opcua's fallback certificate folders live under XDG_CONFIG_HOME: point it at an empty folder.
const xdgConfig = join(dir, 'xdg-config');
const savedXdg = process.env.XDG_CONFIG_HOME;
const captured = captureLogger('info');

let sim: SubstationHandle | undefined;
let client: OPCUAClient | undefined;
let session: ClientSession;

beforeAll(async () => {
  process.env.XDG_CONFIG_HOME = xdgConfig;
  sim = await startSubstation({ ...substationDefaults, port: 0, hourSeconds: 2, tickMs: 100, pkiDir: join(dir, 'pki'), logger: captured.logger });
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
  await session?.close().catch(() => undefined);
  await client?.disconnect();
  await client?.clientCertificateManager.dispose();
  await sim?.stop();
  if (savedXdg === undefined) delete process.env.XDG_CONFIG_HOME;
  else process.env.XDG_CONFIG_HOME = savedXdg;
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

async function readDv(nodeId: string): Promise<DataValue> {
  const dv = await session.read({ nodeId, attributeId: AttributeIds.Value });
  expect(dv.statusCode.name, nodeId).toBe('Good');
  return dv;
}
const read = async (nodeId: string): Promise<number> => (await readDv(nodeId)).value.value as number;
const writeValue = (nodeId: string, value: number) => ({ nodeId, attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Double, value } } });
const write = (nodeId: string, value: number): Promise<StatusCode> => session.write(writeValue(nodeId, value));

/** Resolves once the physics has stepped at least `ticks` times from now. */
async function afterTicks(ticks: number): Promise<void> {
  const from = sim!.snapshot().simTimeMs;
  await waitFor(`${ticks} physics steps`, () => sim!.snapshot().simTimeMs >= from + ticks * SIM_MS_PER_TICK, 10_000, 20);
}

/** The node id of the child of `nodeId` with this browse name, and the reference that leads to it. */
async function child(nodeId: string, name: string): Promise<{ nodeId: string; referenceTypeId: string }> {
  const result = await session.browse(nodeId);
  const ref = result.references?.find((r) => r.browseName.name === name);
  if (!ref) throw new Error(`${nodeId} has no child ${name}`);
  return { nodeId: ref.nodeId.toString(), referenceTypeId: ref.referenceTypeId.toString() };
}

describe('substation simulator over OPC UA', () => {
  it('advertises its endpoint on 127.0.0.1 with security None, Sign and SignAndEncrypt', { timeout: TEST_TIMEOUT_MS }, async () => {
    expect(sim!.endpointUrl).toBe(`opc.tcp://127.0.0.1:${sim!.port}`);
    expect(sim!.port).toBeGreaterThan(0);
    const endpoints = await client!.getEndpoints();
    expect(new Set(endpoints.map((e) => e.endpointUrl))).toEqual(new Set([sim!.endpointUrl]));
    expect(new Set(endpoints.map((e) => e.securityMode))).toEqual(new Set([MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt]));
  });

  it('serves the documented address space: Substation/{Feeder1, Feeder2, PV1, BESS1} of Double AnalogItems', { timeout: TEST_TIMEOUT_MS }, async () => {
    expect((await session.readNamespaceArray())[1]).toBe('urn:gridos:simulator:substation');
    const substation = await session.browse('ns=1;s=Substation');
    expect(substation.references?.map((r) => r.browseName.name)).toEqual(expect.arrayContaining(['Feeder1', 'Feeder2', 'PV1', 'BESS1', 'SimulationTime']));
    expect(sim!.points.map((p) => `${p.tag} ${p.nodeId} ${p.unit} ${p.writable ? 'rw' : 'r'}`)).toEqual([
      'feeder1.active_power_kw ns=1;s=Feeder1.ActivePower kW r',
      'feeder1.reactive_power_kvar ns=1;s=Feeder1.ReactivePower kvar r',
      'feeder1.voltage_pu ns=1;s=Feeder1.Voltage pu r',
      'feeder2.active_power_kw ns=1;s=Feeder2.ActivePower kW r',
      'feeder2.reactive_power_kvar ns=1;s=Feeder2.ReactivePower kvar r',
      'feeder2.voltage_pu ns=1;s=Feeder2.Voltage pu r',
      'pv1.active_power_kw ns=1;s=PV1.ActivePower kW r',
      'pv1.curtailment_limit_pct ns=1;s=PV1.CurtailmentLimit % rw',
      'bess1.soc_pct ns=1;s=BESS1.StateOfCharge % r',
      'bess1.active_power_kw ns=1;s=BESS1.ActivePower kW r',
      'bess1.power_setpoint_kw ns=1;s=BESS1.PowerSetpoint kW rw',
    ]);
    for (const p of sim!.points) {
      const dv = await readDv(p.nodeId);
      expect(dv.value.dataType, p.tag).toBe(DataType.Double);
      expect(dv.value.value, p.tag).toBeGreaterThanOrEqual(p.minValue);
      expect(dv.value.value, p.tag).toBeLessThanOrEqual(p.maxValue);
    }
    const range = await readDv((await child(SETPOINT, 'EURange')).nodeId);
    expect({ low: range.value.value.low, high: range.value.value.high }).toEqual({ low: -1000, high: 1000 });
    const unit = await readDv((await child(SETPOINT, 'EngineeringUnits')).nodeId);
    expect(unit.value.value.displayName.text).toBe('kW');
    for (const [name, value] of [['CapacityKwh', 2000], ['MaxChargeKw', 1000], ['MaxDischargeKw', 1000]] as const) {
      const rating = await child('ns=1;s=BESS1', name);
      expect(rating).toEqual({ nodeId: `ns=1;s=BESS1.${name}`, referenceTypeId: 'ns=0;i=46' }); // HasProperty
      expect(await read(rating.nodeId)).toBe(value);
    }
  });

  it('advances SimulationTime by tickMs x 3600 / hourSeconds per tick from the start time', { timeout: TEST_TIMEOUT_MS }, async () => {
    const first = (await readDv('ns=1;s=Substation.SimulationTime')).value.value as Date;
    const later = await waitFor('SimulationTime to move', async () => {
      const t = (await readDv('ns=1;s=Substation.SimulationTime')).value.value as Date;
      return t.getTime() > first.getTime() ? t : undefined;
    });
    expect((first.getTime() - substationDefaults.startSimTime.getTime()) % SIM_MS_PER_TICK).toBe(0);
    expect((later.getTime() - first.getTime()) % SIM_MS_PER_TICK).toBe(0);
  });

  it('a discharge setpoint lowers SoC down to its minimum and no further; a charge setpoint raises it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const soc0 = await read(SOC);
    expect((await write(SETPOINT, 500)).name).toBe('Good');
    expect(await read(SETPOINT)).toBe(500);
    const socs = [soc0];
    const powers: number[] = [];
    await waitFor('SoC at its minimum with the battery stopped', async () => {
      socs.push(await read(SOC));
      powers.push(await read(BESS_POWER));
      return socs.at(-1) === defaultBattery.socMinPct && powers.at(-1) === 0;
    }, 20_000, 50);
    expect(socs.every((v, i) => i === 0 || v <= socs[i - 1]!)).toBe(true);
    expect(Math.min(...socs)).toBeGreaterThanOrEqual(defaultBattery.socMinPct);
    expect(powers).toContain(500);
    expect(captured.records).toContainEqual(expect.objectContaining({ msg: 'setpoint written', point: 'bess1.power_setpoint_kw', value: 500 }));

    expect((await write(SETPOINT, -500)).name).toBe('Good');
    const charged = await waitFor('SoC to rise by 3 points', async () => {
      const soc = await read(SOC);
      return soc >= defaultBattery.socMinPct + 3 ? soc : undefined;
    });
    expect(charged).toBeLessThanOrEqual(defaultBattery.socMaxPct);
    expect(await read(BESS_POWER)).toBe(-500);
    expect((await write(SETPOINT, 0)).name).toBe('Good');
  });

  it('refuses out-of-range setpoints with BadOutOfRange and measurements with BadNotWritable, changing nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
    expect((await write(SETPOINT, 250)).name).toBe('Good');
    for (const v of [5000, -5000, 1000.5, Number.NaN]) expect((await write(SETPOINT, v)).name, `setpoint ${v}`).toBe('BadOutOfRange');
    for (const v of [120, -1]) expect((await write('ns=1;s=PV1.CurtailmentLimit', v)).name, `curtailment ${v}`).toBe('BadOutOfRange');
    for (const nodeId of ['ns=1;s=PV1.ActivePower', SOC, 'ns=1;s=Feeder1.Voltage', 'ns=1;s=BESS1.CapacityKwh']) expect((await write(nodeId, 10)).name, nodeId).toBe('BadNotWritable');
    const simTime = await session.write({ nodeId: 'ns=1;s=Substation.SimulationTime', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.DateTime, value: new Date() } } });
    expect(simTime.name).toBe('BadNotWritable');
    await afterTicks(2);
    expect(await read(SETPOINT)).toBe(250);
    expect(sim!.snapshot().battery.setpointKw).toBe(250);
    expect((await write(SETPOINT, 0)).name).toBe('Good');
  });

  it('applies every accepted write to the next physics step, even one that restores the last value', { timeout: TEST_TIMEOUT_MS }, async () => {
    await afterTicks(1);
    expect(sim!.snapshot().battery.setpointKw).toBe(0);
    const results = await session.write([writeValue(SETPOINT, 300), writeValue(SETPOINT, 0)]);
    expect(results.map((r) => r.name)).toEqual(['Good', 'Good']);
    expect((await write('ns=1;s=PV1.CurtailmentLimit', 30)).name).toBe('Good');
    await afterTicks(2);
    const s = sim!.snapshot();
    expect(s.battery.setpointKw).toBe(0);
    expect(s.battery.activePowerKw).toBe(0);
    expect(s.pv.curtailmentLimitPct).toBe(30);
    expect(s.pv.activePowerKw).toBeLessThanOrEqual(450);
    expect((await write('ns=1;s=PV1.CurtailmentLimit', 100)).name).toBe('Good');
  });

  it('servedValue gives exactly what was served at a source timestamp, the same for every point of a tick', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dvs = await session.read(sim!.points.map((p) => ({ nodeId: p.nodeId, attributeId: AttributeIds.Value })));
    dvs.forEach((dv, i) => {
      const nodeId = sim!.points[i]!.nodeId;
      expect(sim!.servedValue(nodeId, dv.sourceTimestamp!.getTime()), nodeId).toBe(dv.value.value);
    });
    const tickTsMs = dvs[0]!.sourceTimestamp!.getTime();
    for (const p of sim!.points) expect(sim!.servedValue(p.nodeId, tickTsMs), p.nodeId).toBeTypeOf('number');
    expect(sim!.servedValue('ns=1;s=Feeder1.ActivePower', tickTsMs + 1)).toBeUndefined();
    expect(sim!.servedValue('ns=1;s=Feeder9.ActivePower', tickTsMs)).toBeUndefined();

    expect((await write(SETPOINT, -123.5)).name).toBe('Good');
    const written = await readDv(SETPOINT);
    expect(sim!.servedValue(SETPOINT, written.sourceTimestamp!.getTime())).toBe(-123.5);
    expect((await write(SETPOINT, 0)).name).toBe('Good');
  });

  it('keeps its certificates under pkiDir, nothing in the user configuration folder', () => {
    expect(readdirSync(join(dir, 'pki')).sort()).toEqual(['server', 'user']);
    expect(existsSync(xdgConfig)).toBe(false);
  });
});
