/**
 * The over-voltage controller: when the feeder voltage is above the band while PV produces, it
 * proposes curtailing the PV output in proportion to the excess, and releases the curtailment,
 * with hysteresis, once the voltage is back under a lower threshold. Pure: a function of the
 * snapshot (voltage, PV output, the curtailment in force, the time).
 *
 * Curtailment is a share of what the PV could produce now (its available output), 0-100 %:
 *  - voltage > vHighPu and PV output >= minPvKw: new = clamp(inForce + gain x (V - vHighPu)),
 *    so a first step is proportional to the excess and a persisting excess adds to it each cycle;
 *  - vReleasePu <= voltage <= vHighPu: hold what is in force (the hysteresis band), no proposal;
 *  - voltage < vReleasePu with a curtailment in force: release by releaseStepPct (all by default).
 * A release loosens a constraint, returning towards normal operation: it is returned under
 * `releases` (sealed and hashed, for the audit trail), not as a proposal for the policy gate.
 * The setpoint is the PV plant's output limit in % of its capacity (the simulator's
 * `pv1.curtailment_limit_pct`): available x (1 - curtailment) / capacity.
 */
import { num } from '../../policy/reasons.js';
import { sealProposal } from '../proposal.js';
import { DispatchError, type Proposal } from '../types.js';

export interface OverVoltageConfig {
  controllerId?: string;
  edgeId: string;
  siteId: string;
  assetId: string;
  /** The PV output limit point, % of capacity, e.g. `pv1.curtailment_limit_pct`. */
  setpointPoint: string;
  pvCapacityKw: number;
  /** Upper edge of the voltage band, pu (default 1.05). */
  vHighPu?: number;
  /** Release below this, pu (default 1.04); must be below vHighPu. */
  vReleasePu?: number;
  /** Curtailment added per pu of excess, % per pu (default 1000: 0.01 pu over -> 10 %). */
  gainPctPerPu?: number;
  /** Most curtailment ever proposed, % (default 100). */
  maxCurtailmentPct?: number;
  /** Share released per cycle once the voltage is back, % (default 100: all at once). */
  releaseStepPct?: number;
  /** Below this PV output, curtailing cannot help, kW (default 1). */
  minPvKw?: number;
  /** How long a proposal holds, ms (default 900,000: 15 min). */
  intervalMs?: number;
}

export interface OverVoltageSnapshot {
  nowMs: number;
  voltagePu: number | undefined;
  pvActivePowerKw: number | undefined;
  /** Curtailment in force now, % of the available output (0 when none). */
  curtailmentPct: number;
}

export type OverVoltageStatus = 'CURTAIL' | 'HOLD' | 'SATURATED' | 'RELEASE' | 'NORMAL' | 'NO_PV' | 'NO_READING';

export interface OverVoltageResult {
  status: OverVoltageStatus;
  proposals: Proposal[];
  releases: Proposal[];
  note: string;
}

const pct3 = (v: number) => Math.round(v * 1000) / 1000;

