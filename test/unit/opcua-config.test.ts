/** The OPC UA source's config: queue size, deadbands, certificates, user identity, reconnect backoff, and security that must agree. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEdgeConfig, type OpcuaSourceConfig } from '../../config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-uaconfig-'));
let n = 0;

/** Writes an edge config whose one OPC UA source has these extra lines, and loads it. */
function load(sourceLines: string): { path: string; load: () => OpcuaSourceConfig } {
  const path = join(dir, `edge-${n++}.yaml`);
  writeFileSync(
    path,
    `
edge: { id: e1, site: s1 }
hub: { mqttUrl: "mqtt://127.0.0.1:1883" }
storage: { dataDir: ./data }
sources:
  - kind: opcua
    name: sub
    endpoint: opc.tcp://127.0.0.1:4840
${sourceLines
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`,
  );
  return { path, load: () => loadEdgeConfig(path, { env: {} }).sources[0] as OpcuaSourceConfig };
}

function problems(sourceLines: string): { path: string; lines: string[] } {
  const { path, load: run } = load(sourceLines);
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return { path, lines: e.message.split('\n') };
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const oneTag = 'tags: [{ id: t1, nodeId: "ns=1;s=X" }]';

describe('opcua source config', () => {
  it('defaults: queue of 10, no deadband, anonymous, own certificate, 500ms..10s backoff', () => {
    const src = load(oneTag).load();
    expect(src).toMatchObject({ queueSize: 10, deadband: { type: 'none', value: 0 }, reconnect: { initialDelayMs: 500, maxDelayMs: 10_000 } });
    expect(src.certificateFile).toBeUndefined();
    expect(src.username).toBeUndefined();
    expect(src.tags[0]?.deadband).toBeUndefined();
  });

  it('compiles every new key, durations to ms, with a per-tag deadband override', () => {
    const src = load(`
securityMode: SignAndEncrypt
securityPolicy: Basic256Sha256
certificateFile: /etc/gridos/pki/edge.pem
privateKeyFile: /etc/gridos/pki/edge.key
username: operator
password: secret
queueSize: 50
deadband: { type: percent, value: 0.5 }
reconnect: { initialDelay: 1s, maxDelay: 2m }
tags:
  - { id: t1, nodeId: "ns=1;s=X" }
  - { id: t2, nodeId: "ns=1;s=Y", deadband: { type: absolute, value: 2.5 } }
`).load();
    expect(src).toMatchObject({
      securityMode: 'SignAndEncrypt',
      securityPolicy: 'Basic256Sha256',
      certificateFile: '/etc/gridos/pki/edge.pem',
      privateKeyFile: '/etc/gridos/pki/edge.key',
      username: 'operator',
      password: 'secret',
      queueSize: 50,
      deadband: { type: 'percent', value: 0.5 },
      reconnect: { initialDelayMs: 1000, maxDelayMs: 120_000 },
    });
    expect(src.tags.map((t) => t.deadband)).toEqual([undefined, { type: 'absolute', value: 2.5 }]);
  });

  it('Sign or SignAndEncrypt with securityPolicy None is an error naming what is expected', () => {
    const { path, lines } = problems(`securityMode: Sign\nsecurityPolicy: None\n${oneTag}`);
    expect(lines).toEqual([`${path}: sources.0.securityPolicy: expected a security policy such as Basic256Sha256 with securityMode Sign, got string "None"`]);
    const missing = problems(`securityMode: SignAndEncrypt\n${oneTag}`);
    expect(missing.lines).toEqual([`${missing.path}: sources.0.securityPolicy: expected a security policy such as Basic256Sha256 with securityMode SignAndEncrypt, got nothing (the key is missing)`]);
    const reverse = problems(`securityPolicy: Basic256Sha256\n${oneTag}`);
    expect(reverse.lines).toEqual([`${reverse.path}: sources.0.securityMode: expected Sign or SignAndEncrypt with securityPolicy Basic256Sha256, got nothing (the key is missing)`]);
  });

  it('bad values of the new keys, each as file: key: expected X, got Y', () => {
    const { path, lines } = problems(`
queueSize: 0
deadband: { type: relative, value: 1 }
reconnect: { initialDelay: soon }
tags: [{ id: t1, nodeId: "ns=1;s=X", deadband: { type: absolute, value: -1 } }]
`);
    expect(lines).toEqual(
      expect.arrayContaining([
        `${path}: sources.0.queueSize: expected >= 1, got number 0`,
        `${path}: sources.0.deadband.type: expected one of "none", "absolute", "percent", got string "relative"`,
        `${path}: sources.0.reconnect.initialDelay: expected a duration such as "500ms", "5s", "15m" or "1h", got string "soon"`,
        `${path}: sources.0.tags.0.deadband.value: expected >= 0, got number -1`,
      ]),
    );
  });

  it('keys that only work together, a percent over 100, and a backoff that would shrink', () => {
    const cases: [string, string][] = [
      [`certificateFile: /pki/edge.pem\n${oneTag}`, 'sources.0.privateKeyFile: expected certificateFile and privateKeyFile together, got nothing (the key is missing)'],
      [`password: secret\n${oneTag}`, 'sources.0.username: expected username and password together, got nothing (the key is missing)'],
      [`deadband: { type: percent, value: 150 }\n${oneTag}`, 'sources.0.deadband.value: expected a percent deadband from 0 to 100, got number 150'],
      [`reconnect: { initialDelay: 5s, maxDelay: 1s }\n${oneTag}`, 'sources.0.reconnect.maxDelay: expected at least initialDelay (5000 ms), got string "1s"'],
      [`reconnect: { initialDelay: 0 }\n${oneTag}`, 'sources.0.reconnect.initialDelay: expected a delay of at least 1ms, got number 0'],
    ];
    for (const [lines, expected] of cases) {
      const found = problems(lines);
      expect(found.lines, lines).toEqual([`${found.path}: ${expected}`]);
    }
  });
});
