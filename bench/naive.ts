/**
 * The naive design the ingest benchmark compares against, in processes of its own:
 *  - `publisher`: one JSON message per reading, QoS 1, at a rate it is told on stdin;
 *  - `agent`: for each message, JSON.parse, one SQLite row (its own transaction, WAL,
 *    synchronous=NORMAL: kinder than the real agent's FULL) and one JSON message forwarded
 *    upstream at QoS 1. No batching anywhere: what many edge flows look like.
 * Both print counters as JSON lines on stdout every 250 ms.
 *
 *   node dist/bench/naive.js publisher '{"url":"mqtt://127.0.0.1:1883","rate":10000}'
 *   node dist/bench/naive.js agent '{"url":"mqtt://127.0.0.1:1883","db":"/tmp/naive.db"}'
 */
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { createInterface } from 'node:readline';

const [mode, json] = [process.argv[2], process.argv[3] ?? '{}'];
const opts = JSON.parse(json) as { url: string; rate?: number; db?: string; tags?: number };
const emit = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

if (mode === 'publisher') {
  const client = mqtt.connect(opts.url, { clientId: `naive-pub-${process.pid}` });
  await new Promise((r) => client.once('connect', r));
  let rate = opts.rate ?? 0;
  let published = 0;
  let acked = 0;
  const tags = opts.tags ?? 500;
  let owed = 0;
  let last = performance.now();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = JSON.parse(line) as { rate?: number; stop?: boolean };
    if (cmd.rate !== undefined) rate = cmd.rate;
    if (cmd.stop) {
      rate = 0;
      setTimeout(() => {
        emit({ published, acked });
        process.exit(0);
      }, 500);
    }
  });
  setInterval(() => {
    const now = performance.now();
    owed += (rate * (now - last)) / 1000;
    last = now;
    // never more than a second of backlog in mqtt.js: the broker or agent is the limit, not this
    const limit = Math.min(Math.floor(owed), Math.max(0, rate - (published - acked)));
    for (let i = 0; i < limit; i++) {
      const tag = `naive.t${published % tags}`;
      client.publish(`naive/${tag}`, JSON.stringify({ tag, ts: Date.now() * 1000 + (published % 1000), value: Math.random() * 100 }), { qos: 1 }, () => acked++);
      published++;
    }
    owed -= limit;
  }, 10);
  setInterval(() => emit({ published, acked }), 250);
} else if (mode === 'agent') {
  const db = new Database(opts.db!);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS readings (tag TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (tag, ts))');
  const insert = db.prepare('INSERT OR IGNORE INTO readings VALUES (?, ?, ?)');
  const client = mqtt.connect(opts.url, { clientId: `naive-agent-${process.pid}`, clean: false });
  let stored = 0;
  // Acknowledged to the broker after the row is in, like the real agent, one message at a time.
  client.handleMessage = (packet, done) => {
    const r = JSON.parse(packet.payload.toString()) as { tag: string; ts: number; value: number };
    insert.run(r.tag, r.ts, r.value);
    stored++;
    client.publish(`naive-up/${r.tag}`, JSON.stringify(r), { qos: 1 });
    done();
  };
  client.on('connect', () => client.subscribe('naive/#', { qos: 1 }, () => emit({ ready: true })));
  setInterval(() => emit({ stored }), 250);
  process.on('SIGTERM', () => {
    emit({ stored });
    db.close();
    process.exit(0);
  });
}
