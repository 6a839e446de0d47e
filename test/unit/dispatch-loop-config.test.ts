import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig } from '../../config/index.js';
import { startDispatchLoop, type DispatchLoopDeps } from '../../edge/dispatch/index.js';

describe('dispatch loop start', () => {
  it('fails readably, before opening anything, when the hub decision key cannot be read', async () => {
    const cfg = validateConfig(
      edgeConfigSchema,
      {
        edge: { id: 'e1', site: 's1' },
        hub: { mqttUrl: 'mqtt://127.0.0.1:1883' },
        storage: { dataDir: '/nonexistent/never-created' },
        sources: [{ kind: 'opcua', name: 'sub', endpoint: 'opc.tcp://127.0.0.1:4840', tags: [{ id: 'soc', nodeId: 'ns=1;s=S' }, { id: 'v', nodeId: 'ns=1;s=V' }, { id: 'p', nodeId: 'ns=1;s=P' }] }],
        dispatch: {
          decisionKey: '/nonexistent/hub-decision.pub.pem',
          peakShaving: { forecastTarget: 'f1', feederTag: 'p', limitKw: 3000, endpoint: 'opc.tcp://127.0.0.1:4840', battery: { setpointNodeId: 'ns=1;s=B', socTag: 'soc', capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, socMinPct: 10, socMaxPct: 95 } },
          interlocks: { socMinPct: 15, socMaxPct: 92, voltageBandPu: [0.95, 1.05], voltageTag: 'v', maxStepKw: 500 },
        },
      },
      'test',
    );
    // nothing but the config and the logger may be touched before the key is read
    const deps = { config: cfg.dispatch, dataDir: cfg.storage.dataDir, logger: pino({ level: 'silent' }) } as unknown as DispatchLoopDeps;
    await expect(startDispatchLoop(deps)).rejects.toThrow(/dispatch\.decisionKey: cannot read the hub's public decision key from \/nonexistent\/hub-decision\.pub\.pem/);
  });
});
