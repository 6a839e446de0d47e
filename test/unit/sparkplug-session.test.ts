/** The Sparkplug B session's tag discovery (pure): every metric gets a tag id of its own. */
import { describe, expect, it } from 'vitest';
import { SparkplugSession } from '../../edge/index.js';
import { DataType, type Payload } from '../../protocols/sparkplug/index.js';

const birth = (names: string[]): Payload => ({ seq: 0, timestampMs: 1_000, metrics: names.map((name, i) => ({ name, alias: i + 1, datatype: DataType.Double, value: i })) });

describe('SparkplugSession discovery', () => {
  it('names a discovered metric <node>.<device>.<metric>, with characters a tag id cannot hold as _', () => {
    const s = new SparkplugSession([], { discover: true, rebirthIntervalMs: 5_000 });
    s.handle({ group: 'g', type: 'NBIRTH', node: 'gw1' }, { seq: 0, metrics: [] }, 0);
    const out = s.handle({ group: 'g', type: 'DBIRTH', node: 'gw1', device: 'meter 1' }, { ...birth(['Feeder1/ActivePower']), seq: 1 }, 0);
    expect(out.discovered.map((d) => d.id)).toEqual(['gw1.meter_1.Feeder1_ActivePower']);
  });

  it('two metrics whose names meet after that (dots in ids, truncation, a configured tag) get distinct ids, stable across rebirths', () => {
    const s = new SparkplugSession([{ id: 'n.d.m_x', node: 'other', device: 'x', metric: 'y', scale: 1, offset: 0 }], { discover: true, rebirthIntervalMs: 5_000 });
    const ids = (node: string, device: string, names: string[]) => {
      s.handle({ group: 'g', type: 'NBIRTH', node }, { seq: 0, metrics: [] }, 0);
      return s.handle({ group: 'g', type: 'DBIRTH', node, device }, { ...birth(names), seq: 1 }, 0).discovered.map((d) => d.id);
    };
    const [a] = ids('a.b', 'd', ['m']);
    const [b] = ids('a', 'b.d', ['m']); // a_b.d.m vs a.b_d.m: already distinct
    const [c] = ids('n', 'd', ['m/x', 'm.x']); // both sanitise to n.d.m_x, which a configured tag holds
    const long = 'L'.repeat(70);
    const [e, f] = ids('n2', 'd', [`${long}1`, `${long}2`]); // equal once cut to 64
    const all = [a, b, c, e, f];
    expect(new Set(all).size).toBe(all.length);
    for (const id of all) expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
    // a rebirth keeps the ids it gave
    expect(ids('n2', 'd', [`${long}1`, `${long}2`])).toEqual([]);
  });
});
