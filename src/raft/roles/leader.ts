import { ProposalDroppedError } from '../errors.js';
import { jointVoteResult } from '../quorum/majority.js';
import type { Raft } from '../raft.js';
import type { Entry, Message } from '../types.js';
import { NONE } from '../types.js';

/** Messages a leader handles (after the common term rules). */
export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case 'beat':
      r.bcastHeartbeat();
      return;
    case 'checkQuorum':
      // Not heard from a quorum for an election timeout: another leader may exist (section 6.2
      // of the dissertation). A leader that is no longer a voter does not step down this way:
      // it is handing leadership off, and the voters may still need it to learn that their
      // new configuration is committed (stepping down could strand them). A higher term from
      // a new leader still deposes it.
      if (!r.tracker.quorumActive(r.id) && r.tracker.isVoter(r.id)) {
        r.becomeFollower(r.term, NONE);
      }
      for (const [id, pr] of r.tracker.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case 'prop':
      handleProposal(r, m);
      return;
    case 'readIndex':
      handleReadIndex(r, m);
      return;
    default:
      break;
  }

  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case 'appResp': {
      pr.recentActive = true;
      if (m.reject) {
        let nextProbeIndex = m.rejectHint;
        // The follower told us the term at its hint: skip every entry of ours in a later term.
        if (m.logTerm > 0) nextProbeIndex = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
        if (pr.maybeDecrTo(m.index, nextProbeIndex)) {
          if (pr.state === 'replicate') pr.becomeProbe();
          r.sendAppend(m.from);
        }
        return;
      }
      const wasPaused = pr.isPaused();
      if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
      if (pr.state === 'probe') {
        pr.becomeReplicate();
      } else if (pr.state === 'snapshot' && pr.match + 1 >= r.raftLog.firstIndex()) {
        // The follower caught up past the snapshot; replicate normally from here.
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === 'replicate') {
        pr.inflights.freeLE(m.index);
      }
      if (r.maybeCommit()) {
        releasePendingReadIndexMessages(r);
        r.bcastAppend();
      } else if (wasPaused) {
        r.sendAppend(m.from);
      }
      // Pipeline: keep sending while the window has room.
      while (r.maybeSendAppend(m.from, false)) { /* sends one batch per iteration */ }
      if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(m.from);
      return;
    }
    case 'heartbeatResp': {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      if (pr.match < r.raftLog.lastIndex()) r.sendAppend(m.from);
      if (m.context.byteLength === 0) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (acks === undefined) return;
      const votes = new Map([...acks].map((id) => [id, true] as const));
      if (jointVoteResult(r.tracker.config.voters, r.tracker.config.votersOutgoing, votes) !== 'won') return;
      for (const read of r.readOnly.advance(m.context)) answerReadIndex(r, read.request, read.index);
      return;
    }
    case 'snapStatus':
      if (pr.state !== 'snapshot') return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for a heartbeat response before probing again, rather than retrying at once.
      pr.msgAppFlowPaused = true;
      return;
    case 'unreachable':
      if (pr.state === 'replicate') pr.becomeProbe();
      return;
    case 'transferLeader':
      handleTransferLeader(r, m);
      return;
    default:
      return;
  }
}

function handleProposal(r: Raft, m: Message): void {
  if (m.entries.length === 0) throw new ProposalDroppedError('empty proposal');
  if (!r.tracker.progress.has(r.id)) throw new ProposalDroppedError('this node was removed from the configuration');
  if (r.leadTransferee !== NONE) throw new ProposalDroppedError(`leadership is being transferred to ${r.leadTransferee}`);
  const entries: Entry[] = [...m.entries];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.type !== 'confChange') continue;
    const refusal = r.refuseConfChange(r.decodeConfChange(entry));
    if (refusal !== undefined) throw new ProposalDroppedError(refusal);
    r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
  }
  if (!r.appendEntry(entries)) throw new ProposalDroppedError('too many uncommitted bytes');
  r.requestBroadcast();
}

function handleReadIndex(r: Raft, m: Message): void {
  // Only a leader that is itself the sole voter may answer alone: a leader that is no longer a
  // voter (handing off leadership) must hear from the voters like anyone.
  if ((r.tracker.isSingleton() && r.tracker.isVoter(r.id)) || r.bugs.readIndexWithoutQuorum === true) {
    answerReadIndex(r, m, r.raftLog.committed);
    return;
  }
  // Until it commits an entry of its term, a new leader does not know the commit index
  // (dissertation 6.4, step 1): hold the request.
  if (!r.committedEntryInCurrentTerm()) {
    if (r.pendingReadIndexMessages.length >= r.maxPendingReadIndexRequests) {
      if (m.from === r.id || m.from === NONE) throw new ProposalDroppedError('too many pending read index requests');
      return;
    }
    r.pendingReadIndexMessages.push(m);
    return;
  }
  sendReadIndexConfirmation(r, m);
}

function sendReadIndexConfirmation(r: Raft, m: Message): void {
  r.readOnly.addRequest(r.raftLog.committed, m);
  r.readOnly.recvAck(r.id, m.context);
  r.bcastHeartbeat(m.context);
}

export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const pending = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of pending) sendReadIndexConfirmation(r, m);
}

function answerReadIndex(r: Raft, request: Message, readIndex: number): void {
  if (request.from === NONE || request.from === r.id) {
    r.readStates.push({ index: readIndex, requestContext: request.context });
  } else {
    r.send({ type: 'readIndexResp', to: request.from, index: readIndex, context: request.context });
  }
}

function handleTransferLeader(r: Raft, m: Message): void {
  const transferee = m.from;
  const pr = r.tracker.progress.get(transferee);
  // Learners cannot lead.
  if (pr === undefined || pr.isLearner) return;
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) return;
    r.leadTransferee = NONE;
  }
  if (transferee === r.id) return;
  // The transfer must finish within one election timeout (checked in tickHeartbeat).
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(transferee);
  else r.sendAppend(transferee);
}
