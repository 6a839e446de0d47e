/** The hub's Prometheus metrics, in a registry of its own. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { EdgeRow } from './store/hub-store.js';

export function createHubMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'gridos_hub_' });
  return {
    registry,
    messages: new Counter({ name: 'gridos_hub_messages_total', help: 'Envelopes accepted from edges, by payload kind', labelNames: ['kind'] as const, registers: [registry] }),
    duplicateReadings: new Counter({ name: 'gridos_hub_duplicate_readings_total', help: 'Readings in new messages that were already stored (same edge, tag and timestamp)', registers: [registry] }),
    duplicates: new Counter({ name: 'gridos_hub_duplicate_messages_total', help: 'Envelopes received again (same edge and seq) and ignored', registers: [registry] }),
    rejected: new Counter({ name: 'gridos_hub_rejected_messages_total', help: 'Payloads refused by ingest, by error code', labelNames: ['code'] as const, registers: [registry] }),
    readings: new Counter({ name: 'gridos_hub_readings_stored_total', help: 'Readings stored', registers: [registry] }),
    auditAlarms: new Counter({ name: 'gridos_hub_audit_alarms_total', help: "Alarms raised on edges' audit chains, by edge and kind (truncation, fork, key, gap, invalid: runs not merged into the mirror; stale: an online edge's mirror not advancing)", labelNames: ['edge', 'kind'] as const, registers: [registry] }),
    edges: new Gauge({ name: 'gridos_hub_edges', help: 'Edges known to the hub', registers: [registry] }),
  };
}

export type HubMetrics = ReturnType<typeof createHubMetrics>;

/** Active (neither acknowledged nor cleared) audit alarms per edge and kind, read from the store when Prometheus scrapes. */
export function registerAuditAlarmGauge(m: HubMetrics, counts: () => { edgeId: string; kind: string; active: number }[]): void {
  new Gauge({
    name: 'gridos_hub_audit_alarms_active',
    help: "Audit alarms on edges' chains not yet acknowledged (or cleared), by edge and kind; 0 once every alarm of the kind was acknowledged",
    labelNames: ['edge', 'kind'] as const,
    registers: [m.registry],
    collect() {
      this.reset();
      for (const c of counts()) this.set({ edge: c.edgeId, kind: c.kind }, c.active);
    },
  });
}

/** Per-edge link state, backlog and lag, read from the store when Prometheus scrapes. */
export function registerEdgeGauges(m: HubMetrics, edges: () => EdgeRow[], now: () => number): void {
  const labelNames = ['edge', 'site'] as const;
  const perEdge = (name: string, help: string, value: (e: EdgeRow, nowMs: number) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [m.registry],
      collect() {
        this.reset();
        const t = now();
        for (const e of edges()) this.set({ edge: e.id, site: e.siteId }, value(e, t));
      },
    });
  perEdge('gridos_hub_edge_online', '1 while the edge is connected (its MQTT last will flips it to 0)', (e) => (e.online ? 1 : 0));
  perEdge('gridos_hub_edge_backlog_messages', 'Messages waiting in the edge outbox, as the edge last reported', (e) => e.backlog.messages);
  perEdge('gridos_hub_edge_backlog_readings', 'Raw readings waiting in the edge outbox, as the edge last reported', (e) => e.backlog.readings);
  perEdge('gridos_hub_edge_lag_seconds', 'Age of the newest reading stored from the edge', (e, t) => (e.lastReadingTsMs > 0 ? (t - e.lastReadingTsMs) / 1000 : 0));
}
