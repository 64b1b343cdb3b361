// A node answering a vote tells the candidate its commit index and the term there. The
// candidate adopts that commit index only if its own log holds that very entry (Log Matching
// then makes both logs equal up to it); otherwise it learns nothing.
import { describe, expect, it } from 'vitest';
import { entry, msg, newNode, takeMessages } from './paper/helpers.js';

describe('learning the commit index from vote responses', () => {
  it('a refusal carries the refuser commit index and term', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    node.raft.raftLog.append([entry(2, 2), entry(3, 2)]);
    node.raft.raftLog.commitTo(3);
    node.raft.stepMessage(msg({ type: 'preVote', from: 2n, to: 1n, term: 5, index: 1, logTerm: 1 }));
    const [refusal] = takeMessages(node.raft);
    expect(refusal).toMatchObject({ type: 'preVoteResp', reject: true, index: 3, logTerm: 2 });
  });

  it('the candidate commits up to that index when its log has the same entry there', () => {
    const node = newNode(3n, [1n, 2n, 3n]);
    node.raft.raftLog.append([entry(2, 2), entry(3, 2), entry(4, 2)]);
    node.campaign();
    const term = node.raft.term;
    node.raft.stepMessage(msg({ type: 'voteResp', from: 2n, to: 3n, term, reject: true, index: 3, logTerm: 2 }));
    expect(node.raft.raftLog.committed).toBe(3);
  });

  it('a granted vote carries the voter commit index too', () => {
    const node = newNode(1n, [1n, 2n, 3n]);
    node.raft.raftLog.append([entry(2, 2)]);
    node.raft.raftLog.commitTo(2);
    node.raft.stepMessage(msg({ type: 'vote', from: 2n, to: 1n, term: 5, index: 2, logTerm: 2 }));
    const [grant] = takeMessages(node.raft);
    expect(grant).toMatchObject({ type: 'voteResp', reject: false, index: 2, logTerm: 2 });
  });

  it('learns nothing when the entry there differs or is missing', () => {
    const node = newNode(3n, [1n, 2n, 3n]);
    node.raft.raftLog.append([entry(2, 2), entry(3, 2)]);
    node.campaign();
    const term = node.raft.term;
    node.raft.stepMessage(msg({ type: 'voteResp', from: 2n, to: 3n, term, reject: true, index: 3, logTerm: 4 }));
    node.raft.stepMessage(msg({ type: 'voteResp', from: 1n, to: 3n, term, reject: true, index: 9, logTerm: 2 }));
    expect(node.raft.raftLog.committed).toBe(1);
  });
});

describe('a campaign ends when the node stops being a voter', () => {
  it('a candidate that applies its own demotion becomes a follower', () => {
    const node = newNode(3n, [1n, 2n, 3n]);
    node.campaign();
    expect(node.raft.role).toBe('candidate');
    node.applyConfChange({ transition: 'auto', changes: [{ type: 'addLearner', nodeId: 3n }], context: new Uint8Array(0) });
    expect(node.raft.role).toBe('follower');
    expect(node.raft.isLearner).toBe(true);
  });
});
