/**
 * Sensor quality checks on one tag's good readings, in arrival order (pure):
 *  - stuck: the same value `stuckSamples` times in a row (a frozen transducer or a dead RTU
 *    that keeps repeating its last value);
 *  - spike: further than `spikeSigma` standard deviations from the tag's recent mean, once
 *    `spikeWarmup` readings have built that mean. Mean and variance are exponentially weighted
 *    over about `spikeWarmup` readings, and a spike does not feed them (it would widen the band
 *    that is meant to catch the next one).
 * A check whose setting is 0 is off.
 */
import { ReadingFlag } from '../../protocols/index.js';

export interface QualityRule {
  stuckSamples: number;
  spikeSigma: number;
  spikeWarmup: number;
}

export const NO_QUALITY_CHECKS: QualityRule = { stuckSamples: 0, spikeSigma: 0, spikeWarmup: 30 };

export class TagQuality {
  private last = Number.NaN;
  private repeats = 0;
  private n = 0;
  private mean = 0;
  private variance = 0;

  constructor(private readonly rule: QualityRule) {}

  /** The ReadingFlag bits this value earns (0 when it looks healthy). */
  assess(value: number): number {
    const { stuckSamples, spikeSigma, spikeWarmup } = this.rule;
    let flags = 0;
    if (stuckSamples > 0) {
      if (value === this.last) this.repeats++;
      else {
        this.last = value;
        this.repeats = 1;
      }
      if (this.repeats >= stuckSamples) flags |= ReadingFlag.Stuck;
    }
    if (spikeSigma > 0) {
      const deviation = value - this.mean;
      if (this.n >= spikeWarmup && Math.abs(deviation) > spikeSigma * Math.sqrt(this.variance) && this.variance > 0) {
        return flags | ReadingFlag.Spike;
      }
      const alpha = this.n < spikeWarmup ? 1 / (this.n + 1) : 2 / (spikeWarmup + 1);
      this.mean += alpha * deviation;
      this.variance = (1 - alpha) * (this.variance + alpha * deviation * deviation);
      this.n++;
    }
    return flags;
  }
}
