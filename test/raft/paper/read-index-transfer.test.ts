// Dissertation section 6.4 (ReadIndex: linearizable reads without writing to the log) and
// section 3.10 (leadership transfer).
import { describe, expect, it } from 'vitest';
import { ProposalDroppedError } from '../../../src/raft/index.js';
import { Network, msg, newNode, takeMessages } from './helpers.js';

const ctx = (text: string) => new TextEncoder().encode(text);

describe('Dissertation section 6.4: ReadIndex', () => {
  it('the leader answers with its commit index only after a quorum acknowledged a heartbeat carrying the request (6.4)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    const r = node.raft;
    r.becomeCandidate();
    r.becomeLeader();
    r.raftLog.commitTo(r.raftLog.lastIndex()); // the no-op is committed: an entry of this term
    takeMessages(r);
    node.readIndex(ctx('read-1'));
    const heartbeats = takeMessages(r);
    expect(heartbeats.map((m) => `${m.type}->${m.to}`).sort()).toEqual(['heartbeat->2', 'heartbeat->3']);
    expect(r.readStates).toEqual([]);
    r.stepMessage(msg({ type: 'heartbeatResp', from: 2n, to: 1n, term: r.term, context: ctx('read-1') }));
    expect(r.readStates).toEqual([{ index: r.raftLog.committed, requestContext: ctx('read-1') }]);
  });

  it('a new leader holds reads until it has committed an entry of its own term (6.4, step 1)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    const r = node.raft;
    r.becomeCandidate();
    r.becomeLeader();
    takeMessages(r);
    node.readIndex(ctx('early'));
    expect(takeMessages(r)).toEqual([]);
    r.stepMessage(msg({ type: 'appResp', from: 2n, to: 1n, term: r.term, index: r.raftLog.lastIndex() }));
    const heartbeats = takeMessages(r).filter((m) => m.type === 'heartbeat');
    expect(heartbeats.length).toBe(2);
    expect(new TextDecoder().decode(heartbeats[0]!.context)).toBe('early');
  });

  it('a deposed leader never answers: its pending reads are dropped when it steps down (6.4)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.isolate(1n);
    net.node(1n).readIndex(ctx('stale'));
    net.stabilize();
    net.campaign(2n);
    net.recover();
    net.node(2n).tick();
    net.stabilize();
    expect(net.raft(1n).role).toBe('follower');
    expect(net.raft(1n).readStates).toEqual([]);
  });

  it('a follower forwards the request to the leader and receives the read index (6.4)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.node(2n).readIndex(ctx('via-follower'));
    // Deliver messages by hand and collect the ReadStates each Ready hands out.
    const received: Array<{ index: number; context: string }> = [];
    for (let i = 0; i < 10 && received.length === 0; i++) {
      for (const [id, n] of net.nodes) {
        if (!n.hasReady()) continue;
        const ready = n.ready();
        n.advance();
        if (id === 2n) for (const rs of ready.readStates) received.push({ index: rs.index, context: new TextDecoder().decode(rs.requestContext) });
        for (const m of ready.messages) net.node(m.to).step(m);
      }
    }
    expect(received).toEqual([{ index: net.raft(1n).raftLog.committed, context: 'via-follower' }]);
  });

  it('a single-voter leader answers at once (6.4)', () => {
    const node = newNode(1n, [1n]);
    node.campaign();
    node.readIndex(ctx('solo'));
    expect(node.raft.readStates).toEqual([{ index: node.raft.raftLog.committed, requestContext: ctx('solo') }]);
  });
});

describe('Dissertation section 3.10: leadership transfer', () => {
  it('the leader brings the target up to date, then sends it timeoutNow; the target wins the election (3.10)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.isolate(3n);
    net.propose(1n, 'behind');
    net.recover();
    net.node(1n).transferLeadership(3n);
    net.stabilize();
    expect(net.delivered.some((m) => m.type === 'timeoutNow' && m.to === 3n)).toBe(true);
    expect(net.raft(3n).role).toBe('leader');
    expect(net.raft(1n).role).toBe('follower');
  });

  it('the leader refuses proposals while a transfer is in progress (3.10)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.isolate(3n);
    net.node(1n).transferLeadership(3n);
    expect(() => net.node(1n).propose(ctx('x'))).toThrow(ProposalDroppedError);
  });

  it('a transfer that does not complete within an election timeout is abandoned (3.10)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.isolate(3n);
    net.node(1n).transferLeadership(3n);
    for (let i = 0; i < net.raft(1n).electionTicks; i++) net.node(1n).tick();
    expect(net.raft(1n).leadTransferee).toBe(0n);
    expect(() => net.node(1n).propose(ctx('x'))).not.toThrow();
  });

  it('the target of a transfer campaigns even while followers hear from the leader (the request carries a marker) (3.10)', () => {
    const net = new Network([1n, 2n, 3n], { checkQuorum: true, preVote: true });
    net.campaign(1n);
    net.node(1n).transferLeadership(2n);
    net.stabilize();
    expect(net.raft(2n).role).toBe('leader');
  });
});
