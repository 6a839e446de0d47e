/**
 * The hub with its embedded broker on an ephemeral port, fed by a real MQTT client: valid
 * envelopes are stored once and acknowledged; corrupted or foreign payloads are refused with a
 * typed code, counted, logged once per source, and ingest carries on.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema, validateConfig } from '../../config/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { Quality, decodeEnvelope, encodeEnvelope, envelope, uplinkTopic, type Envelope } from '../../protocols/index.js';
import { captureLogger } from '../helpers/logger.js';
import { loginToHub, type HubSession } from '../helpers/hub-login.js';
import { waitFor } from '../helpers/wait.js';

const SITE = 'site-a';
const EDGE = 'edge-7';

let hub: Hub;
let viewer: HubSession;
let client: MqttClient;
const acks: Envelope[] = [];
const { logger, records } = captureLogger('info');

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gridos-hub-'));
  const config = validateConfig(hubConfigSchema, { http: { port: 0 }, broker: { mode: 'embedded', port: 0 }, storage: { dataDir } }, 'test');
  hub = await buildHub(config, { logger });
  viewer = await loginToHub(hub);
  const { brokerUrl } = await hub.start();
  client = await mqtt.connectAsync(brokerUrl, { clientId: 'test-edge', protocolVersion: 4 });
  await client.subscribeAsync(`gridos/v1/${SITE}/${EDGE}/cmd/+`, { qos: 1 });
  client.on('message', (_t, payload) => {
    const d = decodeEnvelope(payload);
    if (d.ok) acks.push(d.value);
  });
});

afterAll(async () => {
  await client?.endAsync();
  await hub?.stop();
});

const telemetry = (seq: number, value: number) =>
  encodeEnvelope(envelope({ edgeId: EDGE, siteId: SITE, seq, sentAtMs: Date.now(), payload: { kind: 'telemetry', readings: [{ tagId: 'feeder1.voltage_pu', tsMs: 1_000 * seq, value, quality: Quality.Good }] } }));

async function readings(tag = 'feeder1.voltage_pu') {
  const res = await hub.app.inject({ method: 'GET', url: `/api/readings?edge=${EDGE}&tag=${tag}&from=0&to=100000`, headers: viewer.headers });
  return (res.json() as { readings: { tsMs: number; value: number }[] }).readings;
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = (await hub.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('hub ingest', () => {
  it('stores a telemetry envelope and acknowledges its seq', async () => {
    await client.publishAsync(uplinkTopic(SITE, EDGE, 'telemetry'), Buffer.from(telemetry(1, 1.01)), { qos: 1 });
    await waitFor('the reading at the hub', async () => (await readings()).length === 1);
    expect(await readings()).toEqual([{ tsMs: 1000, value: 1.01, quality: 0, flags: 0 }]);
    const ack = await waitFor('an ack', () => acks.find((a) => a.payload.kind === 'ack' && a.payload.ack.toSeq === 1));
    expect(ack.payload).toEqual({ kind: 'ack', ack: { fromSeq: 1, toSeq: 1 } });
  });

  it('a redelivered seq is stored once, counted as a duplicate, and acknowledged again', async () => {
    const before = acks.length;
    await client.publishAsync(uplinkTopic(SITE, EDGE, 'telemetry'), Buffer.from(telemetry(1, 9.99)), { qos: 1 });
    await waitFor('a second ack', () => acks.length > before);
    expect(await readings()).toEqual([{ tsMs: 1000, value: 1.01, quality: 0, flags: 0 }]);
    expect(await metric('gridos_hub_duplicate_messages_total')).toBe(1);
  });

  it('refuses garbage with typed codes, logs once per source, and keeps ingesting', async () => {
    const topic = uplinkTopic(SITE, EDGE, 'telemetry');
    for (let i = 0; i < 5; i++) await client.publishAsync(topic, Buffer.from(`{"not":"protobuf","i":${i}}`), { qos: 1 });
    // a well-formed envelope on the wrong edge's topic
    await client.publishAsync(uplinkTopic(SITE, 'edge-other', 'telemetry'), Buffer.from(telemetry(5, 1.0)), { qos: 1 });
    // a sequenced payload without a sequence number
    await client.publishAsync(topic, Buffer.from(telemetry(0, 1.0)), { qos: 1 });
    // something on a topic no gridos edge uses
    await client.publishAsync('gridos/v1/site-a/edge-7/firmware', Buffer.from('x'), { qos: 1 });
    await client.publishAsync(topic, Buffer.from(telemetry(2, 1.02)), { qos: 1 });
    await waitFor('the next good reading', async () => (await readings()).length === 2);

    expect(await metric('gridos_hub_rejected_messages_total', 'code="PROTO_MALFORMED"')).toBe(5);
    expect(await metric('gridos_hub_rejected_messages_total', 'code="HUB_INGEST_TOPIC_MISMATCH"')).toBe(1);
    expect(await metric('gridos_hub_rejected_messages_total', 'code="HUB_INGEST_FOREIGN_TOPIC"')).toBe(1);
    expect(await metric('gridos_hub_rejected_messages_total', 'code="HUB_INGEST_NO_SEQ"')).toBe(1);
    const refusals = records.filter((r) => typeof r.msg === 'string' && r.msg.startsWith('refused a payload'));
    expect(refusals.filter((r) => r.code === 'PROTO_MALFORMED')).toHaveLength(1);
    expect(refusals.find((r) => r.code === 'PROTO_MALFORMED')?.source).toBe(`${SITE}/${EDGE}`);
    // the suppressed count is reported once the source sends something valid again
    expect(records.some((r) => r.suppressed === 4 && r.code === 'PROTO_MALFORMED')).toBe(true);
    expect((await hub.app.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
  });

  it('lists the edge and its tags with the latest value', async () => {
    const edges = (await hub.app.inject({ method: 'GET', url: '/api/edges', headers: viewer.headers })).json() as { id: string; siteId: string; online: boolean; lastSeq: number }[];
    expect(edges).toEqual([expect.objectContaining({ id: EDGE, siteId: SITE, online: true, lastSeq: 2 })]);
    const tags = (await hub.app.inject({ method: 'GET', url: `/api/edges/${EDGE}/tags`, headers: viewer.headers })).json() as { id: string; latest: { value: number } }[];
    expect(tags).toEqual([expect.objectContaining({ id: 'feeder1.voltage_pu', latest: { tsMs: 2000, value: 1.02, quality: 0, flags: 0 } })]);
    expect((await hub.app.inject({ method: 'GET', url: '/api/edges/nobody/tags', headers: viewer.headers })).statusCode).toBe(404);
    // without a session: nothing, not even whether the edge exists
    for (const url of ['/api/edges', `/api/edges/${EDGE}/tags`, '/api/edges/nobody/tags']) expect((await hub.app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
  });

  it('rejects a bad readings query with a message that names the parameter', async () => {
    const res = await hub.app.inject({ method: 'GET', url: `/api/readings?edge=${EDGE}&from=yesterday`, headers: viewer.headers });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { error: string; message: string };
    expect(body.error).toBe('HUB_API_BAD_QUERY');
    expect(body.message).toMatch(/tag/);
    expect(body.message).toMatch(/from/);
  });

  it('serves the console page', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('/assets/app/main.js');
    // its modules (built by npm run build) and uPlot from node_modules; nothing else
    expect((await hub.app.inject({ method: 'GET', url: '/assets/uplot/uPlot.esm.js' })).statusCode).toBe(200);
    expect((await hub.app.inject({ method: 'GET', url: '/assets/app/main.js' })).headers['content-type']).toMatch(/javascript/);
    const missing = await hub.app.inject({ method: 'GET', url: '/assets/app/..%2F..%2Fhub.db' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toBe('HUB_CONSOLE_NO_ASSET');
  });
});
