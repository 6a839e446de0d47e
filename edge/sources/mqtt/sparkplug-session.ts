/**
 * What a Sparkplug B host application must remember about the edge nodes of one group (pure;
 * the clock is passed in): which nodes and devices are born, their metrics by alias with data
 * types, each node's message sequence, and its birth/death session number (bdSeq).
 *
 * It turns each message into readings and, per the specification:
 *  - DATA before a BIRTH cannot be read (aliases unknown): refused, and a rebirth requested;
 *  - a `seq` that is not the previous + 1 (mod 256) means messages went missing: the data is
 *    still read, the gap counted, and a rebirth requested so aliases and values are fresh;
 *  - NDEATH (sent by the node or by the broker as its last will) whose bdSeq matches the
 *    birth marks every tag of the node and its devices stale; a DDEATH those of one device.
 * Rebirth requests are throttled per node so a flapping link does not flood the node.
 */
import { createHash } from 'node:crypto';
import { Quality, type Reading } from '../../../protocols/index.js';
import { BDSEQ_METRIC, DataType, numericValue, type Metric, type Payload, type SparkplugTopic } from '../../../protocols/sparkplug/index.js';

export interface SparkplugTagRule {
  id: string;
  node: string;
  device?: string;
  metric: string;
  scale: number;
  offset: number;
}

/** Why a message or metric produced no reading. */
export type SparkplugReject =
  | 'data_before_birth'
  | 'seq_gap'
  | 'unknown_alias'
  | 'unmapped_metric'
  | 'null_value'
  | 'unsupported_datatype'
  | 'type_mismatch'
  | 'missing_seq';

export interface SparkplugOutcome {
  readings: Reading[];
  rejected: { reason: SparkplugReject; detail: string; count: number }[];
  /** A node to ask for a rebirth (NCMD Node Control/Rebirth). */
  rebirth?: string;
  /** Tags a birth introduced (discovery on). */
  discovered: SparkplugTagRule[];
}

interface MetricInfo {
  name: string;
  datatype: DataType | undefined;
  rule: SparkplugTagRule | undefined;
  /** Last value and timestamp read, for the stale reading a death produces. */
  last: number;
  lastTsMs: number;
}

interface Scope {
  born: boolean;
  byName: Map<string, MetricInfo>;
}

interface NodeState {
  node: Scope;
  devices: Map<string, Scope>;
  /** Aliases are unique per node, across its devices. */
  aliases: Map<number, MetricInfo>;
  bdSeq: number | undefined;
  lastSeq: number | undefined;
  lastRebirthMs: number;
}

const newScope = (): Scope => ({ born: false, byName: new Map() });

/**
 * A tag id for a discovered metric: `<node>.<device>.<metric>`, each part with characters a tag id
 * cannot hold (and `.`, the separator) as `_`. When that changed or shortened the name enough to
 * make two metrics meet, `withHash` tells them apart.
 */
export function discoveredTagId(node: string, device: string | undefined, metric: string): string {
  const part = (p: string) => p.replace(/[^A-Za-z0-9_-]/g, '_');
  return [node, device, metric].filter((p) => p !== undefined).map(part).join('.').replace(/^[^A-Za-z0-9]/, 'x').slice(0, 64);
}

/** The same id with a short hash of the metric's full address: stable across restarts, unique in practice. */
function withHash(id: string, address: string): string {
  const hash = createHash('sha256').update(address).digest('hex').slice(0, 8);
  return `${id.slice(0, 55)}-${hash}`;
}

export class SparkplugSession {
  private readonly nodes = new Map<string, NodeState>();
  private readonly rules = new Map<string, SparkplugTagRule>();
  /** Discovered tag id -> the metric it was given to, so two metrics never share one. */
  private readonly discoveredIds = new Map<string, string>();

