/**
 * The dispatch loop's process images, kept: each cycle that ran the controller records what it
 * saw (time, state of charge, voltage, feeder load, the forecast, whether the hub was reachable,
 * which policy) and the controller's settings, in `<dataDir>/dispatch.db` (table
 * `dispatch_cycles`, its own connection beside the journal's). A backtest on the edge's store
 * (replay.ts) replays exactly these inputs through the controller and a policy, so what it reports
 * for the same policy is what the loop decided live, and for another policy, what that one would
 * have decided on the same day. Append-only; rows are small (one forecast each).
 * Committed without an fsync (WAL, `synchronous = NORMAL`: a process crash keeps it, a power cut
 * may lose the last rows): it is for the backtest, not for safety, and the loop records it after
 * the cycle's proposals are journaled, so it adds nothing to the path from reading to proposal.
 * Its connection is also the one that checkpoints the file's WAL (SQLite's default, every 1000
 * pages): the loop opens the journal with `autoCheckpoint: false`, so no journal commit pays for it.
 */
import Database from 'better-sqlite3';
import type { ForecastInput } from './controllers/peak-shaving.js';
import type { BatteryLimits } from './controllers/peak-shaving-plan.js';
import { openSqliteFile } from '../store/sqlite-file.js';

/** The controller's settings, as the loop ran it. */
export interface RecordedController {
  edgeId: string;
  siteId: string;
  assetId: string;
  setpointPoint: string;
  limitKw: number;
  basis: 'load' | 'p90';
  battery: BatteryLimits;
}

/** One cycle's process image. */
export interface RecordedCycle {
  nowMs: number;
  socPct: number | null;
  voltagePu: number | null;
  feederKw: number | null;
  forecast: ForecastInput | null;
  hubReachable: boolean;
  policy: { id: string; version: number } | null;
  controller: RecordedController;
}

export const CYCLES_TABLE = 'dispatch_cycles';

export class CycleLog {
  private readonly db: Database.Database;
  private readonly insert;

  constructor(file: string) {
    this.db = openSqliteFile(file, { synchronous: 'NORMAL' });
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${CYCLES_TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT, now_ms INTEGER NOT NULL, cycle_json TEXT NOT NULL)`);
    this.insert = this.db.prepare<[number, string]>(`INSERT INTO ${CYCLES_TABLE} (now_ms, cycle_json) VALUES (?, ?)`);
  }

  record(c: RecordedCycle): void {
    this.insert.run(Math.floor(c.nowMs), JSON.stringify(c));
  }

  close(): void {
    this.db.close();
  }
}

/** Every recorded cycle in [fromMs, toMs) of a dispatch.db, in order; [] when the file has none. */
export function readRecordedCycles(file: string, fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): RecordedCycle[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(CYCLES_TABLE)) return [];
    const rows = db.prepare<[number, number], { cycle_json: string }>(`SELECT cycle_json FROM ${CYCLES_TABLE} WHERE now_ms >= ? AND now_ms < ? ORDER BY seq`).all(fromMs, toMs);
    return rows.map((r) => JSON.parse(r.cycle_json) as RecordedCycle);
  } finally {
    db.close();
  }
}
