/**
 * Dispatch latency, end to end on loopback: the substation simulator (OPC UA), the edge agent with
 * `dispatch.peakShaving` and a policy handed in code, and the hub (`gridos hub`, embedded broker).
 *
 * Where each part runs, and why:
 *  - the hub in its own process (bench/dispatch-hub.ts): in production it is another machine, and
 *    the CLI makes that cheap; the bench talks to it only over its broker and its HTTP API, with a
 *    logged-in operator session (cookie + x-csrf-token, reads included);
 *  - the edge agent in this process: its dispatch path is timed with performance.now() probes
 *    (`deps.dispatchTrace`, and a wrapper around `agent.latest.update`, where readings land),
 *    which needs no clock shared across processes;
 *  - the simulator in this process too: the write is seen on the server side, synchronously, by
 *    its 'setpoint written' log record (a logger stream here), so no OPC UA subscription and no
 *    publishing interval sits in the third figure. Both share this event loop with the bench's
 *    HTTP client, which can only make the figures worse.
 *
 * One round per proposal: commit a forecast whose next interval peaks 300 or 400 kW over the
 * feeder limit (the policy escalates anything above 250 kW); the next feeder reading that
 * reaches the edge starts a dispatch cycle by the product's own trigger (`dispatch.onReading` on
 * the feeder tag, debounce under the sampling period; the loop's timer is set to 1 h here); poll
 * GET /api/approvals?state=pending back to back until the escalation shows; then POST /approve
 * and wait for the write on the simulator.
 *  1. reading -> proposal: reading seen by the edge (its latest values updated as the batch leaves
 *     ingest, the cycle started then, ahead of the telemetry commit) -> the proposal formed (the
 *     controller's output) and -> journaled (snapshot, controller, policy, the journal's first
 *     commit, without an fsync: journal.ts says why); -> the escalation durable in the outbox
 *     (the gating transition and the outbox commit, each fsynced), reported beside it with the
 *     floor of such a commit on this disk. The same steps, the path as it was against as it is,
 *     on their own (bench/dispatch-steps.ts), in the same run;
 *  2. escalation -> hub API: committed to the edge's outbox -> first pending list that holds it
 *     (upper bound: the response's arrival; the poll's own round trip is reported);
 *  3. approve -> setpoint: POST /approve sent -> the OPC UA write at the server (hub signs,
 *     publishes; the edge verifies, re-checks interlocks, reads and writes the setpoint).
 * Baselines, same run: (2) a console listing the newest escalations every 1 s, as a naive design would;
 * (1) the loop's own timer at its default period (10 s), computed, not measured (a reading waits
 * for the next tick: uniform over the period) — measuring it would take 10 s per sample.
 *
 *   npm run bench -- dispatch            200 rounds
 *   npm run bench -- dispatch --quick    20 rounds, under a minute
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import { edgeConfigSchema, validateConfig } from '../config/index.js';
import mqtt from 'mqtt';
import { startAgent } from '../edge/index.js';
import { decodeEnvelope, uplinkTopic, type Reading } from '../protocols/index.js';
import { startSubstation, substationDefaults, edgeTagOf } from '../simulators/index.js';
import { startHubProcess } from './dispatch-hub.js';
import { policyView, probeLogger, sqliteCommitFloor, stats, within } from './dispatch-parts.js';
import { benchDispatchSteps } from './dispatch-steps.js';
import { machine } from './machine.js';

const EDGE = 'edge-bench';
const SITE = 'site-bench';
const LIMIT_KW = 5000;
const STEP_MS = 3_600_000;
const FEEDER = 'feeder1.active_power_kw';
const SETPOINT = 'ns=1;s=BESS1.PowerSetpoint';
const SAMPLING_MS = 200;
const TRIGGER_DEBOUNCE_MS = 50; // under the sampling period: each feeder reading starts its own cycle
const DEFAULT_PERIOD_MS = 10_000; // config/edge.ts dispatch.every
const BASELINE_POLL_MS = 1_000;
const WARMUP = 3;
const TARGETS = { readingToProposalP99Ms: 5, escalationToHubP99Ms: 100, approveToSetpointP99Ms: 250 };

const log = (msg: string) => process.stderr.write(`[dispatch +${(performance.now() / 1000).toFixed(1)} s] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, d = 2) => Number(v.toFixed(d));

interface PendingRow {
  id: number;
  proposalId: string;
}

export async function benchDispatch(flags: string[]) {
  const quick = flags.includes('--quick');
  const rounds = quick ? 20 : 200;
  const dir = mkdtempSync(join(tmpdir(), 'gridos-bench-dispatch-'));
  const edgeLog = pino.destination({ dest: join(dir, 'edge.log'), sync: false });
  const cleanup: (() => Promise<void> | void)[] = [];
  try {

    // the simulator: each setpoint write seen at the server, as it happens
    const writes: { value: number; atMs: number }[] = [];
    const simLogger = probeLogger((line) => {
      if (!line.includes('"msg":"setpoint written"')) return;
      writes.push({ value: (JSON.parse(line) as { value: number }).value, atMs: performance.now() });
    });
    // the hub process and the simulator start side by side (each takes seconds on a busy machine)
    const [hubStarted, simStarted] = await Promise.allSettled([startHubProcess(dir, log), startSubstation({ ...substationDefaults, port: 0, tickMs: SAMPLING_MS, pkiDir: join(dir, 'sim-pki'), logger: simLogger })]);
    if (hubStarted.status === 'fulfilled') cleanup.push(() => hubStarted.value.stop());
    if (simStarted.status === 'fulfilled') cleanup.push(() => simStarted.value.stop());
    if (hubStarted.status === 'rejected') throw hubStarted.reason;
    if (simStarted.status === 'rejected') throw simStarted.reason;
    const hub = hubStarted.value;
    const sim = simStarted.value;

    // when each escalation reaches the hub's broker (a second subscriber beside the hub's own)
    const atBroker = new Map<string, number>();
    const watcher = await mqtt.connectAsync(hub.brokerUrl, { clientId: 'bench-dispatch-watcher' });
    cleanup.push(() => watcher.endAsync());
    watcher.on('message', (_topic, payload) => {
      const at = performance.now();
      const d = decodeEnvelope(payload);
      if (d.ok && d.value.payload.kind === 'escalation') atBroker.set(d.value.payload.escalation.proposalId, at);
    });
    await watcher.subscribeAsync(uplinkTopic(SITE, EDGE, 'escalation'), { qos: 1 });

    const keyFile = join(dir, 'decision.pub.pem');
    writeFileSync(keyFile, hub.decisionKeyPem);
    const tag = (t: string) => edgeTagOf(sim.points, t);
    const config = validateConfig(
      edgeConfigSchema,
      {
        edge: { id: EDGE, site: SITE },
        hub: { mqttUrl: hub.brokerUrl },
        storage: { dataDir: join(dir, 'edge') },
        sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: SAMPLING_MS, publishingInterval: SAMPLING_MS, tags: [tag(FEEDER), tag('feeder1.voltage_pu'), tag('bess1.soc_pct')] }],
        dispatch: {
          every: '1h',
          onReading: { tags: [FEEDER], debounce: `${TRIGGER_DEBOUNCE_MS}ms` },
          writeTimeout: '5s',
          decisionKey: keyFile,
          peakShaving: {
            forecastTarget: 'feeder1-load',
            feederTag: FEEDER,
            limitKw: LIMIT_KW,
            endpoint: sim.endpointUrl,
            battery: { setpointNodeId: SETPOINT, socTag: 'bess1.soc_pct', capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, socMinPct: 10, socMaxPct: 95 },
          },
          interlocks: { socMinPct: 15, socMaxPct: 92, voltageBandPu: [0.9, 1.1], voltageTag: 'feeder1.voltage_pu', maxStepKw: 500 },
        },
      },
      'bench edge',
    );
    const policy = policyView();
    // the feeder reading the edge saw last, and whether a cycle is being started by it right now
    let feederSeenAt = 0;
    let inTrigger = false;
    let onJournaled: ((id: string) => void) | undefined;
    const traces = new Map<string, { arrivedAt?: number; startedByReading?: boolean; formed?: number; journaled?: number; outboxed?: number }>();
    const agent = await startAgent(config, {
      logger: pino({ level: 'info' }, edgeLog),
      dispatchPolicy: () => policy, // compiled once, as the edge's active signed policy is
      dispatchTrace: (event, id) => {
        const t = performance.now();
        const r = traces.get(id) ?? {};
        if (event === 'formed') {
          r.formed = t;
          r.arrivedAt = feederSeenAt;
          r.startedByReading = inTrigger;
        } else if (event === 'journaled') r.journaled = t;
        else r.outboxed = t;
        traces.set(id, r);
        if (event === 'journaled') onJournaled?.(id);
      },
    });
    cleanup.push(() => agent.stop());
    log('simulator and edge agent started');
    const loop = agent.dispatch!;
    await agent.sourcesReady;
    const t0 = performance.now();
    while (!(['bess1.soc_pct', 'feeder1.voltage_pu', FEEDER].every((t) => agent.latest.get(t) !== undefined) && agent.uplink.connected)) {
      if (performance.now() - t0 > 30_000) throw new Error('the edge did not get its first readings and hub link in 30 s');
      await sleep(20);
    }

    // when the edge sees each feeder reading (the latest values updated, then the loop's trigger)
    const update = agent.latest.update.bind(agent.latest);
    agent.latest.update = (readings: readonly Reading[]) => {
      if (readings.some((r) => r.tagId === FEEDER)) feederSeenAt = performance.now();
      update(readings);
    };
    const onReadings = loop.onReadings.bind(loop);
    (loop as { onReadings: typeof loop.onReadings }).onReadings = (readings) => {
      inTrigger = true;
      try {
        onReadings(readings);
      } finally {
        inTrigger = false;
      }
    };
    const nextJournaled = () =>
      new Promise<string>((resolve) => {
        onJournaled = (id) => {
          onJournaled = undefined;
          resolve(id);
        };
      });

    // the naive console: the newest escalations, whatever their state, every second
    const baselineSeen = new Map<string, number>();
    let baselineOn = true;
    const baselinePoller = (async () => {
      while (baselineOn) {
        const rows = await hub.session.get<PendingRow[]>('/api/approvals?limit=20');
        const at = performance.now();
        for (const r of rows) if (!baselineSeen.has(r.proposalId)) baselineSeen.set(r.proposalId, at);
        await sleep(BASELINE_POLL_MS);
      }
    })();
    cleanup.push(async () => {
      baselineOn = false;
      await baselinePoller.catch(() => undefined);
    });

    // garbage collections of this process (simulator, agent and HTTP client share its heap): a
    // sample whose span holds one is reported apart, as what the code did not spend itself
    const gcs: { start: number; end: number }[] = [];
    const gcWatch = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    gcWatch.observe({ entryTypes: ['gc'] });
    cleanup.push(() => gcWatch.disconnect());
    const spans: { from: number; to: number }[] = [];
    const readingToFormed: number[] = [];
    const readingToProposal: number[] = [];
    const readingToOutboxed: number[] = [];
    let debouncedCycles = 0;
    const escalationToHub: number[] = [];
    const measured: string[] = [];
    const escalationToBroker: number[] = [];
    const pollRoundTrip: number[] = [];
    const approveToSetpoint: number[] = [];
    const approveToExecuted: number[] = [];
    log(`${rounds} rounds (+${WARMUP} warm-up), feeder sampled every ${SAMPLING_MS} ms`);
    for (let i = 0; i < rounds + WARMUP; i++) {
      const kw = i % 2 === 0 ? 300 : 400;
      const startMs = Date.now() - 1_000;
      const load = [LIMIT_KW + kw, LIMIT_KW + kw, 4000];
      const journaled = nextJournaled();
      agent.store.commit({
        forecasts: [{ target: 'feeder1-load', tag: FEEDER, horizon: 'hour-ahead', role: 'active', issuedAtMs: Date.now(), firstHourMs: startMs, hourMs: STEP_MS, load, p10: load.map((v) => v * 0.97), p90: load.map((v) => v * 1.03), fallbackCode: '', fallbackReason: '', latencyUs: 0 }],
      });
      const id = await within('a feeder reading and the cycle it starts', 10_000, journaled);
      const rec = loop.journal.get(id);
      if (!rec || rec.state !== 'escalated' || rec.proposal.setpoint.value !== kw) throw new Error(`round ${i}: expected one escalated ${kw} kW proposal, got ${id} (${rec?.state}, ${rec?.proposal.setpoint.value} kW)`);
      const trace = traces.get(id)!;

      // escalation -> visible at the hub API: back-to-back polls
      let row: PendingRow | undefined;
      let visibleAt = 0;
      const pollStart = performance.now();
      let polls = 0;
      while (!row) {
        if (performance.now() - pollStart > 10_000) throw new Error(`round ${i}: escalation ${id} not at the hub API in 10 s`);
        const rows = await hub.session.get<PendingRow[]>('/api/approvals?state=pending');
        visibleAt = performance.now();
        polls++;
        row = rows.find((r) => r.proposalId === id);
      }
      const pollMs = (visibleAt - pollStart) / polls;
      // approve -> the write at the simulator
      const writesBefore = writes.length;
      const approveAt = performance.now();
      await hub.session.post(`/api/approvals/${row.id}/approve`, { comment: 'bench' });
      const wStart = performance.now();
      while (!writes.slice(writesBefore).some((w) => w.value === kw)) {
        if (performance.now() - wStart > 10_000) throw new Error(`round ${i}: setpoint ${kw} kW not written in 10 s after the approval`);
        await sleep(1);
      }
      const writtenAt = writes.slice(writesBefore).find((w) => w.value === kw)!.atMs;
      while (loop.journal.get(id)!.state !== 'executed') {
        if (performance.now() - wStart > 10_000) throw new Error(`round ${i}: ${id} is ${loop.journal.get(id)!.state}, not executed, 10 s after the approval`);
        await sleep(1);
      }
      const executedAt = performance.now();
      if (i < WARMUP) continue;
      if (!trace.startedByReading) debouncedCycles++;
      readingToFormed.push(trace.formed! - trace.arrivedAt!);
      readingToProposal.push(trace.journaled! - trace.arrivedAt!);
      spans.push({ from: trace.arrivedAt!, to: trace.journaled! });
      readingToOutboxed.push(trace.outboxed! - trace.arrivedAt!);
      escalationToHub.push(visibleAt - trace.outboxed!);
      measured.push(id);
      escalationToBroker.push(atBroker.get(id)! - trace.outboxed!);
      pollRoundTrip.push(pollMs);
      approveToSetpoint.push(writtenAt - approveAt);
      approveToExecuted.push(executedAt - approveAt);
      if ((i - WARMUP + 1) % 25 === 0) log(`${i - WARMUP + 1}/${rounds}: last ${readingToProposal.at(-1)!.toFixed(2)} / ${escalationToHub.at(-1)!.toFixed(1)} / ${approveToSetpoint.at(-1)!.toFixed(1)} ms`);
    }

    const bStart = performance.now();
    while (!measured.every((id) => baselineSeen.has(id))) {
      if (performance.now() - bStart > 5_000) throw new Error('the 1 s poller missed an escalation');
      await sleep(20);
    }
    const escalationToHubBaseline = measured.map((id) => baselineSeen.get(id)! - traces.get(id)!.outboxed!);
    log('SQLite commit floor on this disk');
    const floor = sqliteCommitFloor(dir);
    log('the steps of reading -> proposal, the path as it was against as it is');
    const steps = benchDispatchSteps(mkdtempSync(join(dir, 'steps-')), quick ? 100 : 400);
    const r2p = stats(readingToProposal);
    const e2h = stats(escalationToHub);
    const a2s = stats(approveToSetpoint);
    const timer = { periodMs: DEFAULT_PERIOD_MS, p50Ms: round(0.5 * DEFAULT_PERIOD_MS + r2p.p50Ms, 1), p99Ms: round(0.99 * DEFAULT_PERIOD_MS + r2p.p99Ms, 1), measured: false };
    const baseline = stats(escalationToHubBaseline);
    return {
      bench: 'dispatch',
      machine: machine(),
      inputs: {
        rounds,
        warmup: WARMUP,
        processes: 'hub: own process (gridos hub, embedded broker); edge agent + OPC UA simulator + HTTP client: this process',
        feederSamplingMs: SAMPLING_MS,
        opcuaPublishingIntervalMs: SAMPLING_MS,
        setpointSeenAt: 'server side, synchronously on the OPC UA write (no subscription, no publishing interval in the figure)',
        hubPoll: 'back to back GET /api/approvals?state=pending, logged-in session',
        proposals: 'escalated discharges of 300 / 400 kW, each approved by one operator',
        readingTrigger: `dispatch.onReading on ${FEEDER}, debounce ${TRIGGER_DEBOUNCE_MS} ms`,
      },
      figures: {
        readingToProposalFormed: stats(readingToFormed),
        readingToProposalWithoutGc: stats(readingToProposal.filter((_, k) => !gcs.some((g) => g.start < spans[k]!.to && g.end > spans[k]!.from))),
        readingToProposal: r2p,
        readingToEscalationDurable: stats(readingToOutboxed),
        cyclesNotStartedByTheirReading: debouncedCycles,
        escalationToHub: { ...e2h, pollRoundTripP50Ms: stats(pollRoundTrip).p50Ms, ofWhichToBroker: stats(escalationToBroker) },
        approveToSetpoint: a2s,
        approveToExecuted: stats(approveToExecuted),
        sqliteCommitFloor: floor,
        steps,
        baseline: { escalationToHubPolling1s: baseline, readingToProposalTimer10s: timer, readingToProposalStepsBefore: steps.before.total },
        speedup: { escalationToHubP50: round(baseline.p50Ms / e2h.p50Ms, 1), readingToProposalStepsP50: round(steps.before.total.p50Ms / steps.after.total.p50Ms, 1), readingToProposalStepsP99: round(steps.before.total.p99Ms / steps.after.total.p99Ms, 1) },
      },
      targets: {
        ...TARGETS,
        met: { readingToProposal: r2p.p99Ms <= TARGETS.readingToProposalP99Ms, escalationToHub: e2h.p99Ms <= TARGETS.escalationToHubP99Ms, approveToSetpoint: a2s.p99Ms <= TARGETS.approveToSetpointP99Ms },
      },
    };
  } finally {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    edgeLog.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
