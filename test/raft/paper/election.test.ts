// Paper tests for sections 5.1 and 5.2 of the Raft paper (Ongaro and Ousterhout, 2014): one
// test per rule, each restating the rule, driving one node (or a small synchronous network)
// and checking the state and the messages. Pre-vote and check-quorum are off unless a test
// says otherwise, because the paper's rules are stated without them.
import { describe, expect, it } from 'vitest';
import { NONE } from '../../../src/raft/index.js';
import { Network, msg, newNode, takeMessages } from './helpers.js';

describe('Raft paper, section 5.1: terms', () => {
  for (const role of ['follower', 'candidate', 'leader'] as const) {
    it(`a ${role} that sees a higher term updates its term and becomes a follower (5.1)`, () => {
      const node = newNode(1n, [1n, 2n, 3n]);
      const r = node.raft;
      if (role === 'candidate') r.becomeCandidate();
      if (role === 'leader') {
        r.becomeCandidate();
        r.becomeLeader();
      }
      r.stepMessage(msg({ type: 'app', from: 2n, to: 1n, term: 10 }));
      expect(r.term).toBe(10);
      expect(r.role).toBe('follower');
      expect(r.lead).toBe(2n);
    });
  }

  it('a server ignores a request with a stale term (5.1)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    const r = node.raft;
    r.becomeFollower(5, 2n);
    takeMessages(r);
    r.stepMessage(msg({ type: 'app', from: 3n, to: 1n, term: 4, index: 1, logTerm: 1, entries: [] }));
    expect(r.term).toBe(5);
    expect(r.lead).toBe(2n);
    expect(r.raftLog.lastIndex()).toBe(1);
  });

  it('every server starts as a follower (5.2)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    expect(node.raft.role).toBe('follower');
  });
});

describe('Raft paper, section 5.2: leader election', () => {
  it('a leader sends heartbeats to every follower each heartbeat timeout (5.2)', () => {
    const node = newNode(1n, [1n, 2n, 3n], { heartbeatTicks: 1 });
    const r = node.raft;
    r.becomeCandidate();
    r.becomeLeader();
    takeMessages(r);
    node.tick();
    const sent = takeMessages(r);
    expect(sent.map((m) => `${m.type}->${m.to}`).sort()).toEqual(['heartbeat->2', 'heartbeat->3']);
    expect(sent.every((m) => m.term === r.term)).toBe(true);
  });

  it('a follower that hears nothing for an election timeout becomes a candidate: new term, votes for itself, asks every voter (5.2)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    const r = node.raft;
    for (let i = 0; i < 2 * r.electionTicks; i++) node.tick();
    expect(r.role).toBe('candidate');
    expect(r.term).toBe(2);
    expect(r.vote).toBe(1n);
    const sent = takeMessages(r);
    expect(sent.map((m) => `${m.type}->${m.to}@${m.term}`).sort()).toEqual(['vote->2@2', 'vote->3@2']);
    expect(sent.every((m) => m.index === 1 && m.logTerm === 1)).toBe(true);
  });

  it('a candidate wins with votes from a majority, stays candidate while pending, and loses when a majority rejects (5.2)', () => {
    const cases: Array<{ size: number; votes: Record<string, boolean>; role: string }> = [
      { size: 3, votes: { 2: true }, role: 'leader' },
      { size: 5, votes: { 2: true }, role: 'candidate' },
      { size: 5, votes: { 2: true, 3: true }, role: 'leader' },
      { size: 5, votes: { 2: false, 3: false, 4: false }, role: 'follower' },
      { size: 5, votes: { 2: true, 3: false, 4: false }, role: 'candidate' },
    ];
    for (const { size, votes, role } of cases) {
      const ids = Array.from({ length: size }, (_, i) => BigInt(i + 1));
      const node = newNode(1n, ids);
      const r = node.raft;
      node.campaign();
      for (const [from, granted] of Object.entries(votes)) {
        r.stepMessage(msg({ type: 'voteResp', from: BigInt(from), to: 1n, term: r.term, reject: !granted }));
      }
      expect(r.role, JSON.stringify({ size, votes })).toBe(role);
    }
  });

  it('a server votes for at most one candidate per term, first come first served (5.2)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    const r = node.raft;
    r.stepMessage(msg({ type: 'vote', from: 2n, to: 1n, term: 2, index: 1, logTerm: 1 }));
    r.stepMessage(msg({ type: 'vote', from: 3n, to: 1n, term: 2, index: 1, logTerm: 1 }));
    r.stepMessage(msg({ type: 'vote', from: 2n, to: 1n, term: 2, index: 1, logTerm: 1 }));
    const responses = takeMessages(r).map((m) => `${m.to}:${m.reject ? 'rejected' : 'granted'}`);
    expect(responses).toEqual(['2:granted', '3:rejected', '2:granted']);
    expect(r.vote).toBe(2n);
  });

  it('a candidate that receives an append from a leader of its term steps down (5.2)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    const r = node.raft;
    node.campaign();
    r.stepMessage(msg({ type: 'app', from: 2n, to: 1n, term: r.term, index: 1, logTerm: 1 }));
    expect(r.role).toBe('follower');
    expect(r.lead).toBe(2n);
  });

  it('election timeouts are randomized over [electionTicks, 2 * electionTicks) (5.2)', () => {
    const seen = new Set<number>();
    for (let id = 1n; id <= 200n; id++) {
      const node = newNode(id, [id, 1000n]);
      let ticks = 0;
      while (node.raft.role === 'follower') {
        node.tick();
        ticks += 1;
      }
      expect(ticks).toBeGreaterThanOrEqual(node.raft.electionTicks);
      expect(ticks).toBeLessThan(2 * node.raft.electionTicks);
      seen.add(ticks);
    }
    // Spread over the whole range, so that usually one server times out first.
    expect(seen.size).toBe(10);
  });

  it('a candidate whose election splits starts a new election in a higher term after another timeout (5.2)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.isolate(1n);
    net.campaign(1n);
    const r = net.raft(1n);
    expect(r.role).toBe('candidate');
    const term = r.term;
    for (let i = 0; i < 2 * r.electionTicks; i++) net.node(1n).tick();
    expect(r.term).toBe(term + 1);
    expect(r.role).toBe('candidate');
    expect(r.vote).toBe(1n);
  });

  it('a three-node network elects exactly one leader, and the others follow it (5.2)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    expect(net.raft(1n).role).toBe('leader');
    expect(net.raft(2n).lead).toBe(1n);
    expect(net.raft(3n).lead).toBe(1n);
    expect([...net.nodes.values()].filter((n) => n.raft.role === 'leader')).toHaveLength(1);
    expect(net.raft(2n).vote).toBe(1n);
    expect(NONE).toBe(0n);
  });
});