  constructor(
    rules: readonly SparkplugTagRule[],
    private readonly options: { discover: boolean; rebirthIntervalMs: number },
  ) {
    for (const r of rules) {
      this.rules.set(key(r.node, r.device, r.metric), r);
      this.discoveredIds.set(r.id, key(r.node, r.device, r.metric));
    }
  }

  handle(t: SparkplugTopic, p: Payload, nowMs: number): SparkplugOutcome {
    const out: SparkplugOutcome = { readings: [], rejected: [], discovered: [] };
    let n = this.nodes.get(t.node);
    if (!n) this.nodes.set(t.node, (n = { node: newScope(), devices: new Map(), aliases: new Map(), bdSeq: undefined, lastSeq: undefined, lastRebirthMs: -Infinity }));

    if (t.type === 'NDEATH') {
      const bdSeq = bdSeqOf(p);
      // A will from an older session (the node has since reconnected) must not kill the new one.
      if (n.bdSeq !== undefined && bdSeq !== undefined && bdSeq !== n.bdSeq) return out;
      this.stale(t.node, n.node, nowMs, out);
      for (const d of n.devices.values()) this.stale(t.node, d, nowMs, out);
      n.node.born = false;
      n.lastSeq = undefined;
      return out;
    }
    if (t.type === 'NCMD' || t.type === 'DCMD') return out;

    if (t.type === 'NBIRTH') {
      n.node = newScope();
      n.devices.clear();
      n.aliases.clear();
      n.bdSeq = bdSeqOf(p);
      n.node.born = true;
      n.lastSeq = p.seq;
      this.birth(t, n, n.node, p, nowMs, out);
      return out;
    }

    // Everything else carries the node's next sequence number.
    if (!n.node.born) return this.refuse(t, n, nowMs, out, 'data_before_birth', `${t.type} from ${t.node} before its NBIRTH`, p.metrics.length);
    if (p.seq === undefined) this.reject(out, 'missing_seq', `${t.type} from ${t.node} without seq`);
    else if (n.lastSeq !== undefined && p.seq !== (n.lastSeq + 1) % 256) {
      this.reject(out, 'seq_gap', `${t.node}: seq ${p.seq} after ${n.lastSeq}`);
      this.askRebirth(t.node, n, nowMs, out);
    }
    if (p.seq !== undefined) n.lastSeq = p.seq;

    const device = t.device;
    if (t.type === 'DBIRTH') {
      const d = newScope();
      d.born = true;
      n.devices.set(device!, d);
      this.birth(t, n, d, p, nowMs, out);
      return out;
    }
    if (t.type === 'DDEATH') {
      const d = n.devices.get(device!);
      if (d) {
        this.stale(t.node, d, nowMs, out);
        d.born = false;
      }
      return out;
    }
    const scope = device === undefined ? n.node : n.devices.get(device);
    if (!scope?.born) return this.refuse(t, n, nowMs, out, 'data_before_birth', `${t.type} from ${t.node}/${device} before its DBIRTH`, p.metrics.length);
    this.data(t, n, scope, p, out);
    return out;
  }

  private birth(t: SparkplugTopic, n: NodeState, scope: Scope, p: Payload, nowMs: number, out: SparkplugOutcome): void {
    for (const m of p.metrics) {
      if (m.name === undefined) continue;
      let rule = this.rules.get(key(t.node, t.device, m.name));
      if (!rule && this.options.discover && m.name !== BDSEQ_METRIC && !m.name.startsWith('Node Control/')) {
        const address = key(t.node, t.device, m.name);
        let id = discoveredTagId(t.node, t.device, m.name);
        const holder = this.discoveredIds.get(id);
        if (holder !== undefined && holder !== address) id = withHash(id, address);
        this.discoveredIds.set(id, address);
        rule = { id, node: t.node, ...(t.device !== undefined ? { device: t.device } : {}), metric: m.name, scale: 1, offset: 0 };
        this.rules.set(key(t.node, t.device, m.name), rule);
        out.discovered.push(rule);
      }
      const info: MetricInfo = { name: m.name, datatype: m.datatype, rule, last: Number.NaN, lastTsMs: -Infinity };
      scope.byName.set(m.name, info);
      if (m.alias !== undefined) n.aliases.set(m.alias, info);
      if (rule) this.read(info, m, p.timestampMs ?? nowMs, out);
    }
  }

