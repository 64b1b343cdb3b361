import { ProposalDroppedError } from '../errors.js';
import type { Raft } from '../raft.js';
import type { Message } from '../types.js';
import { NONE } from '../types.js';

/** Messages a candidate or pre-candidate handles (after the common term rules). */
export function stepCandidate(r: Raft, m: Message): void {
  // Only responses to our own kind of request count: a pre-candidate ignores stale vote
  // responses and a candidate stale pre-vote responses.
  const myResponse = r.role === 'preCandidate' ? 'preVoteResp' : 'voteResp';
  switch (m.type) {
    case 'prop':
      throw new ProposalDroppedError('no leader');
    case 'readIndex':
      throw new ProposalDroppedError('no leader to confirm a read index');
    case 'app':
      // A leader of our term exists (section 5.2): step down.
      r.becomeFollower(m.term, m.from);
      r.handleAppendEntries(m);
      return;
    case 'heartbeat':
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case 'snap':
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case 'preVoteResp':
    case 'voteResp': {
      if (m.type !== myResponse) return;
      const result = r.poll(m.from, m.type, !m.reject);
      if (result === 'won') {
        if (r.role === 'preCandidate') {
          r.campaign('election');
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (result === 'lost') {
        // pre-vote or vote lost: back to follower in the current term.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    default:
      return;
  }
}
