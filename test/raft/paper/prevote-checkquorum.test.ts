// Dissertation section 9.6 (pre-vote) and section 6.2 (check-quorum: a leader steps down when it
// cannot reach a quorum; followers ignore vote requests while they hear from a leader).
import { describe, expect, it } from 'vitest';
import { Network, msg, newNode, takeMessages } from './helpers.js';

describe('Dissertation section 9.6: pre-vote', () => {
  it('a pre-candidate asks for votes for the next term without moving to it or voting (9.6)', () => {
    const node = newNode(1n, [1n, 2n, 3n], { preVote: true });
    const r = node.raft;
    node.campaign();
    expect(r.role).toBe('preCandidate');
    expect(r.term).toBe(1);
    const sent = takeMessages(r);
    expect(sent.map((m) => `${m.type}@${m.term}`)).toEqual(['preVote@2', 'preVote@2']);
  });

  it('a pre-candidate that wins a majority of pre-votes starts the real election (9.6)', () => {
    const node = newNode(1n, [1n, 2n, 3n], { preVote: true });
    const r = node.raft;
    node.campaign();
    r.stepMessage(msg({ type: 'preVoteResp', from: 2n, to: 1n, term: 2 }));
    expect(r.role).toBe('candidate');
    expect(r.term).toBe(2);
  });

  it('a node partitioned away does not raise its term, so it does not disrupt the cluster when it returns (9.6)', () => {
    const net = new Network([1n, 2n, 3n], { preVote: true });
    net.campaign(1n);
    net.isolate(3n);
    for (let i = 0; i < 10; i++) net.campaign(3n);
    expect(net.raft(3n).term).toBe(net.raft(1n).term);
    net.recover();
    net.node(1n).tick();
    net.stabilize();
    expect(net.raft(1n).role).toBe('leader');
    expect(net.raft(3n).lead).toBe(1n);
  });

  it('a pre-vote is granted for a future term even after voting in the current one, but not to a stale log (9.6)', () => {
    const node = newNode(1n, [1n, 2n, 3n], { preVote: true });
    const r = node.raft;
    r.stepMessage(msg({ type: 'vote', from: 2n, to: 1n, term: 2, index: 1, logTerm: 1 }));
    takeMessages(r);
    r.stepMessage(msg({ type: 'preVote', from: 3n, to: 1n, term: 3, index: 1, logTerm: 1 }));
    r.stepMessage(msg({ type: 'preVote', from: 3n, to: 1n, term: 3, index: 0, logTerm: 0 }));
    const [granted, rejected] = takeMessages(r);
    expect(granted!.reject).toBe(false);
    expect(granted!.term).toBe(3);
    expect(rejected!.reject).toBe(true);
    expect(r.term).toBe(2);
    expect(r.vote).toBe(2n);
  });
});

describe('Dissertation section 6.2: check-quorum', () => {
  it('a leader that does not hear from a quorum for an election timeout steps down (6.2)', () => {
    const net = new Network([1n, 2n, 3n], { checkQuorum: true });
    net.campaign(1n);
    net.isolate(1n);
    const r = net.raft(1n);
    for (let i = 0; i < 2 * r.electionTicks; i++) {
      net.node(1n).tick();
      net.stabilize();
    }
    expect(r.role).toBe('follower');
  });

  it('a leader that hears from a quorum stays leader (6.2)', () => {
    const net = new Network([1n, 2n, 3n], { checkQuorum: true });
    net.campaign(1n);
    net.isolate(3n);
    const r = net.raft(1n);
    for (let i = 0; i < 3 * r.electionTicks; i++) {
      net.node(1n).tick();
      net.stabilize();
    }
    expect(r.role).toBe('leader');
  });

  it('a follower that heard from its leader within the election timeout ignores vote requests (6.2, 4.2.3)', () => {
    const net = new Network([1n, 2n, 3n], { checkQuorum: true });
    net.campaign(1n);
    const follower = net.raft(2n);
    const term = follower.term;
    follower.stepMessage(msg({ type: 'vote', from: 3n, to: 2n, term: term + 1, index: 100, logTerm: term }));
    expect(follower.term).toBe(term);
    expect(takeMessages(follower)).toEqual([]);
  });
});
