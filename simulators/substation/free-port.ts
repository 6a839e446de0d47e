/**
 * A TCP port that was free a moment ago on 127.0.0.1, for servers that must be told their port up
 * front (mosquitto in tests, the bench). The OPC UA simulator needs none: node-opcua listens on
 * port 0 itself.
 */
import { createServer, type AddressInfo } from 'node:net';

export async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
