/**
 * OPC UA source: one client session per configured server, one subscription, the tags' monitored
 * items (one group per distinct deadband). node-opcua is loaded only when a source of this kind
 * starts, so an agent without OPC UA sources does not pay for it.
 *
 * Survival: when the link breaks, node-opcua first repairs it itself (new channel, session
 * reactivated or re-created, subscription transferred or re-created). When it cannot (the repair
 * fails, the server ends the subscription or closes the session, keep-alives fail on a live
 * channel, or the subscription falls silent) the source drops that client and builds a new one,
 * session, subscription and monitored items, node ids resolved again, retrying with its own
 * backoff. Either way a loss is one stale reading per tag, and a return is one reconnect.
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
import { qualityFromStatus } from './opcua-quality.js';
import type { Source, SourceState, SourceStats } from './source.js';

// Type-only imports: they vanish at compile time, the module itself is loaded in start().
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import type { ClientMonitoredItemGroup, ClientSession, ClientSubscription, DataValue, OPCUAClient, UserIdentityInfo } from 'node-opcua-client';

type Ua = typeof import('node-opcua-client');
type Tag = OpcuaSourceConfig['tags'][number];
type Deadband = OpcuaSourceConfig['deadband'];

/** OPC UA StatusCode BadNotConnected: what a reading carries while the link to the device is down. */
const BAD_NOT_CONNECTED = 0x808a0000;
/** Publishing intervals per keep-alive when the subscription has nothing to say. */
const KEEP_ALIVE_COUNT = 10;
/** Connecting, opening the session and creating every monitored item must finish within this. */
const OPEN_TIMEOUT_MS = 30_000;
/** Closing a session or a client that may no longer answer. */
const CLOSE_TIMEOUT_MS = 5_000;

