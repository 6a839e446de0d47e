/**
 * Backpressure (pure; the caller owns the timer): when the store falls behind, the sources are
 * asked to stop taking data in for a while, rather than letting what they receive pile up in
 * memory.
 *
 * A commit slower than `slowCommitMs` pauses the sources for as long as that commit took
 * (at least `minPauseMs`, at most `maxPauseMs`): a store twice as slow gets twice the rest.
 * While paused, MQTT sources keep their broker acknowledgements (the broker stops sending at
 * its in-flight limit and keeps the rest queued), OPC UA disables its subscription's
 * publishing, replay stops its clock.
 */
export interface FlowControlOptions {
  slowCommitMs: number;
  minPauseMs: number;
  maxPauseMs: number;
}

export class FlowControl {
  /** Resume at this time (ms); 0 while running. */
  pausedUntilMs = 0;
  pauses = 0;

  constructor(private readonly options: FlowControlOptions) {}

  /** Reports a commit's duration; returns how long to pause for (0: keep going). */
  onCommit(durationMs: number, nowMs: number): number {
    if (durationMs <= this.options.slowCommitMs) return 0;
    const pauseMs = Math.min(this.options.maxPauseMs, Math.max(this.options.minPauseMs, durationMs));
    if (this.pausedUntilMs === 0) this.pauses++;
    this.pausedUntilMs = Math.max(this.pausedUntilMs, nowMs + pauseMs);
    return pauseMs;
  }

  /** True when the pause is over (the caller then resumes the sources). */
  due(nowMs: number): boolean {
    if (this.pausedUntilMs === 0 || nowMs < this.pausedUntilMs) return false;
    this.pausedUntilMs = 0;
    return true;
  }
}
