// Signed distribution, attacks and faults: each update below must be refused with its code and a
// clear message, and leave the installed policy exactly as it was, with a `policy.refused` record
// naming the code in the edge's audit chain (audit.db on disk). Real keys, real files, real tuf-js.
import { appendFileSync, copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEdgeAudit, type OpenEdgeAudit } from '../../edge/audit/index.js';
import { auditedUpdate, PolicyJournal, trustStatus, type TrustStore, type UpdateOptions, type UpdateResult } from '../../edge/policy/update/index.js';
import { recordOfRow, type AuditRecord } from '../../protocols/audit/index.js';
import { addTargets, issueAssignment, publish } from '../../hub/registry/index.js';
import { assignmentFile, policyTarget } from '../../protocols/tuf/index.js';
import { DAY_MS, EDGE, HOUR_MS, exportMedia, forgeTargets, makeHub, newEdge, policyText, publishAndAssign, release, type HubFixture } from '../helpers/tuf-repo.js';

let fx: HubFixture;
let edge: TrustStore;
let audit: OpenEdgeAudit;
let journal: PolicyJournal;
let clockMs = 0;
const at = (offsetMs: number) => ({ ...EDGE, now: () => fx.t0 + offsetMs });
/** One update through the audited path the agent and `gridos bundle import` use. */
const updateFrom = (store: TrustStore, source: string, options: UpdateOptions): Promise<UpdateResult> => {
  clockMs = options.now!();
  return auditedUpdate(store, source, options, journal);
};
const records = (): AuditRecord[] => audit.log.rows().map(recordOfRow);
const policyRecords = (kind: string) => records().filter((r) => r.kind === kind);

/**
 * The refusal's code and text, and the newest audit record: policy.refused, same code, the active
 * policy named as kept. `repeat`: the same code for the same offer as the refusal before it, which
 * the journal does not record again.
 */
function refusedWith(r: UpdateResult, code: string, text: RegExp, repeat = false): void {
  const before = repeat ? records().length : -1;
  expect('refused' in r ? r.refused.code : 'installed').toBe(code);
  if ('refused' in r) {
    expect(r.refused.message).toMatch(/^update refused, active policy unchanged: /);
    expect(r.refused.message).toMatch(text);
  }
  if (repeat) {
    expect(records()).toHaveLength(before);
    expect(records().at(-1)).toMatchObject({ kind: 'policy.refused', body: { code } });
    return;
  }
  const last = records().at(-1)!;
  const active = edge.installed()!;
  expect(last).toMatchObject({ kind: 'policy.refused', subject: { policyId: active.policyId }, body: { code, active: { policyId: active.policyId, version: active.version, sha256: active.sha256 } } });
  expect((last.body as { message: string }).message).toMatch(text);
}
function stillV1(): void {
  const p = edge.installed();
  expect(p?.version).toBe(1);
  expect(p?.policyText).toBe(policyText(1));
}

beforeEach(async () => {
  fx = makeHub();
  release(fx, 1);
  edge = newEdge(fx);
  audit = openEdgeAudit(join(fx.tmp, 'edge-data'), EDGE.edgeId);
  journal = new PolicyJournal(audit.log, () => clockMs);
  const r = await updateFrom(edge, exportMedia(fx), at(0));
  expect('installed' in r && r.installed.version).toBe(1);
  expect(records()).toEqual([
    expect.objectContaining({ kind: 'policy.installed', atMs: fx.t0, subject: { policyId: 'north-feeders' }, body: expect.objectContaining({ policyId: 'north-feeders', version: 1, targetsVersion: 1, previous: null }) }),
  ]);
});
afterEach(() => {
  expect(audit.log.verify().ok).toBe(true);
  audit.close();
  edge.close();
  rmSync(fx.tmp, { recursive: true, force: true });
});

