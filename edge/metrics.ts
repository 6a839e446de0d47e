/** The edge agent's Prometheus metrics, in a registry of its own (several agents may share a process in tests and the demo). */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Source } from './sources/source.js';

export function createEdgeMetrics(labels: { edge: string; site: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  // process_resident_memory_bytes, nodejs_eventloop_lag_*, heap and GC: what a gateway's operator watches first.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const m = {
    registry,
    readingsReceived: new Counter({ name: 'gridos_edge_readings_received_total', help: 'Readings received from sources', labelNames: ['source'] as const, registers: [registry] }),
    readingsAccepted: new Counter({ name: 'gridos_edge_readings_accepted_total', help: 'New readings a source passed on to the store (flagged ones included, duplicates and rejects not)', labelNames: ['source'] as const, registers: [registry] }),
    readingsRejected: new Counter({ name: 'gridos_edge_readings_rejected_total', help: 'Readings refused by the pipeline, by source and reason', labelNames: ['source', 'reason'] as const, registers: [registry] }),
    readingsFlagged: new Counter({ name: 'gridos_edge_quality_events_total', help: 'Readings stored with a quality flag (out_of_range, not_finite, stuck, spike, late), by source', labelNames: ['source', 'flag'] as const, registers: [registry] }),
    commitSeconds: new Histogram({ name: 'gridos_edge_store_commit_seconds', help: 'Time to commit one batch to the local store', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    sourcesPaused: new Gauge({ name: 'gridos_edge_sources_paused', help: '1 while sources are paused because the store is falling behind', registers: [registry] }),
    readingsStored: new Counter({ name: 'gridos_edge_readings_stored_total', help: 'Readings committed to the local store', registers: [registry] }),
    duplicateReadings: new Counter({ name: 'gridos_edge_duplicate_readings_total', help: 'Readings already seen (same tag and timestamp), not stored or forwarded again', labelNames: ['where'] as const, registers: [registry] }),
    aggregatesStored: new Counter({ name: 'gridos_edge_aggregates_stored_total', help: 'Closed aggregate windows committed to the local store', registers: [registry] }),
    published: new Counter({ name: 'gridos_edge_uplink_published_total', help: 'Messages published to the hub (resends included)', registers: [registry] }),
    acknowledged: new Counter({ name: 'gridos_edge_uplink_acknowledged_total', help: 'Outbox messages acknowledged by the hub and removed', registers: [registry] }),
    resends: new Counter({ name: 'gridos_edge_uplink_resends_total', help: 'Times the uplink went back to the first unacknowledged message', labelNames: ['why'] as const, registers: [registry] }),
    badCommands: new Counter({ name: 'gridos_edge_commands_rejected_total', help: 'Messages from the hub that could not be decoded or were not for this edge', labelNames: ['code'] as const, registers: [registry] }),
    connected: new Gauge({ name: 'gridos_edge_uplink_connected', help: '1 while connected to the hub broker', registers: [registry] }),
    outboxBytes: new Gauge({ name: 'gridos_edge_outbox_bytes', help: 'Bytes of payload waiting in the outbox', registers: [registry] }),
    overCapacity: new Gauge({ name: 'gridos_edge_outbox_over_capacity', help: '1 while the outbox is over its bound with nothing droppable left (autonomous actions refused)', registers: [registry] }),
    droppedReadings: new Counter({ name: 'gridos_edge_dropped_readings_total', help: 'Readings dropped before reaching the hub, by reason (each drop is reported to the hub as a gap)', labelNames: ['reason'] as const, registers: [registry] }),
    storeErrors: new Counter({ name: 'gridos_edge_store_errors_total', help: 'Failed writes to the local store, by SQLite error code', labelNames: ['code'] as const, registers: [registry] }),
    outboxDepth: new Gauge({ name: 'gridos_edge_outbox_messages', help: 'Messages waiting in the outbox for the hub to acknowledge', registers: [registry] }),
  };
  return m;
}

export type EdgeMetrics = ReturnType<typeof createEdgeMetrics>;

/** Per-source counters the sources keep themselves (reconnects, refused messages), read at scrape time. */
export function registerSourceMetrics(m: EdgeMetrics, sources: readonly Source[]): void {
  new Counter({
    name: 'gridos_edge_source_reconnects_total',
    help: 'Times a source got its link to the device or broker back',
    labelNames: ['source'] as const,
    registers: [m.registry],
    collect() {
      this.reset();
      for (const s of sources) this.inc({ source: s.name }, s.stats().reconnects);
    },
  });
  new Counter({
    name: 'gridos_edge_source_rejected_total',
    help: 'Messages or values a source could not turn into readings, by reason (malformed payload, sequence gap, unknown alias, ...)',
    labelNames: ['source', 'reason'] as const,
    registers: [m.registry],
    collect() {
      this.reset();
      for (const s of sources) for (const [reason, n] of Object.entries(s.stats().rejected)) this.inc({ source: s.name, reason }, n);
    },
  });
  new Gauge({
    name: 'gridos_edge_source_connected',
    help: '1 while a source is connected to its device or broker',
    labelNames: ['source'] as const,
    registers: [m.registry],
    collect() {
      for (const s of sources) this.set({ source: s.name }, s.state === 'connected' ? 1 : 0);
    },
  });
}

/** What the policy gauges read at scrape time. */
export interface PolicyGaugeState {
  /** 1 when the active policy's trust expired, or no policy is active (nothing runs on its own). */
  expired: boolean;
  policyId: string | undefined;
  version: number | undefined;
}

/** The active policy's metrics (edge/policy/update/active.ts), registered only on gateways that run one. */
export function createPolicyMetrics(registry: Registry, read: () => PolicyGaugeState) {
  new Gauge({
    name: 'gridos_edge_policy_expired',
    help: '1 while the active policy has expired (or none is installed): every action escalates',
    registers: [registry],
    collect() {
      this.set(read().expired ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gridos_edge_policy_version',
    help: 'Version of the active dispatch policy, by policy id (absent while none is active)',
    labelNames: ['policy'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const s = read();
      if (s.policyId !== undefined && s.version !== undefined) this.set({ policy: s.policyId }, s.version);
    },
  });
  return {
    updates: new Counter({
      name: 'gridos_edge_policy_updates_total',
      help: 'Policy update attempts: installed (a new policy), unchanged, or refused (by EDGE_TUF_*/EDGE_POLICY_* code)',
      labelNames: ['result', 'code'] as const,
      registers: [registry],
    }),
  };
}
