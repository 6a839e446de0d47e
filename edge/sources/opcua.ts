/**
 * OPC UA source: one client session per configured server, one subscription, one monitored
 * item per tag. node-opcua is loaded only when a source of this kind starts, so an agent
 * without OPC UA sources does not pay for it.
 *
 * Emits: Reading[] per publish response (node-opcua delivers one notification per item; they
 * are gathered until the current turn of the event loop ends).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Subject } from 'rxjs';
import type { OpcuaSourceConfig } from '../../config/index.js';
import { Quality, type Reading } from '../../protocols/index.js';

/** OPC UA StatusCode BadNotConnected: what a reading carries while the link to the device is down. */
const BAD_NOT_CONNECTED = 0x808a0000;
import { qualityFromStatus } from './opcua-quality.js';
import type { Source, SourceState } from './source.js';

// Type-only imports: they vanish at compile time, the module itself is loaded in start().
import type { ClientSession as Session, OPCUAClient as Client } from 'node-opcua-client';

export interface OpcuaSourceDeps {
  logger: Logger;
  /** Folder for the client's certificates (PKI). */
  pkiDir: string;
  now?: () => number;
}

export class OpcuaSource implements Source {
  readonly kind = 'opcua';
  readonly name: string;
  private readonly subject = new Subject<Reading[]>();
  readonly readings$ = this.subject.asObservable();
  private _state: SourceState = 'idle';
  private client: Client | undefined;
  private session: Session | undefined;
  private pending: Reading[] = [];
  private readonly lastValues = new Map<string, number>();
  private flushScheduled = false;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    private readonly config: OpcuaSourceConfig,
    private readonly deps: OpcuaSourceDeps,
  ) {
    this.name = config.name;
    this.log = deps.logger.child({ source: config.name, kind: 'opcua' });
    this.now = deps.now ?? Date.now;
  }

  get state(): SourceState {
    return this._state;
  }

  async start(): Promise<void> {
    this._state = 'connecting';
    const ua = await import('node-opcua-client');
    const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
    mkdirSync(this.deps.pkiDir, { recursive: true });
    const certificateManager = new OPCUACertificateManager({
      rootFolder: join(this.deps.pkiDir, 'client'),
      automaticallyAcceptUnknownCertificate: true,
    });
    const client = ua.OPCUAClient.create({
      applicationName: 'gridos-edge',
      endpointMustExist: false,
      securityMode: ua.MessageSecurityMode[this.config.securityMode],
      securityPolicy: ua.SecurityPolicy[this.config.securityPolicy],
      keepSessionAlive: true,
      // A gateway that reboots leaves its old session on the device until this runs out, and
      // devices allow few sessions: keep it short.
      requestedSessionTimeout: 20_000,
      connectionStrategy: { initialDelay: 500, maxDelay: 10_000, maxRetry: 1_000_000 },
      clientCertificateManager: certificateManager,
    });
    this.client = client;
    client.on('connection_lost', () => {
      this._state = 'reconnecting';
      this.log.warn('OPC UA connection lost; reconnecting');
      this.markStale();
    });
    client.on('connection_reestablished', () => {
      this._state = 'connected';
      this.log.info('OPC UA connection re-established');
    });
    await client.connect(this.config.endpoint);
    const session = await client.createSession();
    this.session = session;
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: this.config.publishingIntervalMs,
      requestedLifetimeCount: 100,
      requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 10,
    });
    const tags = this.config.tags;
    const group = ua.ClientMonitoredItemGroup.create(
      subscription,
      tags.map((t) => ({ nodeId: t.nodeId, attributeId: ua.AttributeIds.Value })),
      { samplingInterval: this.config.samplingIntervalMs, discardOldest: true, queueSize: 10 },
      ua.TimestampsToReturn.Both,
    );
    group.on('changed', (_item, dataValue, index) => {
      const tag = tags[index];
      if (!tag) return;
      const raw: unknown = dataValue.value?.value;
      const status = dataValue.statusCode.value;
      const value = typeof raw === 'number' ? raw : typeof raw === 'boolean' ? Number(raw) : Number.NaN;
      if (Number.isFinite(value)) this.lastValues.set(tag.id, value);
      this.pending.push({
        tagId: tag.id,
        tsMs: dataValue.sourceTimestamp?.getTime() ?? dataValue.serverTimestamp?.getTime() ?? this.now(),
        value,
        quality: qualityFromStatus(status),
        ...(status !== 0 ? { sourceStatus: status } : {}),
      });
      this.scheduleFlush();
    });
    this._state = 'connected';
    this.log.info({ endpoint: this.config.endpoint, tags: tags.length }, 'OPC UA subscription active');
  }

  /**
   * The link is down: record it as a quality event, one stale reading per tag (its last value,
   * status BadNotConnected) at the moment it was lost, so the gap shows instead of hiding.
   */
  private markStale(): void {
    const tsMs = this.now();
    for (const [tagId, value] of this.lastValues) {
      this.pending.push({ tagId, tsMs, value, quality: Quality.Stale, sourceStatus: BAD_NOT_CONNECTED });
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = this.pending;
      this.pending = [];
      if (batch.length > 0) this.subject.next(batch);
    });
  }

  async stop(): Promise<void> {
    if (this._state === 'stopped') return;
    this._state = 'stopped';
    try {
      await this.session?.close(true);
    } catch (e) {
      this.log.debug({ err: e }, 'closing the OPC UA session failed');
    }
    await this.client?.disconnect();
    this.subject.complete();
  }
}
