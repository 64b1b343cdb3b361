import { ProposalDroppedError } from '../errors.js';
import type { Raft } from '../raft.js';
import type { Message } from '../types.js';
import { NONE } from '../types.js';

/** Messages a follower handles (after the common term rules in Raft.stepMessage). */
export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'prop':
      if (r.lead === NONE) throw new ProposalDroppedError('no leader');
      r.send({ ...m, to: r.lead, term: 0 });
      return;
    case 'app':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleAppendEntries(m);
      return;
    case 'heartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return;
    case 'snap':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapshot(m);
      return;
    case 'transferLeader':
      // Forwarded to the leader, which runs the transfer; dropped when there is none.
      if (r.lead === NONE) return;
      r.send({ type: 'transferLeader', to: r.lead, from: m.from });
      return;
    case 'timeoutNow':
      // The leader has brought us up to date and asks us to campaign at once (dissertation 3.10).
      // hup() refuses while a committed membership change is unapplied; the leader retries the
      // transfer after an election timeout if it must.
      r.raftLog.commitTo(Math.min(m.commit, r.raftLog.lastIndex()));
      r.hup('transfer');
      return;
    case 'readIndex':
      if (r.lead === NONE) throw new ProposalDroppedError('no leader to confirm a read index');
      r.send({ ...m, to: r.lead, term: 0 });
      return;
    case 'readIndexResp':
      r.readStates.push({ index: m.index, requestContext: m.context });
      return;
    default:
      return;
  }
}
