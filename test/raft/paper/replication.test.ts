// Paper tests for sections 5.3 and 5.4 of the Raft paper: log replication and safety. Each
// test restates one rule and checks it on a node or a small synchronous network.
import { describe, expect, it } from 'vitest';
import { MemoryStorage, RawNode, bootstrapState } from '../../../src/raft/index.js';
import { SeededRandom } from '../../../src/base/random.js';
import { Network, entry, msg, newNode, takeMessages } from './helpers.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('Raft paper, section 5.3: log replication', () => {
  it('the leader appends a proposal to its log and sends it to every follower (5.3)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    const r = node.raft;
    r.becomeCandidate();
    r.becomeLeader();
    takeMessages(r);
    node.propose(new TextEncoder().encode('x'));
    expect(r.raftLog.lastIndex()).toBe(3);
    // Appends for all proposals stepped since the last Ready go out with the next Ready.
    const sent = node.ready().messages;
    expect(sent.map((m) => `${m.type}->${m.to}`).sort()).toEqual(['app->2', 'app->3']);
    for (const m of sent) expect(m.entries.map((e) => text(e.data))).toContain('x');
  });

  it('an entry is committed once the leader has replicated it on a majority, and followers apply it after learning so (5.3)', () => {
    const net = new Network([1n, 2n, 3n, 4n, 5n]);
    net.campaign(1n);
    net.isolate(4n);
    net.isolate(5n);
    net.propose(1n, 'majority');
    const last = net.raft(1n).raftLog.lastIndex();
    expect(net.raft(1n).raftLog.committed).toBe(last);
    expect(net.raft(2n).raftLog.committed).toBe(last);
    expect(net.raft(4n).raftLog.committed).toBeLessThan(last);
    // With only two of five connected, a new entry is appended but not committed.
    net.isolate(3n);
    net.propose(1n, 'minority');
    expect(net.raft(1n).raftLog.lastIndex()).toBe(last + 1);
    expect(net.raft(1n).raftLog.committed).toBe(last);
  });

  it('a follower rejects an append whose previous entry it does not have (5.3, consistency check)', () => {
    const node = newNode(2n, [1n, 2n, 3n]);
    const r = node.raft;
    r.stepMessage(msg({ type: 'app', from: 1n, to: 2n, term: 2, index: 5, logTerm: 2, entries: [entry(6, 2)] }));
    const [response] = takeMessages(r);
    expect(response!.type).toBe('appResp');
    expect(response!.reject).toBe(true);
    expect(response!.rejectHint).toBe(1);
    expect(r.raftLog.lastIndex()).toBe(1);
  });

  it('a follower deletes a conflicting entry and everything after it, then appends the new ones (5.3)', () => {
    const node = newNode(2n, [1n, 2n, 3n]);
    const r = node.raft;
    r.stepMessage(msg({ type: 'app', from: 1n, to: 2n, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2, 'a'), entry(3, 2, 'b'), entry(4, 2, 'c')] }));
    r.stepMessage(msg({ type: 'app', from: 3n, to: 2n, term: 3, index: 2, logTerm: 2, entries: [entry(3, 3, 'B')] }));
    expect(r.raftLog.lastIndex()).toBe(3);
    expect(r.raftLog.slice(2, 4, Infinity).map((e) => `${e.term}:${text(e.data)}`)).toEqual(['2:a', '3:B']);
  });

  it('the leader brings a follower with a divergent log in line with its own (5.3)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.isolate(3n);
    for (const data of ['a', 'b', 'c']) net.propose(1n, data);
    // Node 3 gets entries of its own that nobody else has.
    const r3 = net.raft(3n);
    r3.raftLog.append([entry(r3.raftLog.lastIndex() + 1, 1, 'divergent')]);
    net.recover();
    net.node(1n).tick();
    net.stabilize();
    const leaderLog = net.raft(1n).raftLog;
    const followerLog = net.raft(3n).raftLog;
    expect(followerLog.lastIndex()).toBe(leaderLog.lastIndex());
    expect(followerLog.slice(2, followerLog.lastIndex() + 1, Infinity)).toEqual(leaderLog.slice(2, leaderLog.lastIndex() + 1, Infinity));
  });

  it('committing an entry commits all preceding entries, including those of earlier leaders (5.3)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.isolate(2n);
    net.isolate(3n);
    net.node(1n).propose(new TextEncoder().encode('uncommitted-of-term-2'));
    net.stabilize();
    const index = net.raft(1n).raftLog.lastIndex();
    expect(net.raft(1n).raftLog.committed).toBeLessThan(index);
    net.recover();
    net.isolate(3n);
    // Node 1 is re-elected in a later term; its new no-op commits the earlier entry too.
    net.node(1n).raft.becomeFollower(net.raft(1n).term, 0n);
    net.campaign(1n);
    expect(net.raft(1n).raftLog.committed).toBeGreaterThan(index);
    expect(text(net.raft(2n).raftLog.slice(index, index + 1, Infinity)[0]!.data)).toBe('uncommitted-of-term-2');
  });
});

