// protocols/tuf, hub/registry errors and the trust store's all-or-nothing activation.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrustStore } from '../../edge/policy/update/index.js';
import { initRepository, addTargets } from '../../hub/registry/index.js';
import {
  ASSIGNMENT_TYPE,
  canonicalJson,
  parseModelTarget,
  parsePolicyTarget,
  policyTarget,
  signAssignment,
  targetFilePath,
  tufPublicKey,
  verifyAssignment,
  type Assignment,
} from '../../protocols/tuf/index.js';
import { makeHub, policyText, rolesFor } from '../helpers/tuf-repo.js';

const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.string(), fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 })),
})).value;

describe('protocols/tuf canonical JSON', () => {
  it('is byte-identical to tuf-js canonical JSON', () => {
    fc.assert(fc.property(json, (v) => canonicalJson(v) === canonicalize(v)));
  });
  it('refuses floats', () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(/integers only/);
  });
});

describe('protocols/tuf layout', () => {
  it('names targets and refuses names that could leave their directory', () => {
    expect(policyTarget('north-feeders', 7)).toBe('policies/north-feeders/7.yaml');
    expect(parsePolicyTarget('policies/north-feeders/7.yaml')).toEqual({ policyId: 'north-feeders', version: 7 });
    expect(parsePolicyTarget('policies/../7.yaml')).toBeUndefined();
    expect(parseModelTarget('models/m/2026.12.1/model.onnx')).toEqual({ modelId: 'm', version: '2026.12.1', file: 'model.onnx' });
    expect(parseModelTarget('models/../x/model.onnx')).toBeUndefined();
    expect(() => policyTarget('../etc', 1)).toThrow(/not valid/);
    expect(targetFilePath('policies/p/1.yaml', 'a'.repeat(64))).toBe(`targets/policies/p/${'a'.repeat(64)}.1.yaml`);
  });
});

describe('protocols/tuf assignment', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519').privateKey;
  const trust = { keys: [tufPublicKey(privateKey)], threshold: 1 };
  const a: Assignment = {
    type: ASSIGNMENT_TYPE,
    edgeId: 'e1',
    siteId: 's1',
    version: 3,
    issuedAt: '2026-01-01T00:00:00Z',
    expires: '2026-01-08T00:00:00Z',
    policy: { target: 'policies/p/7.yaml', version: 7, sha256: 'b'.repeat(64), length: 10 },
    models: [],
  };
  const expect1 = { edgeId: 'e1', siteId: 's1', referenceTimeMs: Date.parse('2026-01-02T00:00:00Z') };

  it('verifies a signed assignment for this edge', () => {
    expect(verifyAssignment(signAssignment(a, [privateKey]), trust, expect1)).toEqual({ ok: true, assignment: a });
  });
  it('reports every problem as data', () => {
    const tampered = signAssignment(a, [privateKey]);
    tampered.signed = { ...a, policy: { ...a.policy, sha256: 'c'.repeat(64) } };
    const codes = (doc: unknown, e = expect1) => {
      const r = verifyAssignment(doc, trust, e);
      return r.ok ? [] : r.problems.map((p) => p.code);
    };
    expect(codes(tampered)).toEqual(['ASSIGNMENT_SIGNATURE']);
    expect(codes(signAssignment(a, [other]))).toEqual(['ASSIGNMENT_SIGNATURE']);
    expect(codes(signAssignment(a, [privateKey]), { ...expect1, edgeId: 'e2', siteId: 's2' })).toEqual(['ASSIGNMENT_WRONG_EDGE', 'ASSIGNMENT_WRONG_SITE']);
    expect(codes(signAssignment(a, [privateKey]), { ...expect1, referenceTimeMs: Date.parse('2026-02-01T00:00:00Z') })).toEqual(['ASSIGNMENT_EXPIRED']);
    expect(codes(signAssignment({ ...a, policy: { ...a.policy, version: 8 } }, [privateKey]))).toEqual(['ASSIGNMENT_INCONSISTENT']);
    expect(codes({ signed: { ...a, extra: 1 }, signatures: [] })).toEqual(['ASSIGNMENT_MALFORMED']);
    expect(codes('nope')).toEqual(['ASSIGNMENT_MALFORMED']);
  });
});

describe('hub/registry errors', () => {
  it('refuses a second init, impossible thresholds, and changing a released version', () => {
    const fx = makeHub();
    try {
      expect(() => initRepository(fx.repo, rolesFor(fx.keys), fx.keys.root)).toThrow(expect.objectContaining({ code: 'HUB_TUF_REPO_EXISTS' }));
      const bad = { ...rolesFor(fx.keys), targets: { keys: fx.keys.targets, threshold: 4 } };
      expect(() => initRepository(join(fx.tmp, 'other'), bad, fx.keys.root)).toThrow(expect.objectContaining({ code: 'HUB_TUF_BAD_ROLES', message: expect.stringMatching(/threshold 4 must be between 1 and its 3/) }));
      const owners = fx.keys.targets.slice(0, 2);
      addTargets(fx.repo, { add: [{ target: policyTarget('north-feeders', 1), bytes: Buffer.from(policyText(1)) }] }, owners, fx.opts);
      expect(() => addTargets(fx.repo, { add: [{ target: policyTarget('north-feeders', 1), bytes: Buffer.from(policyText(2)) }] }, owners, fx.opts)).toThrow(
        expect.objectContaining({ code: 'HUB_TUF_TARGET_CHANGED' }),
      );
      expect(() => addTargets(fx.repo, { add: [{ target: 'etc/passwd', bytes: Buffer.from('x') }] }, owners, fx.opts)).toThrow(expect.objectContaining({ code: 'HUB_TUF_BAD_TARGET' }));
    } finally {
      rmSync(fx.tmp, { recursive: true, force: true });
    }
  });
});

describe('edge TrustStore', () => {
  it('activates all or nothing, and its time floor never goes down', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridos-trust-'));
    const fx = makeHub();
    try {
      const store = new TrustStore(join(dir, 'trust.db'));
      store.provision(readFileSync(join(fx.repo, 'metadata', '1.root.json'), 'utf8'));
      const policy = { target: 'policies/p/1.yaml', policyId: 'p', version: 1, sha256: 'a'.repeat(64), length: 1, policyText: 'x', installedAtMs: 1 };
      const metadata = { root: store.metadata('root')!, timestamp: '{}', snapshot: '{}', targets: undefined as unknown as string };
      // The last metadata row fails (NOT NULL) after the others were written: everything rolls back.
      expect(() => store.activate({ metadata, assignmentJson: '{}', assignmentVersion: 1, policy, signedTimeMs: 5, basedOn: { assignmentVersion: 0, timestampJson: undefined } })).toThrow();
      expect(store.metadata('timestamp')).toBeUndefined();
      expect(store.installed()).toBeUndefined();
      expect(store.assignment().version).toBe(0);
      // Activation based on a state that has since moved on is refused before writing.
      expect(() => store.activate({ metadata: { ...metadata, targets: '{}' }, assignmentJson: '{}', assignmentVersion: 1, policy, signedTimeMs: 5, basedOn: { assignmentVersion: 1, timestampJson: undefined } })).toThrow(
        expect.objectContaining({ name: 'ConcurrentUpdateError' }),
      );
      expect(store.installed()).toBeUndefined();
      expect(store.observeClock(1000)).toBe(1000);
      expect(store.observeClock(10)).toBe(1000);
      expect(() => store.provision(store.metadata('root')!)).toThrow(/already provisioned/);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(fx.tmp, { recursive: true, force: true });
    }
  });
});
