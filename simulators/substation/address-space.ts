/**
 * The substation's OPC UA address space: Objects/Substation/{Feeder1.., PV1, BESS1} holding one
 * AnalogItem (Double, engineering units, EU range) per point, the battery's ratings as read-only
 * properties of BESS1, and Substation.SimulationTime. Values only change through `set`, which the
 * server calls with its tick's timestamp; client writes come back through `onWrite`.
 */
import type { AddressSpace, DataValue, StatusCode, UAVariable } from 'node-opcua';
import { NAMESPACE_URI, type ConstantDef, type PointDef } from './points.js';

type Ua = typeof import('node-opcua');

export interface SubstationNodes {
  /** Sets a point as the device would (not a client write), with the tick's source timestamp. */
  set(def: PointDef, value: number, sourceTimestamp: Date): void;
  setSimulationTime(simTimeMs: number, sourceTimestamp: Date): void;
}

/** A client wrote a writable point, within its range; `sourceTimestampMs` is the write's. */
export type WriteHandler = (def: PointDef, value: number, sourceTimestampMs: number) => void;

/** UNECE Recommendation 20 common codes; per unit has none, so it gets unitId -1 as OPC UA asks. */
const UNITS: Record<string, { code?: string; longName: string }> = {
  kW: { code: 'KWT', longName: 'kilowatt' },
  kvar: { code: 'KVR', longName: 'kilovar' },
  kWh: { code: 'KWH', longName: 'kilowatt hour' },
  '%': { code: 'P1', longName: 'percent' },
  pu: { longName: 'per unit of nominal voltage' },
};

export function buildAddressSpace(ua: Ua, addressSpace: AddressSpace, defs: readonly PointDef[], constants: readonly ConstantDef[], onWrite: WriteHandler): SubstationNodes {
  // The server's own namespace (index 1) is named by its application URI, which the server sets to ours.
  const ns = addressSpace.getOwnNamespace();
  if (ns.namespaceUri !== NAMESPACE_URI) throw new Error(`namespace 1 is '${ns.namespaceUri}', expected '${NAMESPACE_URI}'`);
  const substation = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Substation', nodeId: 's=Substation', description: 'Simulated distribution substation' });
  const devices = new Map<string, ReturnType<typeof ns.addObject>>();
  const device = (name: string) => {
    let obj = devices.get(name);
    if (!obj) devices.set(name, (obj = ns.addObject({ componentOf: substation, browseName: name, nodeId: `s=${name}` })));
    return obj;
  };
  const eu = (unit: string) => {
    const u = UNITS[unit] ?? { longName: unit };
    return u.code ? ua.makeEUInformation(u.code, unit, u.longName) : { unitId: -1, displayName: { text: unit }, description: { text: u.longName } };
  };
  const localId = (nodeId: string): string => `s=${nodeId.split(';s=')[1]}`;

  // setValueFromSource emits value_changed synchronously, like a client write does: this tells them apart.
  let settingFromSource = false;
  const variables = new Map<PointDef, UAVariable>();
  for (const def of defs) {
    const access = def.writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead';
    const variable = ns.addAnalogDataItem({
      componentOf: device(def.parent),
      browseName: def.browseName,
      nodeId: localId(def.nodeId),
      description: def.description,
      dataType: 'Double',
      engineeringUnits: eu(def.unit),
      engineeringUnitsRange: { low: def.minValue, high: def.maxValue },
      instrumentRange: { low: def.minValue, high: def.maxValue },
      // A write outside the instrument range is refused with BadOutOfRange, never stored.
      acceptValueOutOfRange: false,
      accessLevel: access,
      userAccessLevel: access,
      minimumSamplingInterval: 50,
    });
    if (def.writable) {
      refuseNaNWrites(ua, variable);
      variable.on('value_changed', (dv: DataValue) => {
        const v: unknown = dv.value.value;
        if (settingFromSource || typeof v !== 'number') return;
        onWrite(def, v, dv.sourceTimestamp?.getTime() ?? Date.now());
      });
    }
    variables.set(def, variable);
  }

  for (const c of constants) {
    ns.addVariable({
      propertyOf: device(c.parent),
      browseName: c.browseName,
      nodeId: localId(c.nodeId),
      description: c.description,
      dataType: 'Double',
      accessLevel: 'CurrentRead',
      userAccessLevel: 'CurrentRead',
      value: { dataType: ua.DataType.Double, value: c.value },
    });
  }

  const simTime = ns.addVariable({
    componentOf: substation,
    browseName: 'SimulationTime',
    nodeId: 's=Substation.SimulationTime',
    description: 'Simulated local clock time of the substation (naive local time in the UTC fields)',
    dataType: 'DateTime',
    accessLevel: 'CurrentRead',
    userAccessLevel: 'CurrentRead',
  });

  return {
    set(def, value, sourceTimestamp) {
      const variable = variables.get(def);
      if (!variable) throw new Error(`no node for point ${def.nodeId}`);
      settingFromSource = true;
      try {
        variable.setValueFromSource(new ua.Variant({ dataType: ua.DataType.Double, value }), ua.StatusCodes.Good, sourceTimestamp);
      } finally {
        settingFromSource = false;
      }
    },
    setSimulationTime(simTimeMs, sourceTimestamp) {
      simTime.setValueFromSource(new ua.Variant({ dataType: ua.DataType.DateTime, value: new Date(simTimeMs) }), ua.StatusCodes.Good, sourceTimestamp);
    },
  };
}

/**
 * node-opcua's InstrumentRange check lets NaN through (every comparison with NaN is false), and a
 * NaN setpoint would poison the physics. Its range check is a private method of the variable, so
 * it is wrapped per variable; the server test writes NaN, so an upgrade that renames it fails there.
 */
function refuseNaNWrites(ua: Ua, variable: UAVariable): void {
  const target = variable as unknown as { adjustDataValueStatusCode?: (dv: DataValue) => StatusCode };
  const check = target.adjustDataValueStatusCode;
  if (typeof check !== 'function') throw new Error('node-opcua has no UAVariable.adjustDataValueStatusCode: cannot refuse NaN writes');
  target.adjustDataValueStatusCode = (dv) => (Number.isNaN(dv.value.value) ? ua.StatusCodes.BadOutOfRange : check.call(variable, dv));
}