describe('Raft paper, section 5.4: safety', () => {
  it('a voter denies its vote to a candidate whose log is less up to date than its own (5.4.1)', () => {
    const cases = [
      { candidate: { index: 2, term: 2 }, granted: false },
      { candidate: { index: 3, term: 2 }, granted: true },
      { candidate: { index: 4, term: 2 }, granted: true },
      { candidate: { index: 2, term: 3 }, granted: true },
      { candidate: { index: 5, term: 1 }, granted: false },
    ];
    for (const { candidate, granted } of cases) {
      const node = newNode(1n, [1n, 2n, 3n]);
      const r = node.raft;
      r.raftLog.append([entry(2, 2), entry(3, 2)]);
      r.stepMessage(msg({ type: 'vote', from: 2n, to: 1n, term: 3, index: candidate.index, logTerm: candidate.term }));
      const [response] = takeMessages(r);
      expect(response!.reject, JSON.stringify(candidate)).toBe(!granted);
    }
  });

  it('a leader never commits an entry of an earlier term by counting replicas, only with one of its own term (5.4.2)', () => {
    const run = (commitPriorTermByCounting: boolean): number => {
      const node = newNode(1n, [1n, 2n, 3n], { testingBugs: { commitPriorTermByCounting } });
      const r = node.raft;
      // An entry of term 2 is in our log and will be acknowledged by node 2.
      r.raftLog.append([entry(2, 2, 'old')]);
      r.becomeFollower(3, 0n);
      r.becomeCandidate();
      r.becomeLeader(); // term 4, no-op at index 3
      takeMessages(r);
      // Node 2 acknowledges index 2 (the old entry) but not yet the no-op.
      r.stepMessage(msg({ type: 'appResp', from: 2n, to: 1n, term: r.term, index: 2 }));
      return r.raftLog.committed;
    };
    expect(run(false)).toBe(1);
    // With the check disabled (the test-only bug), the old entry would be committed: Figure 8.
    expect(run(true)).toBe(2);
  });

  it('a restarted node keeps its term, vote and log from storage (5.2, 5.4: persistent state)', () => {
    const { snapshot, hardState } = bootstrapState([1n, 2n, 3n]);
    const storage = new MemoryStorage(snapshot);
    storage.setHardState({ ...hardState, term: 7, vote: 3n });
    storage.append([entry(2, 5), entry(3, 7)]);
    const node = new RawNode({ id: 1n, storage, random: new SeededRandom(1) });
    expect(node.raft.term).toBe(7);
    expect(node.raft.vote).toBe(3n);
    expect(node.raft.raftLog.lastIndex()).toBe(3);
    // It will not vote for another candidate in term 7.
    node.raft.stepMessage(msg({ type: 'vote', from: 2n, to: 1n, term: 7, index: 9, logTerm: 7 }));
    expect(takeMessages(node.raft)[0]!.reject).toBe(true);
  });
});
