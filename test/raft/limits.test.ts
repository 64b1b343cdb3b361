// The bounds a leader enforces on what it holds: uncommitted entry bytes (proposals beyond it
// are dropped until commits free the budget) and queued ReadIndex requests of a new leader.
import { describe, expect, it } from 'vitest';
import { ProposalDroppedError } from '../../src/raft/index.js';
import { Network, msg, newNode, takeMessages } from './paper/helpers.js';

describe('raft limits', () => {
  it('drops proposals beyond maxUncommittedEntriesBytes and accepts them again after commit', () => {
    const net = new Network([1n, 2n, 3n], { maxUncommittedEntriesBytes: 100 });
    net.campaign(1n);
    net.isolate(1n);
    const payload = new Uint8Array(40);
    net.node(1n).propose(payload);
    net.node(1n).propose(payload);
    expect(() => net.node(1n).propose(payload)).toThrow(ProposalDroppedError);
    net.stabilize();
    net.recover();
    net.node(1n).tick();
    net.stabilize();
    expect(net.raft(1n).raftLog.committed).toBe(net.raft(1n).raftLog.lastIndex());
    expect(() => net.node(1n).propose(payload)).not.toThrow();
  });

  it('a new leader queues at most maxPendingReadIndexRequests reads before its first commit', () => {
    const node = newNode(1n, [1n, 2n, 3n], { maxPendingReadIndexRequests: 2 });
    node.raft.becomeCandidate();
    node.raft.becomeLeader();
    takeMessages(node.raft);
    node.readIndex(new TextEncoder().encode('a'));
    node.readIndex(new TextEncoder().encode('b'));
    expect(() => node.readIndex(new TextEncoder().encode('c'))).toThrow(/too many pending read index requests/);
    node.raft.stepMessage(msg({ type: 'appResp', from: 2n, to: 1n, term: node.raft.term, index: node.raft.raftLog.lastIndex() }));
    expect(node.raft.pendingReadIndexMessages).toEqual([]);
  });
});
