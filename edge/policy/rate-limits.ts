/**
 * Rate limits on autonomous actions: how many per hour, how much energy per day, counted by the
 * edge across all its `auto` actions and passed in the context. The policy's limits and the
 * deciding rule's (tighter) ones both apply. A count or energy the engine cannot know is not
 * assumed to fit: the action escalates.
 */
import type { PolicyRateLimits } from '../../config/index.js';
import { num } from './reasons.js';
import type { PolicyContext, ProposedAction, VerdictFlag } from './types.js';

type Limited = 'auto' | 'escalate' | 'deny';

function check(limits: PolicyRateLimits, label: string, ctx: PolicyContext, energyKwh: number | undefined, reasons: string[], flags: VerdictFlag[]): Limited {
  let result: Limited = 'auto';
  const worse = (o: Limited) => {
    if (o === 'deny' || result === 'auto') result = o;
  };
  if (limits.maxPerHour !== undefined) {
    const count = ctx.autoCountLastHour;
    if (!(count >= 0 && count < Infinity)) {
      reasons.push(`autonomous actions in the last hour unknown: the ${label} limit of ${limits.maxPerHour} per hour cannot be checked, escalate`);
      if (!flags.includes('CONTEXT_MISSING')) flags.push('CONTEXT_MISSING');
      worse('escalate');
    } else if (count + 1 > limits.maxPerHour) {
      reasons.push(`${count} autonomous actions in the last hour: one more exceeds the ${label} limit of ${limits.maxPerHour} per hour, ${limits.whenExceeded}`);
      if (!flags.includes('RATE_LIMITED')) flags.push('RATE_LIMITED');
      worse(limits.whenExceeded);
    } else reasons.push(`autonomous action ${count + 1} of ${limits.maxPerHour} this hour (${label} limit)`);
  }
  if (limits.maxEnergyKwhPerDay !== undefined) {
    const today = ctx.autoEnergyKwhToday;
    if (energyKwh === undefined || !(today >= 0 && today < Infinity)) {
      reasons.push(`${energyKwh === undefined ? 'energy of the action unknown (no kWh, no kW)' : 'autonomous energy today unknown'}: the ${label} limit of ${num(limits.maxEnergyKwhPerDay)} kWh per day cannot be checked, escalate`);
      if (!flags.includes('CONTEXT_MISSING')) flags.push('CONTEXT_MISSING');
      worse('escalate');
    } else if (today + energyKwh > limits.maxEnergyKwhPerDay) {
      reasons.push(`${num(today)} kWh today + ${num(energyKwh)} kWh exceeds the ${label} limit of ${num(limits.maxEnergyKwhPerDay)} kWh per day, ${limits.whenExceeded}`);
      if (!flags.includes('RATE_LIMITED')) flags.push('RATE_LIMITED');
      worse(limits.whenExceeded);
    } else reasons.push(`${num(today)} kWh today + ${num(energyKwh)} kWh <= ${num(limits.maxEnergyKwhPerDay)} kWh per day (${label} limit)`);
  }
  return result;
}

/** What an `auto` verdict becomes under the limits: still auto, escalate, or deny. */
export function checkRateLimits(
  policyLimits: PolicyRateLimits | undefined,
  ruleLimits: PolicyRateLimits | undefined,
  ruleId: string,
  ctx: PolicyContext,
  energyKwh: number | undefined,
  reasons: string[],
  flags: VerdictFlag[],
): Limited {
  const byPolicy = policyLimits ? check(policyLimits, 'policy', ctx, energyKwh, reasons, flags) : 'auto';
  const byRule = ruleLimits ? check(ruleLimits, `rule ${ruleId}`, ctx, energyKwh, reasons, flags) : 'auto';
  return byPolicy === 'deny' || byRule === 'deny' ? 'deny' : byPolicy === 'escalate' || byRule === 'escalate' ? 'escalate' : 'auto';
}

export type { ProposedAction };
