/** The edge agent's Prometheus metrics, in a registry of its own (several agents may share a process in tests and the demo). */
import { Counter, Gauge, Registry } from 'prom-client';

export function createEdgeMetrics(labels: { edge: string; site: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  const m = {
    registry,
    readingsReceived: new Counter({ name: 'gridos_edge_readings_received_total', help: 'Readings received from sources', labelNames: ['source'] as const, registers: [registry] }),
    readingsRejected: new Counter({ name: 'gridos_edge_readings_rejected_total', help: 'Readings rejected by validation, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    readingsStored: new Counter({ name: 'gridos_edge_readings_stored_total', help: 'Readings committed to the local store', registers: [registry] }),
    duplicateReadings: new Counter({ name: 'gridos_edge_duplicate_readings_total', help: 'Readings already stored (same tag and timestamp), not forwarded again', registers: [registry] }),
    aggregatesStored: new Counter({ name: 'gridos_edge_aggregates_stored_total', help: 'Closed aggregate windows committed to the local store', registers: [registry] }),
    lateReadings: new Gauge({ name: 'gridos_edge_late_readings', help: 'Readings that arrived after their aggregate window closed (left out of aggregates)', registers: [registry] }),
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
