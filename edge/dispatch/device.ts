/**
 * A device the dispatcher writes setpoints to: one small OPC UA session of its own (apart from the
 * source's subscriptions), opened on first use and reopened after a failure. node-opcua-client is
 * loaded lazily, on gateways that dispatch.
 *
 * `read` and `write` honour an AbortSignal (the dispatcher's deadline); `writeAndVerify` writes,
 * then reads back until the device holds the value (within `toleranceKw`) or the signal aborts.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ClientSession, OPCUAClient } from 'node-opcua-client';

export interface SetpointDevice {
  read(nodeId: string, signal?: AbortSignal): Promise<number>;
  /** Writes, reads back, and resolves once the device holds `value`; throws otherwise. */
  writeAndVerify(nodeId: string, value: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface OpcuaDeviceOptions {
  endpoint: string;
  pkiDir: string;
  logger: Logger;
  toleranceKw?: number;
  /** Between read-backs while the value has not arrived. */
  pollMs?: number;
}

export class DeviceError extends Error {
  override readonly name = 'DeviceError';
  constructor(
    readonly code: 'EDGE_DEVICE_CONNECT' | 'EDGE_DEVICE_READ' | 'EDGE_DEVICE_WRITE' | 'EDGE_DEVICE_NOT_REACHED' | 'EDGE_DEVICE_ABORTED',
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

const abortable = <T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> => {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new DeviceError('EDGE_DEVICE_ABORTED', `${what}: deadline passed`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DeviceError('EDGE_DEVICE_ABORTED', `${what}: deadline passed`));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
};

export function opcuaDevice(o: OpcuaDeviceOptions): SetpointDevice {
  const log = o.logger.child({ component: 'dispatch-device', endpoint: o.endpoint });
  const tolerance = o.toleranceKw ?? 0.001;
  const pollMs = o.pollMs ?? 100;
  let link: Promise<{ client: OPCUAClient; session: ClientSession }> | undefined;

  const open = async () => {
    const ua = await import('node-opcua-client');
    const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
    const client = ua.OPCUAClient.create({
      applicationName: 'gridos-edge-dispatch',
      endpointMustExist: false,
      securityMode: ua.MessageSecurityMode.None,
      securityPolicy: ua.SecurityPolicy.None,
      keepSessionAlive: true,
      requestedSessionTimeout: 20_000,
      connectionStrategy: { initialDelay: 200, maxDelay: 2_000, maxRetry: 1 },
      clientCertificateManager: new OPCUACertificateManager({ rootFolder: join(o.pkiDir, 'dispatch'), automaticallyAcceptUnknownCertificate: true }),
    });
    try {
      await client.connect(o.endpoint);
      const session = await client.createSession();
      log.info('device session open');
      return { client, session };
    } catch (e) {
      await client.disconnect().catch(() => undefined);
      throw new DeviceError('EDGE_DEVICE_CONNECT', `${o.endpoint}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const session = async () => {
    link ??= open();
    try {
      return (await link).session;
    } catch (e) {
      link = undefined;
      throw e;
    }
  };
  const drop = async () => {
    const l = link;
    link = undefined;
    if (!l) return;
    const { client, session: s } = await l.catch(() => ({ client: undefined, session: undefined }));
    await s?.close().catch(() => undefined);
    await client?.disconnect().catch(() => undefined);
  };

  const read = async (nodeId: string, signal?: AbortSignal): Promise<number> => {
    const s = await abortable(session(), signal, `read ${nodeId}`);
    const dv = await abortable(s.read({ nodeId, attributeId: 13 }), signal, `read ${nodeId}`).catch(async (e: unknown) => {
      if (!(e instanceof DeviceError)) await drop();
      throw e instanceof DeviceError ? e : new DeviceError('EDGE_DEVICE_READ', `${nodeId}: ${e instanceof Error ? e.message : String(e)}`);
    });
    const v: unknown = dv.value.value;
    if (!dv.statusCode.isGood() || typeof v !== 'number') throw new DeviceError('EDGE_DEVICE_READ', `${nodeId}: ${dv.statusCode.name}, value ${String(v)}`);
    return v;
  };

  return {
    read,
    async writeAndVerify(nodeId, value, signal) {
      const ua = await import('node-opcua-client');
      const s = await abortable(session(), signal, `write ${nodeId}`);
      const status = await abortable(s.write({ nodeId, attributeId: ua.AttributeIds.Value, value: { value: { dataType: ua.DataType.Double, value } } }), signal, `write ${nodeId}`).catch(async (e: unknown) => {
        if (!(e instanceof DeviceError)) await drop();
        throw e instanceof DeviceError ? e : new DeviceError('EDGE_DEVICE_WRITE', `${nodeId}: ${e instanceof Error ? e.message : String(e)}`);
      });
      if (!status.isGood()) throw new DeviceError('EDGE_DEVICE_WRITE', `${nodeId} refused ${value}: ${status.name}`);
      for (;;) {
        const back = await read(nodeId, signal);
        if (Math.abs(back - value) <= tolerance) return;
        if (signal.aborted) throw new DeviceError('EDGE_DEVICE_NOT_REACHED', `${nodeId} reads ${back}, not ${value}`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    close: drop,
  };
}
