/**
 * The simulated substation's OPC UA face: an address space a utility engineer recognises
 * (Objects/Substation/{Feeder1.., PV1, BESS1}), values set from the physics at every tick with
 * the tick's wall-clock time as source timestamp, and writable setpoints that are refused with
 * BadOutOfRange outside their range rather than clamped.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { freeLoopbackPort } from './free-port.js';
import { initialState, step, type Inputs, type PhysicsParams, type SubstationState } from './physics.js';
import { NAMESPACE_URI, pointDefs, publicPoint, type PointDef, type SubstationPoint } from './points.js';
import { ServedLog } from './served-log.js';

export interface ServerOptions {
  port: number;
  hourSeconds: number;
  startSimTime: Date;
  tickMs: number;
  pkiDir: string;
  logger: Logger;
}

export interface SubstationHandle {
  endpointUrl: string;
  port: number;
  points: SubstationPoint[];
  /** The value served for a node with exactly this source timestamp, if it is still in the log. */
  servedValue(nodeId: string, sourceTimestampMs: number): number | undefined;
  snapshot(): SubstationState;
  stop(): Promise<void>;
}

const UNITS: Record<string, [string, string, string]> = {
  kW: ['KWT', 'kW', 'kilowatt'],
  kvar: ['KVR', 'kvar', 'kilovolt ampere (reactive)'],
  pu: ['', 'pu', 'per unit of nominal voltage'],
  '%': ['P1', '%', 'percent'],
};

export async function serveSubstation(params: PhysicsParams, options: ServerOptions): Promise<SubstationHandle> {
  const ua = await import('node-opcua');
  const log = options.logger.child({ component: 'substation-sim' });
  const port = options.port === 0 ? await freeLoopbackPort() : options.port;
  mkdirSync(options.pkiDir, { recursive: true });

  const server = new ua.OPCUAServer({
    port,
    host: '127.0.0.1',
    hostname: '127.0.0.1',
    resourcePath: '',
    allowAnonymous: true,
    // Clients that die without closing leave sessions behind until they time out: leave room.
    serverCapabilities: { maxSessions: 200 },
    maxConnectionsPerEndpoint: 200,
    securityModes: [ua.MessageSecurityMode.None, ua.MessageSecurityMode.Sign, ua.MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [ua.SecurityPolicy.None, ua.SecurityPolicy.Basic256Sha256],
    serverCertificateManager: new ua.OPCUACertificateManager({ rootFolder: join(options.pkiDir, 'server'), automaticallyAcceptUnknownCertificate: true }),
    serverInfo: { applicationUri: NAMESPACE_URI, productUri: NAMESPACE_URI, applicationName: { text: 'gridos substation simulator' } },
    buildInfo: { productName: 'gridos substation simulator', manufacturerName: 'gridos', softwareVersion: '0.1.0' },
  });
  await server.initialize();

  const inputs: Inputs = { curtailmentLimitPct: 100, batterySetpointKw: 0 };
  let state = initialState(params, options.startSimTime.getTime(), inputs);
  const served = new ServedLog();
  const defs = pointDefs(params);

  const addressSpace = server.engine.addressSpace!;
  // The server's own namespace (index 1) carries its application URI, which we set to ours.
  const ns = addressSpace.getOwnNamespace();
  const substation = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Substation', nodeId: 's=Substation' });
  const parents = new Map<string, ReturnType<typeof ns.addObject>>();
  const variables = new Map<PointDef, ReturnType<typeof ns.addAnalogDataItem>>();
  const eu = (unit: string) => {
    const [code, shortName, longName] = UNITS[unit] ?? ['', unit, unit];
    return ua.makeEUInformation(code, shortName, longName);
  };

  for (const def of defs) {
    let parent = parents.get(def.parent);
    if (!parent) {
      parent = ns.addObject({ componentOf: substation, browseName: def.parent, nodeId: `s=${def.parent}` });
      parents.set(def.parent, parent);
    }
    const variable = ns.addAnalogDataItem({
      componentOf: parent,
      browseName: def.browseName,
      nodeId: `s=${def.nodeId.split(';s=')[1]}`,
      description: def.description,
      dataType: 'Double',
      engineeringUnits: eu(def.unit),
      engineeringUnitsRange: { low: def.minValue, high: def.maxValue },
      instrumentRange: { low: def.minValue, high: def.maxValue },
      acceptValueOutOfRange: false,
      accessLevel: def.writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      userAccessLevel: def.writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      minimumSamplingInterval: 50,
    });
    if (def.writable && def.write) {
      const apply = def.write;
      variable.on('value_changed', (dv) => {
        const v: unknown = dv.value.value;
        if (typeof v !== 'number' || v === def.read(state)) return;
        apply(inputs, v);
        served.record(def.nodeId, dv.sourceTimestamp?.getTime() ?? Date.now(), v);
        log.info({ point: def.tag, value: v }, 'setpoint written');
      });
    }
    variables.set(def, variable);
  }
  const simTime = ns.addVariable({ componentOf: substation, browseName: 'SimulationTime', nodeId: 's=Substation.SimulationTime', dataType: 'DateTime' });

  const publish = (): void => {
    const ts = new Date();
    for (const [def, variable] of variables) {
      const value = def.read(state);
      served.record(def.nodeId, ts.getTime(), value);
      variable.setValueFromSource(new ua.Variant({ dataType: ua.DataType.Double, value }), ua.StatusCodes.Good, ts);
    }
    simTime.setValueFromSource(new ua.Variant({ dataType: ua.DataType.DateTime, value: new Date(state.simTimeMs) }), ua.StatusCodes.Good, ts);
  };
  publish();

  const simMsPerTick = (options.tickMs * 3_600_000) / (options.hourSeconds * 1000);
  const timer = setInterval(() => {
    state = step(params, state, simMsPerTick, inputs);
    publish();
  }, options.tickMs);

  await server.start();
  let stopped = false;
  const endpointUrl = `opc.tcp://127.0.0.1:${port}`;
  log.info({ endpointUrl, points: defs.length, hourSeconds: options.hourSeconds }, 'substation simulator serving');

  return {
    endpointUrl,
    port,
    points: defs.map(publicPoint),
    servedValue: (nodeId, tsMs) => served.valueAt(nodeId, tsMs),
    snapshot: () => state,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await server.shutdown(0);
      log.info('substation simulator stopped');
    },
  };
}
