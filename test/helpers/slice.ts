/**
 * Builds the pieces the fault tests share: a simulator on a free port and an edge config that
 * subscribes to all its points, plus an exact comparison of what the edge stored and the hub holds.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { expect } from 'vitest';
import { edgeConfigSchema, validateConfig, type EdgeConfig, type EdgeConfigInput } from '../../config/index.js';
import type { Agent } from '../../edge/index.js';
import type { HubStore } from '../../hub/index.js';
import { startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';

export function startTestSubstation(dir: string, logger: Logger, options: { feeders?: number; tickMs?: number } = {}): Promise<SubstationHandle> {
  return startSubstation({ ...substationDefaults, feeders: options.feeders ?? 2, port: 0, hourSeconds: 30, tickMs: options.tickMs ?? 100, pkiDir: join(dir, 'sim-pki'), logger });
}

export function edgeConfigFor(sim: SubstationHandle, fields: Pick<EdgeConfigInput, 'edge' | 'hub' | 'storage'> & Partial<EdgeConfigInput>): EdgeConfig {
  return validateConfig(
    edgeConfigSchema,
    {
      uplink: { flushInterval: '100ms', ackTimeout: '2s' },
      sources: [
        {
          kind: 'opcua',
          name: 'substation',
          endpoint: sim.endpointUrl,
          samplingInterval: '100ms',
          publishingInterval: '100ms',
          tags: sim.points.map((p) => ({ id: p.tag, nodeId: p.nodeId, min: p.minValue, max: p.maxValue })),
        },
      ],
      ...fields,
    },
    'test',
  );
}

/** Asserts that the hub holds exactly the readings the edge stored, tag by tag, in time order. */
export function expectHubHoldsEdgeReadings(agent: Agent, hub: HubStore, edgeId: string, tags: readonly string[]): number {
  let total = 0;
  for (const tag of tags) {
    const mine = agent.store.readings(tag).map(({ tsMs, value, quality, flags }) => ({ tsMs, value, quality, flags: flags ?? 0 }));
    const theirs = hub.readings(edgeId, tag, 0, Number.MAX_SAFE_INTEGER, 1_000_000);
    expect(theirs, tag).toEqual(mine);
    total += mine.length;
  }
  return total;
}
