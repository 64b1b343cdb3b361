// Paper tests for section 6 of the Raft paper (cluster membership changes) and chapter 4 of
// the dissertation (single-server changes, learners, and the fix for the single-server bug).
import { describe, expect, it } from 'vitest';
import type { ConfChange } from '../../../src/raft/index.js';
import { ProposalDroppedError } from '../../../src/raft/index.js';
import { Network, msg, newNode, takeMessages } from './helpers.js';

const change = (transition: ConfChange['transition'], ...changes: ConfChange['changes']): ConfChange => ({ transition, changes, context: new Uint8Array(0) });

describe('Raft paper, section 6: cluster membership changes', () => {
  it('in joint consensus, an entry commits only with a majority of both the old and the new configuration (6)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    const r = node.raft;
    r.becomeCandidate();
    r.becomeLeader();
    r.applyConfChange(change('joint-explicit', { type: 'addVoter', nodeId: 4n }, { type: 'addVoter', nodeId: 5n }, { type: 'removeVoter', nodeId: 2n }, { type: 'removeVoter', nodeId: 3n }));
    takeMessages(r);
    const last = r.raftLog.lastIndex();
    // New configuration {1,4,5} has a majority (1,4); the old {1,2,3} only has 1.
    r.stepMessage(msg({ type: 'appResp', from: 4n, to: 1n, term: r.term, index: last }));
    expect(r.raftLog.committed).toBeLessThan(last);
    // Now the old configuration has a majority too (1,2).
    r.stepMessage(msg({ type: 'appResp', from: 2n, to: 1n, term: r.term, index: last }));
    expect(r.raftLog.committed).toBe(last);
  });

  it('in joint consensus, an election needs a majority of both configurations (6)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    const r = node.raft;
    r.applyConfChange(change('joint-explicit', { type: 'addVoter', nodeId: 4n }, { type: 'addVoter', nodeId: 5n }, { type: 'removeVoter', nodeId: 2n }, { type: 'removeVoter', nodeId: 3n }));
    node.campaign();
    r.stepMessage(msg({ type: 'voteResp', from: 4n, to: 1n, term: r.term }));
    expect(r.role).toBe('candidate');
    r.stepMessage(msg({ type: 'voteResp', from: 3n, to: 1n, term: r.term }));
    expect(r.role).toBe('leader');
  });

  it('a simple change may add or remove only one voter; more needs joint consensus (dissertation 4.2)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    expect(() => node.applyConfChange({ transition: 'auto', changes: [{ type: 'addVoter', nodeId: 4n }], context: new Uint8Array(0) })).not.toThrow();
    const two = newNode(1n, [1n, 2n, 3n]);
    // Two changes with 'auto' go through joint consensus automatically.
    const cs = two.applyConfChange(change('auto', { type: 'addVoter', nodeId: 4n }, { type: 'addVoter', nodeId: 5n }));
    expect(cs.votersOutgoing).toEqual([1n, 2n, 3n]);
    expect(cs.autoLeave).toBe(true);
  });

  it('a leader leaves an auto-leave joint configuration by itself once it is applied (6)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.node(1n).proposeConfChange(change('joint-implicit', { type: 'addLearner', nodeId: 4n }, { type: 'removeVoter', nodeId: 3n }));
    net.stabilize();
    const cs = net.raft(1n).tracker.confState();
    expect(cs.votersOutgoing).toEqual([]);
    expect(cs.voters).toEqual([1n, 2n]);
    expect(cs.learners).toEqual([4n]);
  });

  it('a leader refuses a second membership change while one is pending (dissertation 4.1)', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.node(1n).proposeConfChange(change('auto', { type: 'addLearner', nodeId: 4n }));
    expect(() => net.node(1n).proposeConfChange(change('auto', { type: 'addLearner', nodeId: 5n }))).toThrow(ProposalDroppedError);
    net.stabilize();
    expect(() => net.node(1n).proposeConfChange(change('auto', { type: 'addLearner', nodeId: 5n }))).not.toThrow();
  });

  it('a new leader changes membership only after committing an entry of its own term (single-server bug fix)', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    node.raft.becomeCandidate();
    node.raft.becomeLeader();
    expect(() => node.proposeConfChange(change('auto', { type: 'addVoter', nodeId: 4n }))).toThrow(/not applied|not committed/);
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    expect(() => net.node(1n).proposeConfChange(change('auto', { type: 'addVoter', nodeId: 4n }))).not.toThrow();
  });

  it('an invalid change is refused at proposal time, not at apply time', () => {
    const net = new Network([1n, 2n]);
    net.campaign(1n);
    expect(() => net.node(1n).proposeConfChange(change('joint-implicit', { type: 'removeVoter', nodeId: 1n }, { type: 'removeVoter', nodeId: 2n }))).toThrow(/removed all voters/);
  });

  it('a learner receives the log but never counts toward commit and never campaigns (dissertation 4.2.1)', () => {
    const node = newNode(1n, [1n, 2n, 3n], {}, [4n]);
    const r = node.raft;
    r.becomeCandidate();
    r.becomeLeader();
    takeMessages(r);
    const last = r.raftLog.lastIndex();
    r.stepMessage(msg({ type: 'appResp', from: 4n, to: 1n, term: r.term, index: last }));
    expect(r.raftLog.committed).toBeLessThan(last);
    const learner = newNode(4n, [1n, 2n, 3n], {}, [4n]);
    for (let i = 0; i < 5 * learner.raft.electionTicks; i++) learner.tick();
    expect(learner.raft.role).toBe('follower');
    expect(takeMessages(learner.raft)).toEqual([]);
  });

  it('votes from non-voters are not counted', () => {
    const node = newNode(1n, [1n, 2n, 3n], {}, [4n]);
    node.campaign();
    node.raft.stepMessage(msg({ type: 'voteResp', from: 4n, to: 1n, term: node.raft.term }));
    expect(node.raft.role).toBe('candidate');
  });

  it('a leader removed from the configuration hands leadership to a remaining voter', () => {
    const net = new Network([1n, 2n, 3n]);
    net.campaign(1n);
    net.node(1n).proposeConfChange(change('auto', { type: 'removeVoter', nodeId: 1n }));
    net.stabilize();
    const newLeaders = () => [2n, 3n].filter((id) => net.raft(id).role === 'leader');
    // The first timeoutNow may reach the target before it applied the change (it then waits);
    // the leader retries after an election timeout.
    for (let i = 0; i < 3 * net.raft(1n).electionTicks && newLeaders().length === 0; i++) {
      net.node(1n).tick();
      net.stabilize();
    }
    expect(newLeaders()).toHaveLength(1);
    const leader = net.raft(newLeaders()[0]!);
    expect(leader.term).toBeGreaterThan(net.raft(1n).term);
    expect(leader.tracker.confState().voters).toEqual([2n, 3n]);
  });
});
