import { describe, expect, it } from 'vitest';
import { LinkShare } from '../../edge/uplink/schedule.js';

function run(share: LinkShare, n: number, live = true, backlog = true) {
  const sent = { live: 0, backlog: 0 };
  for (let i = 0; i < n; i++) {
    const which = share.choose(live, backlog);
    if (!which) break;
    share.sent(which);
    sent[which]++;
  }
  return sent;
}

describe('LinkShare: live data and backlog share the link', () => {
  it('gives the backlog its share while both wait', () => {
    expect(run(new LinkShare(0.5), 100)).toEqual({ live: 50, backlog: 50 });
    expect(run(new LinkShare(0.8), 100)).toEqual({ live: 20, backlog: 80 });
    expect(run(new LinkShare(0.1), 100)).toEqual({ live: 90, backlog: 10 });
  });

  it('gives everything to whichever is waiting alone, and nothing when neither is', () => {
    expect(run(new LinkShare(0.5), 10, true, false)).toEqual({ live: 10, backlog: 0 });
    expect(run(new LinkShare(0.5), 10, false, true)).toEqual({ live: 0, backlog: 10 });
    expect(new LinkShare(0.5).choose(false, false)).toBeUndefined();
  });

  it('a share of 0 still drains the backlog when no live data waits, and 1 never starves it', () => {
    expect(run(new LinkShare(0), 10)).toEqual({ live: 10, backlog: 0 });
    expect(run(new LinkShare(0), 10, false, true)).toEqual({ live: 0, backlog: 10 });
    expect(run(new LinkShare(1), 10)).toEqual({ live: 0, backlog: 10 });
  });
});
