/**
 * MQTT topic names between edges and the hub, in one place.
 *
 *   edge -> hub: gridos/v1/<site>/<edge>/<kind>
 *   hub -> edge: gridos/v1/<site>/<edge>/cmd/<kind>
 *
 * Site and edge ids are restricted so that they can never contain MQTT wildcards or level
 * separators, which is what lets a broker ACL confine an edge to its own prefix.
 */

export const TOPIC_ROOT = 'gridos/v1';

/** What an edge publishes. */
export const UPLINK_KINDS = ['telemetry', 'birth', 'gap', 'state', 'aggregates', 'forecast', 'scores', 'escalation', 'audit'] as const;
export type UplinkKind = (typeof UPLINK_KINDS)[number];

/** What the hub sends to an edge. */
export const COMMAND_KINDS = ['ack', 'decision', 'audit-head'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** True when `id` is usable as a site or edge id (1-64 chars, letters, digits, `_ . -`). */
export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

function checkId(what: string, id: string): void {
  if (!isValidId(id)) {
    throw new TypeError(`${what} id '${id}' is not valid: use 1-64 letters, digits, '_', '.', '-'`);
  }
}

export function uplinkTopic(siteId: string, edgeId: string, kind: UplinkKind): string {
  checkId('site', siteId);
  checkId('edge', edgeId);
  return `${TOPIC_ROOT}/${siteId}/${edgeId}/${kind}`;
}

export function commandTopic(siteId: string, edgeId: string, kind: CommandKind): string {
  checkId('site', siteId);
  checkId('edge', edgeId);
  return `${TOPIC_ROOT}/${siteId}/${edgeId}/cmd/${kind}`;
}

/** What the hub subscribes to: every edge's uplink. */
export const HUB_UPLINK_FILTER = `${TOPIC_ROOT}/+/+/+`;

/** What an edge subscribes to: its own commands. */
export function edgeCommandFilter(siteId: string, edgeId: string): string {
  return `${TOPIC_ROOT}/${siteId}/${edgeId}/cmd/+`;
}

export type ParsedTopic =
  | { direction: 'uplink'; siteId: string; edgeId: string; kind: UplinkKind }
  | { direction: 'command'; siteId: string; edgeId: string; kind: CommandKind };

/** Parses a gridos topic; undefined for anything that is not one (foreign topics, bad ids). */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] !== 'gridos' || parts[1] !== 'v1') return undefined;
  const [, , siteId, edgeId, a, b] = parts;
  if (siteId === undefined || edgeId === undefined || a === undefined) return undefined;
  if (!isValidId(siteId) || !isValidId(edgeId)) return undefined;
  if (parts.length === 5 && (UPLINK_KINDS as readonly string[]).includes(a)) {
    return { direction: 'uplink', siteId, edgeId, kind: a as UplinkKind };
  }
  if (parts.length === 6 && a === 'cmd' && b !== undefined && (COMMAND_KINDS as readonly string[]).includes(b)) {
    return { direction: 'command', siteId, edgeId, kind: b as CommandKind };
  }
  return undefined;
}
