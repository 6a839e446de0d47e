/**
 * `gridos demo`: the whole loop on loopback, on embedded defaults. A hub (embedded broker, console,
 * approvals, the TUF registry at /tuf/), two simulated substations on OPC UA (North and South,
 * bin/demo-scenario.ts) and one edge per substation that forecasts and dispatches its battery
 * under the demo policy, signed and delivered the real way (bin/demo-registry.ts). Demo users are
 * created on the first run (bin/demo-users.ts). At exit, a summary (bin/demo-summary.ts): human
 * text, then one JSON line, on stdout. Exit 0 only when everything stopped cleanly.
 */
import { Command, Option } from 'commander';
import { createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { edgeConfigSchema, hubConfigSchema, validateConfig, type HubConfigInput } from '../config/index.js';
import type { Agent } from '../edge/index.js';
import type { SubstationHandle } from '../simulators/index.js';
import { prepareDemoRegistry } from './demo-registry.js';
import { DEMO_START, DEMO_SUBSTATIONS, demoEdgeConfig } from './demo-scenario.js';
import { demoSummary, edgeSummary, summaryJson, summaryText, type EdgeFacts } from './demo-summary.js';
import { credentialsText, ensureDemoUsers } from './demo-users.js';
import { createLogger, type LogFormat } from './logger.js';
import { dateOption, EXIT_CONFIG, intOption, onShutdown, positiveNumber } from './options.js';

interface DemoOptions {
  duration?: number;
  dataDir: string;
  httpPort: number;
  mqttPort: number;
  opcuaPort: number;
  hourSeconds: number;
  start: Date;
  policy: string;
}

const asset = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const DEFAULT_POLICY = asset('../config/policy.demo.yaml');

/** The hub's public decision key, exported from the private key the hub keeps, for the edges. */
function exportDecisionKey(hubDataDir: string): string {
  const file = join(hubDataDir, 'decision-key.pub.pem');
  const pem = createPublicKey(readFileSync(join(hubDataDir, 'decision-key.pem'))).export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(file, pem);
  return file;
}

/**
 * Each demo edge's audit key, made in its data dir before it starts, registered at the hub as an
 * operator would after `gridos audit key` (so the hub mirrors the edges' audit chains, no key alarm).
 */
async function registerDemoEdgeKeys(dataDir: string, hubDataDir: string, edgeIds: readonly string[]): Promise<Record<string, string>> {
  const { loadOrCreateEdgeKey } = await import('../edge/audit/index.js');
  mkdirSync(join(hubDataDir, 'edge-keys'), { recursive: true });
  const files: Record<string, string> = {};
  for (const edgeId of edgeIds) {
    const file = join(hubDataDir, 'edge-keys', `${edgeId}.pub.pem`);
    writeFileSync(file, loadOrCreateEdgeKey(join(dataDir, edgeId)).publicKeyPem);
    files[edgeId] = file;
  }
  return files;
}

export async function runDemo(opts: DemoOptions, logFormat: LogFormat, logLevel: string): Promise<void> {
  const logger = createLogger({ level: logLevel, format: logFormat, name: 'gridos-demo' });
  // The stores outlive a run (the data dir is kept): the summary counts what happened since this instant.
  const runStartMs = Date.now();
  const dataDir = resolve(opts.dataDir);
  const hubDir = join(dataDir, 'hub');
  mkdirSync(hubDir, { recursive: true });
  // Loaded here, not at the top: `gridos edge` on a gateway should not pay for the hub and simulators.
  const [{ buildHub }, { startAgent }, { startSubstation, substationDefaults }, { readSeriesCsv }, { ApprovalStore }] = await Promise.all([
    import('../hub/index.js'),
    import('../edge/index.js'),
    import('../simulators/index.js'),
    import('../models/series.js'),
    import('../hub/approvals/index.js'),
  ]);

  const edges = DEMO_SUBSTATIONS.map((s) => ({ edgeId: s.edgeId, siteId: s.site }));
  let registry: Awaited<ReturnType<typeof prepareDemoRegistry>>;
  try {
    registry = await prepareDemoRegistry(join(dataDir, 'registry'), resolve(opts.policy), edges);
  } catch (err) {
    // an invalid or changed policy file, a damaged repository: said plainly, nothing started
    const code = (err as { code?: unknown }).code;
    process.stderr.write(`gridos demo: cannot release the demo policy${typeof code === 'string' ? ` (${code})` : ''}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT_CONFIG);
  }
  // A config file for `gridos hub user passwd -c ...` on this demo's users.
  writeFileSync(join(dataDir, 'hub.yaml'), `# written by gridos demo: the demo hub's store, for gridos hub user ... -c ${join(dataDir, 'hub.yaml')}\nstorage:\n  dataDir: ${JSON.stringify(hubDir)}\n`);
  const hubDoc: HubConfigInput = {
    http: { host: '127.0.0.1', port: opts.httpPort },
    broker: { mode: 'embedded', host: '127.0.0.1', port: opts.mqttPort },
    storage: { dataDir: hubDir },
    registry: { dir: registry.repoDir },
    audit: { edgeKeys: await registerDemoEdgeKeys(dataDir, hubDir, edges.map((e) => e.edgeId)) },
  };
  const hub = await buildHub(validateConfig(hubConfigSchema, { ...hubDoc }, 'demo hub config'), { logger });
  const { httpUrl, brokerUrl } = await hub.start();
  const users = await ensureDemoUsers(hub.users, Date.now());
  const decisionKeyFile = exportDecisionKey(hubDir);

  const hourMs = Math.round(opts.hourSeconds * 1000);
  const peaks = new Map<string, number>();
  const seriesPeak = (name: string): number => {
    if (!peaks.has(name)) peaks.set(name, readSeriesCsv(asset(`../simulators/data/${name}.csv`)).load.reduce((m, v) => (v > m ? v : m), 0));
    return peaks.get(name)!;
  };
  const sims: SubstationHandle[] = [];
  const agents: Agent[] = [];
  let stopRequested = false;
  const start = async (): Promise<void> => {
    for (const [i, s] of DEMO_SUBSTATIONS.entries()) {
      if (stopRequested) return;
      const sim = await startSubstation({
        ...substationDefaults,
        port: opts.opcuaPort === 0 ? 0 : opts.opcuaPort + i,
        hourSeconds: opts.hourSeconds,
        startSimTime: opts.start,
        pkiDir: join(dataDir, 'sim', s.site, 'pki'),
        logger: logger.child({ component: 'simulator', site: s.site }),
        series: s.series,
        feederPeaksKw: s.feederPeaksKw,
        battery: s.battery,
      });
      sims.push(sim);
      const doc = demoEdgeConfig(s, {
        brokerUrl,
        tufUrl: `${httpUrl}/tuf/`,
        trustedRoot: registry.trustedRoot,
        decisionKeyFile,
        endpointUrl: sim.endpointUrl,
        points: sim.points,
        dataDir: join(dataDir, s.edgeId),
        hourMs,
        start: opts.start,
        modelDir: (name) => asset(`../models/artifacts/${name}`),
        dataFile: (name) => asset(`../simulators/data/${name}.csv`),
        seriesPeak,
      });
      agents.push(await startAgent(validateConfig(edgeConfigSchema, doc, `demo edge config (${s.edgeId})`), { logger }));
    }
  };

  let startup: Promise<void> | undefined;
  let stopping: Promise<number> | undefined;
  /** Stops everything, prints the summary, resolves to the exit code (0: all stopped cleanly). */
  const stop = (): Promise<number> =>
    (stopping ??= (async () => {
      stopRequested = true;
      const errors: string[] = [];
      // a stop during startup waits for the component being started, then stops what runs
      await startup?.catch((err: unknown) => errors.push(`start: ${err instanceof Error ? err.message : String(err)}`));
      const attempt = async (what: string, fn: () => Promise<void>) => {
        try {
          await fn();
        } catch (err) {
          errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        }
      };
      const facts: Omit<EdgeFacts, 'escalations' | 'forecasts' | 'tags'>[] = [];
      for (const [i, a] of agents.entries()) {
        const s = DEMO_SUBSTATIONS[i]!;
        const p = a.policy?.current();
        // the journal closes with the agent: read it first
        facts.push({ edgeId: s.edgeId, site: s.site, policy: p ? { policyId: p.policyId, version: p.version } : undefined, journal: (a.dispatch?.journal.all() ?? []).filter((r) => r.createdMs >= runStartMs) });
        await attempt(`edge ${s.edgeId}`, () => a.stop());
      }
      for (const [i, sim] of sims.entries()) await attempt(`simulator ${DEMO_SUBSTATIONS[i]!.site}`, () => sim.stop());
      const approvals = new ApprovalStore(hub.store.sqlite());
      approvals.expire(Date.now());
      const escalations = approvals.list(undefined, 100_000);
      const summaries = facts.map((f) =>
        edgeSummary({
          ...f,
          escalations: escalations.filter((e) => e.edgeId === f.edgeId && e.receivedMs >= runStartMs),
          forecasts: hub.store.forecasts(f.edgeId, undefined, 0, Number.MAX_SAFE_INTEGER, 100_000).filter((x) => x.issuedAtMs >= runStartMs),
          tags: hub.store.tags(f.edgeId),
        }),
      );
      await attempt('hub', () => hub.stop());
      const summary = demoSummary(summaries, errors);
      // the logger buffers: flush it first, so the JSON line is the last line on stdout
      await new Promise<void>((ok) => logger.flush(() => ok()));
      await new Promise<void>((ok) => process.stdout.write(summaryText(summary) + summaryJson(summary), () => ok()));
      return summary.stoppedCleanly ? 0 : 1;
    })());

  const exitAfter = (): void => {
    stop().then(
      (code) => process.exit(code),
      (err: unknown) => {
        process.stderr.write(`gridos demo: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  onShutdown(async () => {
    if ((await stop()) !== 0) throw new Error('not everything stopped cleanly (see the summary)');
  });
  // --duration counts from the start of the command, startup included, so a run is bounded
  if (opts.duration !== undefined) setTimeout(exitAfter, Math.max(0, opts.duration * 1000 - (Date.now() - runStartMs)));
  startup = start();
  try {
    await startup;
  } catch (err) {
    process.stderr.write(`gridos demo: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(await stop());
  }
  if (stopRequested) return;

  process.stderr.write(
    `\ngridos demo is running\n` +
      `${credentialsText(users, `${httpUrl}/`, `-c ${join(dataDir, 'hub.yaml')}`)}\n` +
      `  broker:   ${brokerUrl}\n` +
      DEMO_SUBSTATIONS.map((s, i) => `  ${s.site.padEnd(17)} OPC UA ${sims[i]!.endpointUrl}, edge ${s.edgeId}, feeder 1 limit ${s.limitKw} kW, battery ${s.battery.maxDischargeKw} kW\n`).join('') +
      `  policy:   ${registry.policyTarget} ${registry.released ? 'signed and published' : 'already published'} at ${httpUrl}/tuf/ (keys in ${join(dataDir, 'registry', 'keys')})\n` +
      `  data:     ${dataDir}\n` +
      `  1 simulated hour every ${opts.hourSeconds} s from ${opts.start.toISOString().slice(0, 16).replace('T', ' ')} (substation time): the afternoon peak comes at once;\n` +
      `  North shaves it by itself, South's larger discharge waits for an operator under Approvals.\n` +
      `  ${opts.duration ? `Stops ${opts.duration} s after it was started.` : 'Ctrl-C stops.'}\n\n`,
  );
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the whole loop on loopback: hub with console and approvals, two simulated substations, two edges that forecast and dispatch under a signed policy')
    .addOption(new Option('-d, --duration <seconds>', 'stop by itself this many seconds after the start, startup included (then print the summary)').argParser(positiveNumber))
    .option('--data-dir <dir>', 'where the demo keeps its stores, demo keys, TUF repository and certificates (kept between runs)', './var/demo')
    .addOption(new Option('--http-port <port>', 'hub console and API port (0 picks a free one)').argParser(intOption(0, 65535)).default(8080))
    .addOption(new Option('--mqtt-port <port>', 'embedded MQTT broker port (0 picks a free one)').argParser(intOption(0, 65535)).default(1883))
    .addOption(new Option('--opcua-port <port>', 'OPC UA port of substation North; South uses the next one (0 picks free ones)').argParser(intOption(0, 65534)).default(4840))
    .addOption(new Option('--hour-seconds <s>', 'real seconds per simulated hour').argParser(positiveNumber).default(60))
    .addOption(new Option('--start <time>', 'simulated start time (substation local time)').argParser(dateOption).default(DEMO_START, DEMO_START.toISOString().slice(0, 16)))
    .addOption(new Option('--policy <file.yaml>', 'the dispatch policy to sign, publish and assign to both edges (raise its version to release a change)').default(DEFAULT_POLICY, 'config/policy.demo.yaml'))
    .addHelpText(
      'after',
      '\nOn the first run the demo creates its users (operator, supervisor, supervisor2, viewer) and prints\n' +
        'their passwords once on stderr, with the console URL. At exit it prints a summary on stdout: per edge,\n' +
        'proposals by outcome, executed setpoints, pending approvals, forecasts; its last line is the same as\n' +
        'JSON ({"gridosDemoSummary": ...}). Exit code 0 when everything stopped cleanly. Loopback only.',
    )
    .action(async (opts: DemoOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<{ logFormat: LogFormat; logLevel?: string }>();
      await runDemo(opts, global.logFormat, global.logLevel ?? 'info');
    });
}
