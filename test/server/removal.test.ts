import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/logger.js';
import { RemovalHandling } from '../../src/server/removal.js';

const ELECTION_MS = 1000;

function setup(leader = false) {
  const clock = new FakeClock();
  const state = { probes: 0, stopped: false, leader };
  const removal = new RemovalHandling({
    clock,
    logger: silentLogger,
    electionTimeoutMs: ELECTION_MS,
    memberId: 7n,
    isLeader: () => state.leader,
    isStopped: () => state.stopped,
    probePeers: () => {
      state.probes += 1;
    },
    stop: () => {
      state.stopped = true;
    },
  });
  return { clock, state, removal };
}

describe('RemovalHandling: a removed member runs until a peer refuses it', () => {
  it('applying its own removal does not stop the member; it probes its peers once per election timeout', () => {
    const { clock, state, removal } = setup();
    removal.appliedOwnRemoval();
    removal.appliedOwnRemoval();
    clock.advance(100 * ELECTION_MS);
    expect(state.stopped).toBe(false);
    expect(state.probes).toBe(100);
  });

  it('a refusal stops it (after one election timeout) and ends the probes', () => {
    const { clock, state, removal } = setup();
    removal.appliedOwnRemoval();
    clock.advance(3 * ELECTION_MS);
    removal.refusedAsRemoved();
    expect(state.stopped).toBe(false);
    clock.advance(ELECTION_MS);
    expect(state.stopped).toBe(true);
    const probes = state.probes;
    clock.advance(10 * ELECTION_MS);
    expect(state.probes).toBe(probes);
  });

  it('a refused leader stops once it no longer leads, or after ten election timeouts regardless', () => {
    const first = setup(true);
    first.removal.refusedAsRemoved();
    first.clock.advance(3 * ELECTION_MS);
    expect(first.state.stopped).toBe(false);
    first.state.leader = false;
    first.clock.advance(ELECTION_MS);
    expect(first.state.stopped).toBe(true);

    const stuck = setup(true);
    stuck.removal.refusedAsRemoved();
    stuck.clock.advance(9 * ELECTION_MS);
    expect(stuck.state.stopped).toBe(false);
    stuck.clock.advance(2 * ELECTION_MS);
    expect(stuck.state.stopped).toBe(true);
  });
});
