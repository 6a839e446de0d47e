/**
 * `npm run bench -- <name>`: runs one benchmark (or all) and prints its result as JSON.
 * Every benchmark compares against a baseline measured in the same run: ratios hold on a noisy
 * machine, absolute figures do not.
 */
import { benchCodec } from './codec.js';
import { benchOutbox } from './outbox-write.js';
import { benchBackfill } from './backfill-drain.js';
import { benchIngest } from './ingest.js';
import { benchIngestStages } from './ingest-stages.js';
import { benchPolicy } from './policy.js';
import { benchForecast } from './forecast.js';
import { benchConsole } from './console.js';
import { benchDispatch } from './dispatch.js';

const benches: Record<string, (args: string[]) => unknown> = {
  codec: benchCodec,
  outbox: benchOutbox,
  backfill: benchBackfill,
  ingest: benchIngest,
  'ingest-stages': benchIngestStages,
  policy: benchPolicy,
  forecast: benchForecast,
  dispatch: benchDispatch,
  console: benchConsole,
};

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
const unknown = names.filter((n) => !(n in benches));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${Object.keys(benches).join(', ')}\n`);
  process.exit(2);
}
for (const name of names.length > 0 ? names : Object.keys(benches)) {
  process.stdout.write(JSON.stringify(await benches[name]!(flags)) + '\n');
}
