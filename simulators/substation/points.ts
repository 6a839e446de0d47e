/**
 * The substation's points: where each lives in the OPC UA address space, our tag name for it,
 * its unit and range, whether an operator (or the edge) may write it, and how it is read from
 * the physics state. One table, so the server and the edge config cannot disagree. The nameplate
 * constants (battery ratings) are listed apart: they live in the address space, not in `points`.
 */
import type { Inputs, PhysicsParams, SubstationState } from './physics.js';

export interface SubstationPoint {
  nodeId: string;
  tag: string;
  unit: string;
  description: string;
  writable: boolean;
  minValue: number;
  maxValue: number;
}

/** An edge OPC UA source's tag entry for one of the simulator's points (what tests and benches configure). */
export function edgeTagOf(points: readonly SubstationPoint[], tag: string): { id: string; nodeId: string; unit: string; min: number; max: number } {
  const p = points.find((x) => x.tag === tag);
  if (!p) throw new Error(`the substation simulator has no point '${tag}' (it has: ${points.map((x) => x.tag).join(', ')})`);
  return { id: p.tag, nodeId: p.nodeId, unit: p.unit, min: p.minValue, max: p.maxValue };
}

export interface PointDef extends SubstationPoint {
  /** Object under Substation the variable belongs to, and its browse name. */
  parent: string;
  browseName: string;
  read(state: SubstationState): number;
  /** For writable points: apply a written value to the inputs. */
  write?(inputs: Inputs, value: number): void;
}

export const NAMESPACE_URI = 'urn:gridos:simulator:substation';

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

export function pointDefs(params: PhysicsParams): PointDef[] {
  const defs: PointDef[] = [];
  params.feederPeakKw.forEach((peakKw, i) => {
    const n = i + 1;
    const f = `Feeder${n}`;
    const span = 4 * peakKw;
    defs.push(
      { parent: f, browseName: 'ActivePower', nodeId: `ns=1;s=${f}.ActivePower`, tag: `feeder${n}.active_power_kw`, unit: 'kW', description: `Feeder ${n} active power at the feeder head (import > 0)`, writable: false, minValue: -span, maxValue: span, read: (s) => round3(s.feeders[i]!.activePowerKw) },
      { parent: f, browseName: 'ReactivePower', nodeId: `ns=1;s=${f}.ReactivePower`, tag: `feeder${n}.reactive_power_kvar`, unit: 'kvar', description: `Feeder ${n} reactive power`, writable: false, minValue: -span, maxValue: span, read: (s) => round3(s.feeders[i]!.reactivePowerKvar) },
      { parent: f, browseName: 'Voltage', nodeId: `ns=1;s=${f}.Voltage`, tag: `feeder${n}.voltage_pu`, unit: 'pu', description: `Feeder ${n} voltage at the feeder head`, writable: false, minValue: 0.8, maxValue: 1.2, read: (s) => round3(s.feeders[i]!.voltagePu) },
    );
  });
  const pv = params.pv;
  const b = params.battery;
  defs.push(
    { parent: 'PV1', browseName: 'ActivePower', nodeId: 'ns=1;s=PV1.ActivePower', tag: 'pv1.active_power_kw', unit: 'kW', description: 'PV plant output', writable: false, minValue: 0, maxValue: pv.capacityKw * 1.1, read: (s) => round3(s.pv.activePowerKw) },
    { parent: 'PV1', browseName: 'CurtailmentLimit', nodeId: 'ns=1;s=PV1.CurtailmentLimit', tag: 'pv1.curtailment_limit_pct', unit: '%', description: 'PV output limit, % of capacity (writable)', writable: true, minValue: 0, maxValue: 100, read: (s) => s.pv.curtailmentLimitPct, write: (inp, v) => (inp.curtailmentLimitPct = v) },
    { parent: 'BESS1', browseName: 'StateOfCharge', nodeId: 'ns=1;s=BESS1.StateOfCharge', tag: 'bess1.soc_pct', unit: '%', description: 'Battery state of charge', writable: false, minValue: 0, maxValue: 100, read: (s) => round3(s.battery.socPct) },
    { parent: 'BESS1', browseName: 'ActivePower', nodeId: 'ns=1;s=BESS1.ActivePower', tag: 'bess1.active_power_kw', unit: 'kW', description: 'Battery active power (discharge > 0)', writable: false, minValue: -b.maxChargeKw, maxValue: b.maxDischargeKw, read: (s) => round3(s.battery.activePowerKw) },
    { parent: 'BESS1', browseName: 'PowerSetpoint', nodeId: 'ns=1;s=BESS1.PowerSetpoint', tag: 'bess1.power_setpoint_kw', unit: 'kW', description: 'Battery power setpoint, discharge > 0 (writable)', writable: true, minValue: -b.maxChargeKw, maxValue: b.maxDischargeKw, read: (s) => s.battery.setpointKw, write: (inp, v) => (inp.batterySetpointKw = v) },
  );
  return defs;
}

/** A nameplate rating: a constant, read-only property of its device (not a point the edge samples). */
export interface ConstantDef {
  parent: string;
  browseName: string;
  nodeId: string;
  unit: string;
  description: string;
  value: number;
}

export function constantDefs(params: PhysicsParams): ConstantDef[] {
  const b = params.battery;
  return [
    { parent: 'BESS1', browseName: 'CapacityKwh', nodeId: 'ns=1;s=BESS1.CapacityKwh', unit: 'kWh', description: 'Battery usable energy capacity, kWh', value: b.capacityKwh },
    { parent: 'BESS1', browseName: 'MaxChargeKw', nodeId: 'ns=1;s=BESS1.MaxChargeKw', unit: 'kW', description: 'Battery maximum charge power, kW', value: b.maxChargeKw },
    { parent: 'BESS1', browseName: 'MaxDischargeKw', nodeId: 'ns=1;s=BESS1.MaxDischargeKw', unit: 'kW', description: 'Battery maximum discharge power, kW', value: b.maxDischargeKw },
  ];
}

/** The public view of a point (without the accessors). */
export function publicPoint({ nodeId, tag, unit, description, writable, minValue, maxValue }: PointDef): SubstationPoint {
  return { nodeId, tag, unit, description, writable, minValue, maxValue };
}
