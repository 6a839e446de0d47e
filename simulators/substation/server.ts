/**
 * The simulated substation's OPC UA face: a node-opcua server on 127.0.0.1 whose values are set
 * from the physics at every tick, all with that tick's wall-clock time as source timestamp, and
 * whose setpoints are applied to the physics inputs at once (taking effect at the next step).
 * The only module that loads node-opcua, and lazily, so importing the simulators costs nothing.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerSession } from 'node-opcua';
import type { Logger } from 'pino';
import { buildAddressSpace } from './address-space.js';
import { initialState, step, type Inputs, type PhysicsParams, type SubstationState } from './physics.js';
import { constantDefs, NAMESPACE_URI, pointDefs, publicPoint, type SubstationPoint } from './points.js';
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
  /** `opc.tcp://127.0.0.1:<port>`, the URL the server advertises. */
  endpointUrl: string;
  /** The port the server listens on (the one it picked, when asked for port 0). */
  port: number;
  /** The measurement and setpoint points, for the edge's tag list. */
  points: SubstationPoint[];
  /** The value served for a node with exactly this source timestamp, if it is still in the log. */
  servedValue(nodeId: string, sourceTimestampMs: number): number | undefined;
  snapshot(): SubstationState;
  /**
   * Closes every client session and deletes its subscriptions, leaving the connections open: what
   * a device does when sessions time out or it restarts its application but not its network stack.
   * Returns how many it closed.
   */
  closeSessions(): number;
  /** Stops the clock and shuts the server down; calling it again waits for the same shutdown. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function serveSubstation(params: PhysicsParams, options: ServerOptions): Promise<SubstationHandle> {
  const ua = await import('node-opcua');
  const log = options.logger.child({ component: 'substation-sim' });
  mkdirSync(options.pkiDir, { recursive: true });
  // Both certificate managers live under pkiDir: left out, node-opcua puts one in the user's home.
  const certificates = (name: string) => new ua.OPCUACertificateManager({ name, rootFolder: join(options.pkiDir, name), automaticallyAcceptUnknownCertificate: true });

  const server = new ua.OPCUAServer({
    // node-opcua listens on port 0 itself and advertises the port it was given.
    port: options.port,
    host: HOST,
    hostname: HOST,
    resourcePath: '',
    allowAnonymous: true,
    // Clients that die without closing leave sessions behind until they time out: leave room.
    serverCapabilities: { maxSessions: 200 },
    maxConnectionsPerEndpoint: 200,
    // None is for the simulator's clients; Sign and SignAndEncrypt stay on offer, as on a real device.
    securityModes: [ua.MessageSecurityMode.None, ua.MessageSecurityMode.Sign, ua.MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [ua.SecurityPolicy.None, ua.SecurityPolicy.Basic256Sha256],
    serverCertificateManager: certificates('server'),
    userCertificateManager: certificates('user'),
    serverInfo: { applicationUri: NAMESPACE_URI, productUri: NAMESPACE_URI, applicationName: { text: 'gridos substation simulator' } },
    buildInfo: { productName: 'gridos substation simulator', manufacturerName: 'gridos', softwareVersion: '0.1.0' },
  });

  const sessions = new Set<ServerSession>();
  server.on('create_session', (session) => sessions.add(session));
  server.on('session_closed', (session) => sessions.delete(session));

  const inputs: Inputs = { curtailmentLimitPct: 100, batterySetpointKw: 0 };
  let state = initialState(params, options.startSimTime.getTime(), inputs);
  const served = new ServedLog();
  const defs = pointDefs(params);
  let port: number;
  let publish: () => void;
  try {
    await server.initialize();
    const nodes = buildAddressSpace(ua, server.engine.addressSpace!, defs, constantDefs(params), (def, value, tsMs) => {
      def.write?.(inputs, value);
      served.record(def.nodeId, tsMs, value);
      log.info({ point: def.tag, value }, 'setpoint written');
    });
    publish = () => {
      const ts = new Date();
      for (const def of defs) {
        const value = def.read(state);
        served.record(def.nodeId, ts.getTime(), value);
        nodes.set(def, value, ts);
      }
      nodes.setSimulationTime(state.simTimeMs, ts);
    };
    publish();
    await server.start();
    const listening = server.endpoints[0]?.port;
    if (!listening) throw new Error(`the OPC UA server did not report the port it listens on (asked for ${options.port})`);
    port = listening;
  } catch (err) {
    await server.shutdown(0).catch((e: unknown) => log.warn({ err: e }, 'shutdown after a failed start failed too'));
    throw err;
  }

  const simMsPerTick = (options.tickMs * 3_600_000) / (options.hourSeconds * 1000);
  const timer = setInterval(() => {
    try {
      state = step(params, state, simMsPerTick, inputs);
      publish();
    } catch (err) {
      log.error({ err }, 'physics step failed');
    }
  }, options.tickMs);

  const endpointUrl = `opc.tcp://${HOST}:${port}`;
  log.info({ endpointUrl, points: defs.length, hourSeconds: options.hourSeconds }, 'substation simulator serving');

  let stopping: Promise<void> | undefined;
  return {
    endpointUrl,
    port,
    points: defs.map(publicPoint),
    servedValue: (nodeId, tsMs) => served.valueAt(nodeId, tsMs),
    snapshot: () => state,
    closeSessions() {
      const open = [...sessions];
      for (const session of open) server.engine.closeSession(session.authenticationToken, true, 'Forcing');
      log.info({ sessions: open.length }, 'closed every client session');
      return open.length;
    },
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await server.shutdown(0);
        log.info('substation simulator stopped');
      })();
      return stopping;
    },
  };
}
