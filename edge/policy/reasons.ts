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

/** A reading for people: at most three decimals. */
export const num = (v: number): string => (Number.isInteger(v) ? '' + v : '' + Math.round(v * 1000) / 1000);

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

function line(rule: CompiledRule, truth: Truth, known: string, missing: string, bound: string, out: string[]): void {
  if (truth === HOLDS) out.push(known + ' ' + bound + rule.tag);
  else if (truth === UNKNOWN) out.push(missing + ': rule ' + rule.id + ' needs ' + bound);
}

/** One line per condition of `rule`, holding or unknown (a failing rule never decides). */
export function conditionReasons(rule: CompiledRule, a: ProposedAction, ctx: PolicyContext, energyKwh: number | undefined, time: LocalSpan, out: string[]): void {
  const verb = VERB[a.action];
  if (rule.powerKw) line(rule, rule.powerKw.test(a.magnitudeKw), `${verb} ${num(a.magnitudeKw ?? NaN)} kW`, `no power given for the ${verb}`, rule.powerKw.text, out);
  if (rule.magnitudePct) line(rule, rule.magnitudePct.test(a.magnitudePercent), `${verb} ${num(a.magnitudePercent ?? NaN)} %`, `no percentage given for the ${verb}`, rule.magnitudePct.text, out);
  if (rule.energyKwh) line(rule, rule.energyKwh.test(energyKwh), `energy ${num(energyKwh ?? NaN)} kWh`, 'energy unknown (no kWh, no kW)', rule.energyKwh.text, out);
  if (rule.voltagePu) line(rule, rule.voltagePu.test(ctx.voltagePu), `voltage ${num(ctx.voltagePu ?? NaN)} pu`, 'no voltage reading', rule.voltagePu.text, out);
  if (rule.stateOfChargePct) line(rule, rule.stateOfChargePct.test(ctx.stateOfChargePct), `state of charge ${num(ctx.stateOfChargePct ?? NaN)} %`, 'no state of charge reading', rule.stateOfChargePct.text, out);
  if (rule.hasForecastCondition) {
    const band = a.forecastBandWidth;
    line(rule, band === undefined || band !== band ? UNKNOWN : HOLDS, `forecast band ${num(band ?? NaN)} of the forecast`, 'no forecast band', '<= ' + num(rule.maxForecastBandWidth), out);
  }
  if (rule.week) {
    if (!time.known) out.push(`interval crosses a daylight-saving change in ${time.timeZone}: rule ${rule.id} needs it judged against ${rule.windowsText}`);
    else out.push(`${intervalText(time)} ${rule.outcome === 'auto' ? 'inside' : 'overlaps'} ${rule.windowsText}${rule.tag}`);
  }
}
