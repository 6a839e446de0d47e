/**
 * Sealing a proposal (hash and id from its canonical content), checking one, and mapping it onto
 * the policy engine's `ProposedAction`.
 */
import { canonicalSha256 } from './canonical.js';
import type { ProposedAction } from '../policy/index.js';
import type { Proposal, ProposalContent } from './types.js';

const CONTENT_KEYS: readonly (keyof ProposalContent)[] = [
  'controller', 'edgeId', 'siteId', 'assetId', 'action', 'magnitudeKw', 'magnitudePercent', 'energyKwh',
  'intervalStartMs', 'intervalEndMs', 'setpoint', 'reason', 'forecast', 'measurement', 'forecastBandWidth', 'fallbackOf',
];

/** The content of a proposal: its fields but id and hash, optional ones only when present. */
export function contentOf(p: ProposalContent): ProposalContent {
  const out: Record<string, unknown> = {};
  for (const k of CONTENT_KEYS) if (p[k] !== undefined) out[k] = p[k];
  return out as unknown as ProposalContent;
}

/** Adds hash and id, and freezes the whole proposal (deeply). */
export function sealProposal(content: ProposalContent): Proposal {
  const c = contentOf(content);
  const hash = canonicalSha256(c);
  return deepFreeze({ ...c, id: `${c.controller}-${hash.slice(0, 16)}`, hash });
}

/** Whether the proposal's hash and id still match its content (nothing changed it on the way). */
export function proposalIntact(p: Proposal): boolean {
  try {
    const hash = canonicalSha256(contentOf(p));
    return hash === p.hash && p.id === `${p.controller}-${hash.slice(0, 16)}`;
  } catch {
    return false;
  }
}

/** What the policy engine judges. */
export function toProposedAction(p: Proposal): ProposedAction {
  return {
    id: p.id,
    edgeId: p.edgeId,
    siteId: p.siteId,
    assetId: p.assetId,
    action: p.action,
    magnitudeKw: p.magnitudeKw,
    ...(p.magnitudePercent !== undefined && { magnitudePercent: p.magnitudePercent }),
    energyKwh: p.energyKwh,
    intervalStartMs: p.intervalStartMs,
    intervalEndMs: p.intervalEndMs,
    ...(p.forecastBandWidth !== undefined && { forecastBandWidth: p.forecastBandWidth }),
    controller: p.controller,
  };
}

/** Freezes `v` and everything it holds (a sealed proposal, a cached forecast). */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
