/** The hub's Prometheus metrics, in a registry of its own. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export function createHubMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'gridos_hub_' });
  return {
    registry,
    messages: new Counter({ name: 'gridos_hub_messages_total', help: 'Envelopes accepted from edges, by payload kind', labelNames: ['kind'] as const, registers: [registry] }),
    duplicates: new Counter({ name: 'gridos_hub_duplicate_messages_total', help: 'Envelopes received again (same edge and seq) and ignored', registers: [registry] }),
    rejected: new Counter({ name: 'gridos_hub_rejected_messages_total', help: 'Payloads refused by ingest, by error code', labelNames: ['code'] as const, registers: [registry] }),
    readings: new Counter({ name: 'gridos_hub_readings_stored_total', help: 'Readings stored', registers: [registry] }),
    edges: new Gauge({ name: 'gridos_hub_edges', help: 'Edges known to the hub', registers: [registry] }),
  };
}

export type HubMetrics = ReturnType<typeof createHubMetrics>;