/** Everything that belongs to one server connection; dropped and rebuilt as a whole. */
interface Link {
  client: OPCUAClient;
  session: ClientSession;
  subscription: ClientSubscription;
  groups: { tags: Tag[]; group: ClientMonitoredItemGroup }[];
}

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
  private ua: Ua | undefined;
  private certificates: OPCUACertificateManager | undefined;
  private link: Link | undefined;
  /** The link delivers data; false from the moment it is lost until it is back. */
  private linkUp = false;
  private lostAtMs: number | undefined;
  private connecting: Promise<void> | undefined;
  private lastHeardMs = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private paused = false;
  private reconnects = 0;
  private readonly rejected: Record<string, number> = {};
  /** Tags whose monitored item the server refused, so each refusal is logged once. */
  private readonly refusedTags = new Set<string>();
  private pending: Reading[] = [];
  private readonly lastValues = new Map<string, number>();
  private flushScheduled = false;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly keepAliveMs: number;
  private readonly lostAfterMs: number;
  private readonly rebuildAfterMs: number;

  constructor(
    private readonly config: OpcuaSourceConfig,
    private readonly deps: OpcuaSourceDeps,
  ) {
    this.name = config.name;
    this.log = deps.logger.child({ source: config.name, kind: 'opcua' });
    this.now = deps.now ?? Date.now;
    this.keepAliveMs = KEEP_ALIVE_COUNT * config.publishingIntervalMs;
    this.lostAfterMs = 3 * this.keepAliveMs;
    this.rebuildAfterMs = this.lostAfterMs + 3 * config.reconnect.maxDelayMs;
  }

  get state(): SourceState {
    return this._state;
  }

  private get stopped(): boolean {
    return this._state === 'stopped';
  }

  async start(): Promise<void> {
    this._state = 'connecting';
    this.ua = await import('node-opcua-client');
    const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
    mkdirSync(this.deps.pkiDir, { recursive: true });
    this.certificates = new OPCUACertificateManager({ rootFolder: join(this.deps.pkiDir, 'client'), automaticallyAcceptUnknownCertificate: true });
    this.connecting = this.connectWithBackoff('OPC UA server not reachable; retrying');
    try {
      await this.connecting;
    } finally {
      this.connecting = undefined;
    }
    if (!this.stopped) this.watchdog = setInterval(() => this.checkSilence(), Math.min(this.lostAfterMs / 3, 5_000));
  }

  /** Opens links until one works or the source stops; only the first failure is a warning. */
  private async connectWithBackoff(firstFailure: string): Promise<void> {
    const { initialDelayMs, maxDelayMs } = this.config.reconnect;
    for (let delayMs = initialDelayMs, attempt = 1; !this.stopped; attempt++) {
      try {
        const link = await this.openLink();
        if (this.stopped) return void (await this.closeLink(link));
        this.link = link;
        this.back('new session and subscription');
        return;
      } catch (err) {
        if (attempt === 1) this.log.warn({ err, endpoint: this.config.endpoint }, firstFailure);
        else this.log.debug({ err, attempt, delayMs }, 'OPC UA connect attempt failed');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }

  private async openLink(): Promise<Link> {
    const ua = this.ua!;
    const { certificateFile, privateKeyFile, reconnect } = this.config;
    const client = ua.OPCUAClient.create({
      applicationName: 'gridos-edge',
      endpointMustExist: false,
      securityMode: ua.MessageSecurityMode[this.config.securityMode],
      securityPolicy: ua.SecurityPolicy[this.config.securityPolicy],
      keepSessionAlive: true,
      // A gateway that reboots leaves its old session on the device until this runs out, and
      // devices allow few sessions: keep it short.
      requestedSessionTimeout: 20_000,
      // Once connected, node-opcua repairs a broken channel with these delays, without limit; a
      // maxRetry of 0 would switch that repair off. A first connect makes at most two attempts,
      // then connectWithBackoff takes over.
      connectionStrategy: { initialDelay: reconnect.initialDelayMs, maxDelay: reconnect.maxDelayMs, maxRetry: 1 },
      clientCertificateManager: this.certificates!,
      ...(certificateFile && privateKeyFile ? { certificateFile, privateKeyFile } : {}),
    });
    const opening = (async (): Promise<Link> => {
      await client.connect(this.config.endpoint);
      const session = await client.createSession(this.userIdentity(ua));
      const subscription = await session.createSubscription2({
        requestedPublishingInterval: this.config.publishingIntervalMs,
        requestedLifetimeCount: 10 * KEEP_ALIVE_COUNT,
        requestedMaxKeepAliveCount: KEEP_ALIVE_COUNT,
        maxNotificationsPerPublish: 0,
        publishingEnabled: !this.paused,
        priority: 10,
      });
      const groups = await this.monitor(ua, subscription);
      return { client, session, subscription, groups };
    })();
    try {
      const link = await deadline(opening, OPEN_TIMEOUT_MS, 'opening the OPC UA session and subscription');
      this.watch(link);
      this.reportRefused(link);
      return link;
    } catch (err) {
      opening.then((link) => this.closeLink(link), () => undefined);
      await deadline(client.disconnect(), CLOSE_TIMEOUT_MS, 'disconnecting').catch(() => undefined);
      throw err;
    }
  }

  private userIdentity(ua: Ua): UserIdentityInfo {
    const { username, password } = this.config;
    return username !== undefined ? { type: ua.UserTokenType.UserName, userName: username, password: password ?? '' } : { type: ua.UserTokenType.Anonymous };
  }

  /** One monitored-item group per distinct deadband, since a group shares its parameters. */
  private async monitor(ua: Ua, subscription: ClientSubscription): Promise<Link['groups']> {
    const byDeadband = new Map<string, { deadband: Deadband; tags: Tag[] }>();
    for (const tag of this.config.tags) {
      const deadband = tag.deadband ?? this.config.deadband;
      const key = `${deadband.type}:${deadband.value}`;
      const entry = byDeadband.get(key) ?? { deadband, tags: [] };
      entry.tags.push(tag);
      byDeadband.set(key, entry);
    }
    const groups: Link['groups'] = [];
    for (const { deadband, tags } of byDeadband.values()) {
      const filter =
        deadband.type === 'none'
          ? null
          : new ua.DataChangeFilter({
              trigger: ua.DataChangeTrigger.StatusValue,
              deadbandType: deadband.type === 'absolute' ? ua.DeadbandType.Absolute : ua.DeadbandType.Percent,
              deadbandValue: deadband.value,
            });
      const group = await subscription.monitorItems(
        tags.map((t) => ({ nodeId: t.nodeId, attributeId: ua.AttributeIds.Value })),
        { samplingInterval: this.config.samplingIntervalMs, discardOldest: true, queueSize: this.config.queueSize, filter },
        ua.TimestampsToReturn.Both,
      );
      group.on('changed', (_item, dataValue, index) => {
        const tag = tags[index];
        if (tag) this.onValue(tag, dataValue);
      });
      groups.push({ tags, group });
    }
    return groups;
  }

  /** A node the server no longer has (or a filter it refuses) costs that tag only; said once. */
  private reportRefused(link: Link): void {
    for (const { tags, group } of link.groups) {
      group.monitoredItems.forEach((item, i) => {
        const tag = tags[i]!;
        if (item.statusCode.isGood()) this.refusedTags.delete(tag.id);
        else if (!this.refusedTags.has(tag.id)) {
          this.refusedTags.add(tag.id);
          this.log.warn({ tag: tag.id, nodeId: tag.nodeId, status: item.statusCode.name }, 'OPC UA server refused to monitor this node; the other tags are subscribed');
        }
      });
    }
  }

  private watch(link: Link): void {
    const current = () => this.link === link && !this.stopped;
    const { client, session, subscription } = link;
    const restored = () => {
      if (!current()) return;
      // Restored with no loss seen: the server had dropped the session under a live channel.
      // Silent for longer than a keep-alive period, the subscription missed data since it last spoke.
      if (this.now() - this.lastHeardMs > this.keepAliveMs + this.config.publishingIntervalMs) this.lost('the server had dropped the session', this.lastHeardMs);
      this.back('node-opcua restored the session');
      this.reportRefused(link);
      // A pause or resume while the link was down has not reached the server yet.
      this.applyPublishing();
    };
    client.on('connection_lost', () => current() && this.lost('connection lost'));
    client.on('after_reconnection', () => current() && this.log.debug('OPC UA channel re-opened; node-opcua is repairing the session'));
    session.on('session_restored', restored);
    client.on('connection_reestablished', restored);
    session.on('session_repaired_failed', (err: Error) => current() && this.rebuild(`node-opcua could not repair the session: ${err.message}`));
    session.on('session_closed', (status) => current() && this.rebuild(`the server closed the session (${status.name})`));
    // With the channel up, a failed keep-alive means the session itself is gone on the server.
    session.on('keepalive_failure', () => current() && this.linkUp && this.rebuild('session keep-alive failed'));
    subscription.on('terminated', () => current() && this.rebuild('the server ended the subscription'));
    const heard = () => {
      this.lastHeardMs = this.now();
      if (current() && !this.linkUp) this.back('the subscription delivers again');
    };
    subscription.on('keepalive', heard);
    subscription.on('received_notifications', heard);
  }

  /**
   * The server sends at least a keep-alive every keep-alive period. Three missed ones: the link
   * is lost, whatever node-opcua believes. Silent for long after that: node-opcua is not getting
   * it back, so the source re-creates everything itself.
   */
  private checkSilence(): void {
    if (!this.link || this.stopped || this.connecting) return;
    const silentMs = this.now() - this.lastHeardMs;
    if (silentMs > this.rebuildAfterMs) this.rebuild(`no data or keep-alive for ${silentMs} ms`);
    else if (silentMs > this.lostAfterMs) this.lost(`no data or keep-alive for ${silentMs} ms`);
  }

  /** Drops the current client and builds a new one; the loss is recorded at once. */
  private rebuild(reason: string): void {
    if (this.connecting || this.stopped) return;
    this.lost(reason);
    this.log.info({ reason }, 'OPC UA re-creating session, subscription and monitored items');
    const old = this.link;
    this.link = undefined;
    this.connecting = (async () => {
      if (old) await this.closeLink(old);
      await this.connectWithBackoff('OPC UA reconnect attempt failed; retrying');
    })()
      .catch((err: unknown) => this.log.error({ err }, 'OPC UA reconnection stopped'))
      .finally(() => (this.connecting = undefined));
  }

  private lost(reason: string, atMs = this.now()): void {
    if (!this.linkUp) return;
    this.linkUp = false;
    this._state = 'reconnecting';
    this.lostAtMs = atMs;
    this.log.warn({ reason }, 'OPC UA link lost; reconnecting');
    this.markStale(atMs);
  }

  private back(how: string): void {
    if (this.linkUp) return;
    this.linkUp = true;
    this._state = 'connected';
    this.lastHeardMs = this.now();
    if (this.lostAtMs === undefined) {
      this.log.info({ endpoint: this.config.endpoint, tags: this.config.tags.length }, 'OPC UA subscription active');
      return;
    }
    this.reconnects++;
    this.log.info({ how, downMs: this.now() - this.lostAtMs }, 'OPC UA link back');
    this.lostAtMs = undefined;
  }

  private onValue(tag: Tag, dataValue: DataValue): void {
    const raw: unknown = dataValue.value?.value;
    const status = dataValue.statusCode.value;
    const quality = qualityFromStatus(status);
    const numeric = typeof raw === 'number' ? raw : typeof raw === 'boolean' ? Number(raw) : undefined;
    // A Bad or Uncertain status often comes without a value: keep the quality event, on the last value.
    const value = numeric ?? (quality === Quality.Good ? undefined : this.lastValues.get(tag.id));
    if (value === undefined) {
      const reason = quality === Quality.Good ? 'not_numeric' : 'bad_status_without_value';
      this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
      return;
    }
    if (numeric !== undefined && Number.isFinite(numeric)) this.lastValues.set(tag.id, numeric);
    this.pending.push({
      tagId: tag.id,
      tsMs: dataValue.sourceTimestamp?.getTime() ?? dataValue.serverTimestamp?.getTime() ?? this.now(),
      value,
      quality,
      ...(status !== 0 ? { sourceStatus: status } : {}),
    });
    this.scheduleFlush();
  }

  /**
   * The link is down: record it as a quality event, one stale reading per tag (its last value,
   * status BadNotConnected) at the moment it was lost, so the gap shows instead of hiding.
   */
  private markStale(tsMs: number): void {
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
      this.flush();
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) this.subject.next(batch);
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.applyPublishing();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.applyPublishing();
  }

  private applyPublishing(): void {
    const subscription = this.link?.subscription;
    if (!subscription) return;
    // node-opcua does not record setPublishingMode, yet re-creates a lost subscription from this field.
    (subscription as { publishingEnabled: boolean }).publishingEnabled = !this.paused;
    if (!this.linkUp) return;
    subscription.setPublishingMode(!this.paused).then(
      (status) => status.isNotGood() && this.log.warn({ status: status.name, paused: this.paused }, 'OPC UA server refused to change publishing'),
      (err: unknown) => this.log.debug({ err }, 'setting publishing mode failed; a new subscription will take the current mode'),
    );
  }

  stats(): SourceStats {
    return { reconnects: this.reconnects, rejected: { ...this.rejected } };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this._state = 'stopped';
    clearInterval(this.watchdog);
    this.wake?.();
    await this.connecting;
    const link = this.link;
    this.link = undefined;
    if (link) await this.closeLink(link);
    this.flush();
    this.subject.complete();
  }

  /** Best effort: the server may already be gone. */
  private async closeLink(link: Link): Promise<void> {
    await deadline(link.session.close(true), CLOSE_TIMEOUT_MS, 'closing the session').catch((err: unknown) => this.log.debug({ err }, 'closing the OPC UA session failed'));
    await deadline(link.client.disconnect(), CLOSE_TIMEOUT_MS, 'disconnecting').catch((err: unknown) => this.log.debug({ err }, 'disconnecting the OPC UA client failed'));
  }
}

function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)));
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