  private data(t: SparkplugTopic, n: NodeState, scope: Scope, p: Payload, out: SparkplugOutcome): void {
    const fallbackTs = p.timestampMs ?? Date.now();
    let unknown = 0;
    let unmapped = 0;
    for (const m of p.metrics) {
      const info = m.alias !== undefined ? n.aliases.get(m.alias) : m.name !== undefined ? scope.byName.get(m.name) : undefined;
      if (!info) {
        unknown++;
        continue;
      }
      if (!info.rule) {
        unmapped++;
        continue;
      }
      this.read(info, m, fallbackTs, out);
    }
    if (unknown > 0) this.reject(out, 'unknown_alias', `${t.node}${t.device ? `/${t.device}` : ''}: metric not in its birth`, unknown);
    if (unmapped > 0) this.reject(out, 'unmapped_metric', `${t.node}${t.device ? `/${t.device}` : ''}: metric not mapped to a tag`, unmapped);
  }

  private read(info: MetricInfo, m: Metric, fallbackTs: number, out: SparkplugOutcome): void {
    const rule = info.rule!;
    const datatype = m.datatype ?? info.datatype;
    let raw: number;
    // Doubles and floats are nearly all of it: read them without the general conversion.
    if ((datatype === DataType.Double || datatype === DataType.Float) && typeof m.value === 'number' && !m.isNull) raw = m.value;
    else {
      const v = numericValue(m, datatype);
      if (!v.ok) {
        this.reject(out, v.reason, `${rule.id} (${info.name}): ${v.detail}`);
        return;
      }
      raw = v.value;
    }
    const value = raw * rule.scale + rule.offset;
    const tsMs = m.timestampMs ?? fallbackTs;
    info.last = value;
    if (tsMs > info.lastTsMs) info.lastTsMs = tsMs;
    out.readings.push({ tagId: rule.id, tsMs, value, quality: Quality.Good });
  }

  /**
   * The node or device is gone: one stale reading per tag, carrying its last value, stamped
   * now, or just after its last reading when the node's clock runs ahead of ours (the marker
   * must follow the last good value to mean "from here on").
   */
  private stale(_node: string, scope: Scope, nowMs: number, out: SparkplugOutcome): void {
    for (const info of scope.byName.values()) {
      if (info.rule && !Number.isNaN(info.last)) out.readings.push({ tagId: info.rule.id, tsMs: Math.max(nowMs, info.lastTsMs + 1), value: info.last, quality: Quality.Stale });
    }
  }

  private refuse(t: SparkplugTopic, n: NodeState, nowMs: number, out: SparkplugOutcome, reason: SparkplugReject, detail: string, count: number): SparkplugOutcome {
    // counted once at least, even when the message carried no metric
    this.reject(out, reason, detail, Math.max(1, count));
    this.askRebirth(t.node, n, nowMs, out);
    return out;
  }

  private askRebirth(node: string, n: NodeState, nowMs: number, out: SparkplugOutcome): void {
    if (nowMs - n.lastRebirthMs < this.options.rebirthIntervalMs) return;
    n.lastRebirthMs = nowMs;
    out.rebirth = node;
  }

  private reject(out: SparkplugOutcome, reason: SparkplugReject, detail: string, count = 1): void {
    out.rejected.push({ reason, detail, count });
  }
}

function bdSeqOf(p: Payload): number | undefined {
  const m = p.metrics.find((x) => x.name === BDSEQ_METRIC);
  if (!m) return undefined;
  const v = numericValue(m, m.datatype);
  return v.ok ? v.value : undefined;
}

const key = (node: string, device: string | undefined, metric: string): string => `${node}\u0000${device ?? ''}\u0000${metric}`;