describe('tuf: refused updates leave the active policy unchanged', () => {
  it('targets signed by keys the root does not know', async () => {
    forgeTargets(fx, 2, fx.keys.rogue);
    publishAndAssign(fx, 2);
    refusedWith(await updateFrom(edge, exportMedia(fx), at(HOUR_MS)), 'EDGE_TUF_UNTRUSTED_SIGNATURE', /targets metadata carries no valid signature by a key the trusted root lists/);
    stillV1();
  });

  it('targets signed by fewer policy owners than the threshold (1 of 2)', async () => {
    forgeTargets(fx, 2, fx.keys.targets.slice(0, 1));
    publishAndAssign(fx, 2);
    refusedWith(await updateFrom(edge, exportMedia(fx), at(HOUR_MS)), 'EDGE_TUF_THRESHOLD_NOT_MET', /signed by 1 trusted key\(s\), its threshold is 2/);
    stillV1();
  });

  it('a valid but older release (rollback)', async () => {
    const old = exportMedia(fx);
    release(fx, 2);
    const r = await updateFrom(edge, exportMedia(fx), at(HOUR_MS));
    expect('installed' in r && r.installed.version).toBe(2);
    refusedWith(await updateFrom(edge, old, at(2 * HOUR_MS)), 'EDGE_TUF_ROLLBACK', /older than what this edge trusts.*timestamp version 1 is less than current version 2/);
    expect(edge.installed()?.version).toBe(2);
  });

  it('an expired timestamp (freeze)', async () => {
    release(fx, 2);
    refusedWith(await updateFrom(edge, exportMedia(fx), at(2 * DAY_MS)), 'EDGE_TUF_EXPIRED', /timestamp metadata expired at .*setting the clock back does not help/);
    stillV1();
  });

  it('expired targets metadata (freeze), while timestamp and snapshot are fresh', async () => {
    const opts = { now: () => fx.t0, expiries: { targetsMs: HOUR_MS } };
    addTargets(fx.repo, { add: [{ target: policyTarget('north-feeders', 2), bytes: Buffer.from(policyText(2)) }] }, fx.keys.targets.slice(1), opts);
    publishAndAssign(fx, 2);
    refusedWith(await updateFrom(edge, exportMedia(fx), at(2 * HOUR_MS)), 'EDGE_TUF_EXPIRED', /targets metadata expired at/);
    stillV1();
  });

  it('a snapshot that does not match the targets (mix-and-match)', async () => {
    const older = exportMedia(fx);
    release(fx, 2);
    const media = exportMedia(fx);
    // The new snapshot with the old release's targets put under the new name.
    copyFileSync(join(older, 'metadata', '1.targets.json'), join(media, 'metadata', '2.targets.json'));
    refusedWith(await updateFrom(edge, media, at(HOUR_MS)), 'EDGE_TUF_METADATA_MISMATCH', /differs from the length or hash its parent records|do not belong together/);
    stillV1();
  });

  it('a policy file whose hash differs, or that does not end (arbitrary and endless data)', async () => {
    release(fx, 2);
    const media = exportMedia(fx);
    const file = readdirSync(join(media, 'targets', 'policies', 'north-feeders')).find((f) => f.endsWith('.2.yaml'))!;
    const path = join(media, 'targets', 'policies', 'north-feeders', file);
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.replace('maxPerHour: 12', 'maxPerHour: 99'));
    refusedWith(await updateFrom(edge, media, at(HOUR_MS)), 'EDGE_TUF_TARGET_MISMATCH', /Expected hash .* but got/);
    writeFileSync(path, good);
    appendFileSync(path, 'x'.repeat(1 << 20));
    // Same code for the same offer as just before: counted by the caller, not a second audit record.
    refusedWith(await updateFrom(edge, media, at(HOUR_MS)), 'EDGE_TUF_TARGET_MISMATCH', /Max length reached/, true);
    stillV1();
  });

  it("another edge's or another site's assignment put in this edge's place", async () => {
    release(fx, 2);
    issueAssignment(fx.repo, { edgeId: 'edge-2', siteId: 'north', policy: policyTarget('north-feeders', 2) }, [fx.keys.assignment], fx.opts);
    issueAssignment(fx.repo, { edgeId: 'edge-1', siteId: 'south', policy: policyTarget('north-feeders', 2) }, [fx.keys.assignment], fx.opts);
    const media = exportMedia(fx);
    const mine = join(media, assignmentFile(EDGE.siteId, EDGE.edgeId));
    copyFileSync(join(media, assignmentFile('north', 'edge-2')), mine);
    refusedWith(await updateFrom(edge, media, at(HOUR_MS)), 'EDGE_TUF_WRONG_EDGE', /for edge 'edge-2', this is edge 'edge-1'/);
    copyFileSync(join(media, assignmentFile('south', 'edge-1')), mine);
    refusedWith(await updateFrom(edge, media, at(HOUR_MS)), 'EDGE_TUF_WRONG_EDGE', /for site 'south', this edge is at site 'north'/, true);
    stillV1();
  });

  it('an assignment signed by a key the root does not name', async () => {
    release(fx, 2);
    const media = exportMedia(fx);
    const path = join(media, assignmentFile(EDGE.siteId, EDGE.edgeId));
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { signed: { policy: { version: number } } };
    doc.signed.policy.version = 2; // unchanged value, re-serialised: signature still checks
    writeFileSync(path, JSON.stringify({ ...doc, signatures: [{ keyid: fx.keys.rogue[0]!.keyId, sig: '00'.repeat(64) }] }));
    refusedWith(await updateFrom(edge, media, at(HOUR_MS)), 'EDGE_TUF_ASSIGNMENT_SIGNATURE', /0 valid signature\(s\) by trusted assignment keys, 1 required/);
    stillV1();
  });

  it('an older policy version assigned by the hub after a newer one (policy rollback)', async () => {
    release(fx, 2);
    expect('installed' in (await updateFrom(edge, exportMedia(fx), at(HOUR_MS)))).toBe(true);
    publishAndAssign(fx, 1);
    refusedWith(await updateFrom(edge, exportMedia(fx), at(2 * HOUR_MS)), 'EDGE_TUF_ROLLBACK', /policy north-feeders v1 is older than the installed v2/);
    expect(edge.installed()?.version).toBe(2);
  });

  it('the same refusal offered again each period is one audit record; a new offer or an install is recorded', async () => {
    forgeTargets(fx, 2, fx.keys.rogue);
    publishAndAssign(fx, 2);
    const forged = exportMedia(fx);
    for (let i = 1; i <= 3; i++) refusedWith(await updateFrom(edge, forged, at(i * 60_000)), 'EDGE_TUF_UNTRUSTED_SIGNATURE', /no valid signature/, i > 1);
    expect(policyRecords('policy.refused')).toHaveLength(1);
    expect(policyRecords('policy.refused')[0]!.body).toMatchObject({ source: forged, offered: {}, active: { version: 1 } });

    // The hub moves on to a properly signed release: installed, with the targets version and expiry.
    release(fx, 3);
    const r = await updateFrom(edge, exportMedia(fx), at(HOUR_MS));
    expect('installed' in r && r.installed.version).toBe(3);
    const installed = policyRecords('policy.installed');
    expect(installed).toHaveLength(2);
    expect(installed[1]).toMatchObject({ atMs: fx.t0 + HOUR_MS, body: { policyId: 'north-feeders', version: 3, sha256: edge.installed()!.sha256, previous: { version: 1 } } });
    const body = installed[1]!.body as { targetsVersion: number; expiresMs: number };
    expect(body.targetsVersion).toBeGreaterThan(1);
    expect(body.expiresMs).toBe(trustStatus(edge, fx.t0 + HOUR_MS).expiresMs);

    // Unchanged: no record. The old forged media again: a new refusal record (something changed since).
    await updateFrom(edge, exportMedia(fx), at(HOUR_MS + 1));
    expect(records()).toHaveLength(3);
    refusedWith(await updateFrom(edge, forged, at(HOUR_MS + 2)), 'EDGE_TUF_ROLLBACK', /older than what this edge trusts/);
    expect(policyRecords('policy.refused').map((x) => (x.body as { code: string }).code)).toEqual(['EDGE_TUF_UNTRUSTED_SIGNATURE', 'EDGE_TUF_ROLLBACK']);
  });

  it('setting the clock back after expiry does not revive the expired policy', async () => {
    const media = exportMedia(fx);
    expect(trustStatus(edge, fx.t0 + HOUR_MS).expired).toBe(false);
    const late = trustStatus(edge, fx.t0 + 2 * DAY_MS);
    expect(late).toMatchObject({ expired: true, expiredBy: 'timestamp metadata' });
    refusedWith(await updateFrom(edge, media, at(2 * DAY_MS)), 'EDGE_TUF_EXPIRED', /timestamp metadata expired/);
    // The clock is wound back to before the expiry: the floor keeps the reference time where it was.
    expect(trustStatus(edge, fx.t0 + HOUR_MS)).toMatchObject({ expired: true, referenceTimeMs: fx.t0 + 2 * DAY_MS });
    refusedWith(await updateFrom(edge, media, at(HOUR_MS)), 'EDGE_TUF_EXPIRED', /reference time .*the later of the clock and the time floor/, true);
    expect(edge.timeFloorMs()).toBe(fx.t0 + 2 * DAY_MS);
    stillV1();
  });

  it('a hub that cannot sign targets alone: the API refuses below the threshold and writes nothing', () => {
    expect(() => addTargets(fx.repo, { add: [{ target: policyTarget('north-feeders', 2), bytes: Buffer.from(policyText(2)) }] }, fx.keys.targets.slice(0, 1), fx.opts)).toThrow(
      expect.objectContaining({ code: 'HUB_TUF_THRESHOLD_NOT_MET' }),
    );
    expect(() => publish(fx.repo, { snapshot: [fx.keys.timestamp], timestamp: [fx.keys.timestamp] }, fx.opts)).toThrow(expect.objectContaining({ code: 'HUB_TUF_KEY_NOT_IN_ROLE' }));
    expect(readdirSync(join(fx.repo, 'metadata')).sort()).toEqual(['1.root.json', '1.snapshot.json', '1.targets.json', 'timestamp.json']);
  });
});
