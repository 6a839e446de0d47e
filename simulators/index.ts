/**
 * @module simulators
 * Simulators that speak real protocols to the agent. Today: a substation (feeders, a PV plant,
 * a battery) on an OPC UA server, replaying real load data with time acceleration.
 *
 * @example
 *   import { pino } from 'pino';
 *   import { startSubstation, substationDefaults } from './simulators/index.js';
 *
 *   const sim = await startSubstation({ ...substationDefaults, port: 0, hourSeconds: 60, pkiDir: '/tmp/gridos-sim-pki', logger: pino() });
 *   // sim.endpointUrl is opc.tcp://127.0.0.1:<port>; sim.points lists node ids, tags, units and ranges.
 *   await sim.stop();
 */
export { startSubstation, feederLoadPerUnit } from './substation/substation.js';
export { substationDefaults, SimulatorOptionsError, MAX_FEEDERS, type SubstationOptions } from './substation/options.js';
export type { SubstationHandle } from './substation/server.js';
export { NAMESPACE_URI, edgeTagOf, type SubstationPoint } from './substation/points.js';
export type { SubstationState, FeederState, PvParams, BatteryParams, Inputs, PhysicsParams } from './substation/physics.js';
export { step, initialState, batteryPowerKw, nextSocPct, pvAvailableKw, voltagePu, defaultBattery, defaultPv } from './substation/physics.js';
export { parseLoadCsv, perUnitAt, loadSeriesFile, naiveMs, type LoadSeries } from './substation/load-profile.js';
export { startSparkplugNode } from './sparkplug/node.js';
export type { SparkplugNode, SparkplugCounters, SparkplugMetricInfo } from './sparkplug/handle.js';
export { sparkplugNodeDefaults, SparkplugOptionsError, type SparkplugNodeOptions } from './sparkplug/options.js';
export { metricTable as sparkplugMetricTable, signalValue as sparkplugSignalValue, type MetricDef as SparkplugMetricDef } from './sparkplug/metrics.js';
