/**
 * Reasons in words for the console and the audit log: each names the reading with its unit,
 * the bound, and the rule (`discharge 180 kW <= 250 kW (rule bess-small)`). Built only for the
 * deciding rule, after the decision, so the matching loop stays free of strings.
 */
import { DAY_NAMES, HOLDS, UNKNOWN, hhmm, type CompiledRule, type Truth } from './rules.js';
import type { ActionType, PolicyContext, ProposedAction } from './types.js';

const VERB: Record<ActionType, string> = {
  battery_discharge: 'discharge',
  battery_charge: 'charge',
  pv_curtailment: 'curtail',
  load_shed: 'shed',
  capacitor_switch: 'switch',
};

export const num = (v: number): string => String(Math.round(v * 1000) / 1000);

/** Where the action's interval falls in the policy's local time, or why it is unknown. */
export interface LocalSpan {
  known: boolean;
  firstMinuteOfWeek: number;
  spanMinutes: number;
  timeZone: string;
}

function intervalText(t: LocalSpan): string {
  const end = (t.firstMinuteOfWeek + t.spanMinutes) % 10080;
  return `interval ${DAY_NAMES[Math.floor(t.firstMinuteOfWeek / 1440)]} ${hhmm(t.firstMinuteOfWeek % 1440)}-${hhmm(end % 1440)} (${t.timeZone})`;
}

/** One line per condition of `rule`, holding or unknown (a failing rule never decides). */
export function conditionReasons(rule: CompiledRule, a: ProposedAction, ctx: PolicyContext, energyKwh: number | undefined, time: LocalSpan, out: string[]): void {
  const tag = ` (rule ${rule.id})`;
  const line = (truth: Truth, known: string, missing: string, bound: string) => {
    if (truth === HOLDS) out.push(`${known} ${bound}${tag}`);
    else if (truth === UNKNOWN) out.push(`${missing}: rule ${rule.id} needs ${bound}`);
  };
  const verb = VERB[a.action];
  if (rule.powerKw) line(rule.powerKw.test(a.magnitudeKw), `${verb} ${num(a.magnitudeKw ?? NaN)} kW`, `no power given for the ${verb}`, rule.powerKw.text);
  if (rule.magnitudePct) line(rule.magnitudePct.test(a.magnitudePercent), `${verb} ${num(a.magnitudePercent ?? NaN)} %`, `no percentage given for the ${verb}`, rule.magnitudePct.text);
  if (rule.energyKwh) line(rule.energyKwh.test(energyKwh), `energy ${num(energyKwh ?? NaN)} kWh`, 'energy unknown (no kWh, no kW)', rule.energyKwh.text);
  if (rule.voltagePu) line(rule.voltagePu.test(ctx.voltagePu), `voltage ${num(ctx.voltagePu ?? NaN)} pu`, 'no voltage reading', rule.voltagePu.text);
  if (rule.stateOfChargePct) line(rule.stateOfChargePct.test(ctx.stateOfChargePct), `state of charge ${num(ctx.stateOfChargePct ?? NaN)} %`, 'no state of charge reading', rule.stateOfChargePct.text);
  if (rule.hasForecastCondition) {
    const band = a.forecastBandWidth;
    const bound = `<= ${num(rule.maxForecastBandWidth)}`;
    line(band === undefined || band !== band ? UNKNOWN : HOLDS, `forecast band ${num(band ?? NaN)} of the forecast`, 'no forecast band', bound);
  }
  if (rule.week) {
    if (!time.known) out.push(`interval crosses a daylight-saving change in ${time.timeZone}: rule ${rule.id} needs it judged against ${rule.windowsText}`);
    else out.push(`${intervalText(time)} ${rule.outcome === 'auto' ? 'inside' : 'overlaps'} ${rule.windowsText}${tag}`);
  }
}
