/**
 * Replay source: plays an hourly load file (`timestamp,load[,temp]`, as in simulators/data) as a
 * stream of readings at a configured rate, each tag cycling through its column, stamped with
 * the wall clock (strictly increasing per tag). For demos, load tests and fault tests that
 * need more readings per second than a simulated device serves; it goes through the same
 * pipeline as any other source.
 *
 * Emits: one Reading[] every `batchIntervalMs`, readingsPerSecond x interval readings, round
 * robin over the tags.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Subject } from 'rxjs';
import type { ReplaySourceConfig } from '../../config/index.js';
import { Quality, type Reading } from '../../protocols/index.js';
import type { Source, SourceState, SourceStats } from './source.js';

export interface ReplayDeps {
  logger: Logger;
  now?: () => number;
}

/** The finite values of a column of an hourly load file, in file order. */
export function readColumn(text: string, column: 'load' | 'temp'): number[] {
  const index = column === 'load' ? 1 : 2;
  const values: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cell = line.split(',')[index];
    if (cell === undefined || cell.trim() === '') continue;
    const v = Number(cell);
    if (Number.isFinite(v)) values.push(v);
  }
  return values;
}

export class ReplaySource implements Source {
  readonly kind = 'replay';
  readonly name: string;
  private readonly subject = new Subject<Reading[]>();
  readonly readings$ = this.subject.asObservable();
  private _state: SourceState = 'idle';
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private readonly now: () => number;

  constructor(
    private readonly config: ReplaySourceConfig,
    private readonly deps: ReplayDeps,
  ) {
    this.name = config.name;
    this.now = deps.now ?? Date.now;
  }

  get state(): SourceState {
    return this._state;
  }

  async start(): Promise<void> {
    const text = readFileSync(this.config.file, 'utf8');
    const tags = this.config.tags.map((t) => {
      const values = readColumn(text, t.column);
      if (values.length === 0) throw new Error(`${this.config.file}: no ${t.column} values for tag ${t.id}`);
      return { id: t.id, scale: t.scale, values, next: 0, lastTsMs: 0 };
    });
    const perBatch = Math.max(1, Math.round((this.config.readingsPerSecond * this.config.batchIntervalMs) / 1000));
    let turn = 0;
    this.timer = setInterval(() => {
      // paused: the replayed clock simply does not advance, as a device that is not polled
      if (this.paused) return;
      const now = this.now();
      const batch = new Array<Reading>(perBatch);
      for (let i = 0; i < perBatch; i++) {
        const tag = tags[turn++ % tags.length]!;
        const tsMs = Math.max(now, tag.lastTsMs + 1);
        tag.lastTsMs = tsMs;
        batch[i] = { tagId: tag.id, tsMs, value: tag.values[tag.next]! * tag.scale, quality: Quality.Good };
        tag.next = (tag.next + 1) % tag.values.length;
      }
      this.subject.next(batch);
    }, this.config.batchIntervalMs);
    this._state = 'connected';
    this.deps.logger.info({ source: this.name, kind: 'replay', file: this.config.file, readingsPerSecond: this.config.readingsPerSecond }, 'replay source started');
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  stats(): SourceStats {
    return { reconnects: 0, rejected: {} };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this._state = 'stopped';
    this.subject.complete();
  }
}
