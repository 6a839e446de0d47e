/**
 * A Sparkplug B edge node in a process of its own, for benchmarks: the load generator must not
 * share an event loop (or a core's scheduling) with what it measures.
 *
 *   node dist/simulators/sparkplug/publisher-process.js '{"url":"mqtt://127.0.0.1:1883","ratePerSec":600000}'
 *
 * Options: the JSON object on argv[2], else in GRIDOS_SPARKPLUG_OPTIONS; any SparkplugNodeOptions
 * field but the logger, plus `logLevel` (default warn). Commands, one JSON object per line on
 * stdin or as IPC messages (when started with an IPC channel):
 *   {"rate": 200000}                    metrics per second from now on
 *   {"counters": true}                  print the counters
 *   {"fault": "skipSeq", "args": [3]}   one of the node's fault methods
 *   {"stop": true}                      clean stop (NDEATH, DISCONNECT), final counters, exit 0
 * Output on stdout, one JSON object per line: {"event":"ready",...} once the births are out,
 * {"event":"counters","atMs":...,"counters":{...}}, {"event":"stopped","atMs":...,"counters":{...}},
 * {"event":"error","message":...} for a command refused. Logs (pino) go to stderr. SIGINT,
 * SIGTERM, and the end of stdin or of the IPC channel stop as {"stop": true} does.
 * Exit codes: 0 stopped, 1 failed, 2 invalid options.
 */
import { fstatSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import type { SparkplugNode } from './handle.js';
import { startSparkplugNode } from './node.js';
import { sparkplugNodeDefaults, SparkplugOptionsError, type SparkplugNodeOptions } from './options.js';

const FAULTS = ['stuck', 'spike', 'skipSeq', 'malformed', 'truncated', 'clearFaults', 'killDevice', 'reviveDevice', 'rebirth', 'dropConnection'] as const;
type Fault = (typeof FAULTS)[number];

interface Command {
  rate?: number;
  counters?: boolean;
  fault?: Fault;
  args?: unknown[];
  stop?: boolean;
}

const emit = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

function readOptions(): Partial<SparkplugNodeOptions> & { logLevel?: string } {
  const text = process.argv[2] ?? process.env.GRIDOS_SPARKPLUG_OPTIONS ?? '{}';
  try {
    return JSON.parse(text) as Partial<SparkplugNodeOptions> & { logLevel?: string };
  } catch (err) {
    throw new SparkplugOptionsError([`options: expected a JSON object on argv or in GRIDOS_SPARKPLUG_OPTIONS, got '${text}' (${String(err)})`]);
  }
}

async function main(): Promise<void> {
  const { logLevel, ...given } = readOptions();
  const logger = pino({ level: logLevel ?? 'warn', base: { name: 'sparkplug-publisher', pid: process.pid } }, pino.destination(2));
  const node: SparkplugNode = await startSparkplugNode({ ...sparkplugNodeDefaults, ...given, logger });
  const counters = (event: string): void => emit({ event, atMs: Date.now(), counters: node.counters() });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    node.stop().then(
      () => {
        counters('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        counters('stopped');
        process.exit(1);
      },
    );
  };

  const handle = (cmd: Command): void => {
    try {
      if (cmd.rate !== undefined) node.setRate(cmd.rate);
      if (cmd.fault !== undefined) {
        if (!FAULTS.includes(cmd.fault)) throw new Error(`unknown fault '${cmd.fault}' (one of ${FAULTS.join(', ')})`);
        (node[cmd.fault] as (...a: unknown[]) => unknown)(...(cmd.args ?? []));
      }
      if (cmd.counters) counters('counters');
      if (cmd.stop) stop();
    } catch (err) {
      emit({ event: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  };

  const stdin = fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line.trim() === '') return;
      try {
        handle(JSON.parse(line) as Command);
      } catch (err) {
        emit({ event: 'error', message: `expected one JSON object per line: ${String(err)}` });
      }
    });
    // A parent that dies closes the pipe: stop rather than publish on as an orphan.
    lines.on('close', stop);
  }
  if (process.send) {
    process.on('message', (m) => handle(m as Command));
    process.on('disconnect', stop);
  }
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  emit({ event: 'ready', clientId: node.clientId, metrics: node.metrics.length, pid: process.pid });
}

main().catch((err: unknown) => {
  process.stderr.write(`sparkplug publisher: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof SparkplugOptionsError ? 2 : 1);
});
