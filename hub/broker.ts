/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1, in-memory persistence) on a TCP port. For a
 * production fleet point the hub at mosquitto, EMQX or HiveMQ instead (broker.mode: external).
 */
import { Aedes } from 'aedes';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Logger } from 'pino';

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: { host: string; port: number }, logger: Logger): Promise<EmbeddedBroker> {
  const log = logger.child({ component: 'broker' });
  const aedes = await Aedes.createBroker({ id: 'gridos-hub' });
  const server: Server = createServer(aedes.handle);
  aedes.on('clientError', (client, err) => log.debug({ client: client.id, err: err.message }, 'MQTT client error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: options.host, port }, 'embedded MQTT broker listening');
  return {
    host: options.host,
    port,
    url: `mqtt://${options.host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
