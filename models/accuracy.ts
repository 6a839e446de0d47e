/** Forecast accuracy, accumulated one (forecast, actual) pair at a time; missing actuals are skipped. */
export interface Accuracy {
  n: number;
  /** Mean absolute percentage error, in percent. */
  mape: number;
  mae: number;
  rmse: number;
  /** Mean of forecast - actual: positive means the model forecasts too high. */
  bias: number;
  /** Share of actuals inside the p10-p90 band, when bands were given. */
  bandCoverage?: number;
}

export class AccuracyMeter {
  private n = 0;
  private ape = 0;
  private ae = 0;
  private se = 0;
  private err = 0;
  private banded = 0;
  private inside = 0;

  add(forecast: number, actual: number, p10?: number, p90?: number): void {
    if (!Number.isFinite(actual) || !Number.isFinite(forecast) || actual === 0) return;
    const e = forecast - actual;
    this.n++;
    this.ape += Math.abs(e / actual);
    this.ae += Math.abs(e);
    this.se += e * e;
    this.err += e;
    if (p10 !== undefined && p90 !== undefined) {
      this.banded++;
      if (actual >= p10 && actual <= p90) this.inside++;
    }
  }

  addAll(forecast: ArrayLike<number>, actual: ArrayLike<number>, p10?: ArrayLike<number>, p90?: ArrayLike<number>): void {
    for (let i = 0; i < actual.length; i++) this.add(forecast[i]!, actual[i]!, p10?.[i], p90?.[i]);
  }

  result(): Accuracy {
    const n = this.n;
    const r: Accuracy = {
      n,
      mape: n ? (100 * this.ape) / n : NaN,
      mae: n ? this.ae / n : NaN,
      rmse: n ? Math.sqrt(this.se / n) : NaN,
      bias: n ? this.err / n : NaN,
    };
    if (this.banded > 0) r.bandCoverage = this.inside / this.banded;
    return r;
  }
}