export function overVoltageController(config: OverVoltageConfig): (snapshot: OverVoltageSnapshot) => OverVoltageResult {
  const c = Object.freeze({
    controllerId: config.controllerId ?? 'over-voltage',
    vHighPu: config.vHighPu ?? 1.05,
    vReleasePu: config.vReleasePu ?? 1.04,
    gainPctPerPu: config.gainPctPerPu ?? 1000,
    maxCurtailmentPct: config.maxCurtailmentPct ?? 100,
    releaseStepPct: config.releaseStepPct ?? 100,
    minPvKw: config.minPvKw ?? 1,
    intervalMs: config.intervalMs ?? 900_000,
  });
  const bad = (m: string): never => {
    throw new DispatchError('EDGE_DISPATCH_CONFIG', `over-voltage: ${m}`);
  };
  if (!(config.pvCapacityKw > 0 && Number.isFinite(config.pvCapacityKw))) bad(`pvCapacityKw must be a finite number > 0, got ${config.pvCapacityKw}`);
  if (!(c.vReleasePu < c.vHighPu)) bad(`vReleasePu (${c.vReleasePu}) must be below vHighPu (${c.vHighPu}): the hysteresis band`);
  if (!(c.gainPctPerPu > 0 && Number.isFinite(c.gainPctPerPu))) bad(`gainPctPerPu must be a finite number > 0, got ${c.gainPctPerPu}`);
  if (!(c.maxCurtailmentPct > 0 && c.maxCurtailmentPct <= 100)) bad(`maxCurtailmentPct must be in (0, 100], got ${c.maxCurtailmentPct}`);
  if (!(c.releaseStepPct > 0 && c.releaseStepPct <= 100)) bad(`releaseStepPct must be in (0, 100], got ${c.releaseStepPct}`);
  if (!(c.minPvKw >= 0) || !(c.intervalMs > 0)) bad('minPvKw must be >= 0 and intervalMs > 0');

  const result = (status: OverVoltageStatus, note: string, proposals: Proposal[] = [], releases: Proposal[] = []): OverVoltageResult => ({ status, proposals, releases, note });

  return function control(s: OverVoltageSnapshot): OverVoltageResult {
    const v = s.voltagePu;
    const pv = s.pvActivePowerKw;
    const inForce = Math.min(100, Math.max(0, Number.isFinite(s.curtailmentPct) ? s.curtailmentPct : 0));
    if (v === undefined || !Number.isFinite(v) || pv === undefined || !Number.isFinite(pv)) {
      return result('NO_READING', `no good ${v === undefined || !Number.isFinite(v) ? 'voltage' : 'PV output'} reading: curtailment of ${config.assetId} left at ${num(inForce)} %`);
    }
    const availableKw = inForce < 100 ? Math.max(0, pv) / (1 - inForce / 100) : 0;
    const seal = (curtailPct: number, reason: string) => {
      const limitPct = pct3(Math.min(100, (availableKw * (1 - curtailPct / 100) * 100) / config.pvCapacityKw));
      const magnitudeKw = pct3((availableKw * curtailPct) / 100);
      return sealProposal({
        controller: c.controllerId,
        edgeId: config.edgeId,
        siteId: config.siteId,
        assetId: config.assetId,
        action: 'pv_curtailment',
        magnitudeKw,
        magnitudePercent: curtailPct,
        energyKwh: pct3((magnitudeKw * c.intervalMs) / 3_600_000),
        intervalStartMs: s.nowMs,
        intervalEndMs: s.nowMs + c.intervalMs,
        setpoint: { point: config.setpointPoint, value: curtailPct === 0 ? 100 : limitPct, unit: '%' },
        reason,
        forecast: null,
        measurement: { voltagePu: v, pvActivePowerKw: pv, curtailmentPct: inForce },
      });
    };

    if (v > c.vHighPu) {
      if (availableKw < c.minPvKw) return result('NO_PV', `voltage ${num(v)} pu above ${num(c.vHighPu)} pu but ${config.assetId} produces ${num(pv)} kW: curtailing cannot help`);
      if (inForce >= c.maxCurtailmentPct) return result('SATURATED', `voltage ${num(v)} pu above ${num(c.vHighPu)} pu with ${config.assetId} already curtailed by the maximum ${num(c.maxCurtailmentPct)} %`);
      const step = c.gainPctPerPu * (v - c.vHighPu);
      const next = pct3(Math.min(c.maxCurtailmentPct, Math.max(0, inForce + step)));
      const reason =
        `voltage ${num(v)} pu is ${num(v - c.vHighPu)} pu above the ${num(c.vHighPu)} pu band with ${config.assetId} producing ${num(pv)} kW: ` +
        `curtail ${num(next)} % of its ${num(availableKw)} kW available (${inForce > 0 ? `${num(inForce)} % in force + ` : ''}${num(c.gainPctPerPu)} %/pu x ${num(v - c.vHighPu)} pu), ` +
        `about ${num((availableKw * next) / 100)} kW`;
      return result('CURTAIL', reason, [seal(next, reason)]);
    }
    if (inForce > 0 && v < c.vReleasePu) {
      const next = pct3(Math.max(0, inForce - c.releaseStepPct));
      const reason = `voltage ${num(v)} pu back under ${num(c.vReleasePu)} pu: release the curtailment of ${config.assetId} from ${num(inForce)} % to ${num(next)} %`;
      return result('RELEASE', reason, [], [seal(next, reason)]);
    }
    if (inForce > 0) return result('HOLD', `voltage ${num(v)} pu within ${num(c.vReleasePu)}-${num(c.vHighPu)} pu: keep the ${num(inForce)} % curtailment of ${config.assetId}`);
    return result('NORMAL', `voltage ${num(v)} pu within the band: no curtailment`);
  };
}
