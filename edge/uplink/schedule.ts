/**
 * Which waiting message goes on the wire next (pure). Control, audit and event lanes go first,
 * in that order. Aggregates and telemetry then share the link between live data (created since
 * the current connection began) and backlog (older), by `backlogShare`, so a long backfill does
 * not starve fresh readings and fresh readings do not stall the backfill.
 */
import { Lane } from '../store/lanes.js';

export interface Candidate {
  seq: number;
  lane: Lane;
}

export class LinkShare {
  private live = 0;
  private backlog = 0;

  constructor(readonly backlogShare: number) {}

  /** Picks from the live or backlog queue; mutates neither, returns which. */
  choose(liveWaiting: boolean, backlogWaiting: boolean): 'live' | 'backlog' | undefined {
    if (!liveWaiting && !backlogWaiting) return undefined;
    if (!backlogWaiting) return 'live';
    if (!liveWaiting) return 'backlog';
    return this.backlog < this.backlogShare * (this.live + this.backlog + 1) ? 'backlog' : 'live';
  }

  sent(which: 'live' | 'backlog'): void {
    if (which === 'live') this.live++;
    else this.backlog++;
  }

  reset(): void {
    this.live = 0;
    this.backlog = 0;
  }
}

export const PRIORITY_LANES: readonly Lane[] = [Lane.Control, Lane.Audit, Lane.Event];
export const BULK_LANES: readonly Lane[] = [Lane.Aggregate, Lane.Telemetry];
