import type { Ready } from './raw-node.js';
import { decodeConfChange } from './confchange/codec.js';
import type { ConfState, Entry, HardState, Message, NodeId, Snapshot } from './types.js';

/**
 * A compact, stable text form of Raft's data, used by the golden interaction tests and by
 * debug logs. Changing it rewrites every golden file, so keep it boring.
 */
function bytesText(bytes: Uint8Array): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${Buffer.from(bytes).toString('hex')}`;
}

export function describeIds(ids: readonly NodeId[]): string {
  return `(${ids.join(' ')})`;
}

export function describeConfState(cs: ConfState): string {
  let text = `voters=${describeIds(cs.voters)}`;
  if (cs.votersOutgoing.length > 0) text += `&&${describeIds(cs.votersOutgoing)}`;
  if (cs.learners.length > 0) text += ` learners=${describeIds(cs.learners)}`;
  if (cs.learnersNext.length > 0) text += ` learners_next=${describeIds(cs.learnersNext)}`;
  if (cs.autoLeave) text += ' autoleave';
  return text;
}

export function describeEntry(entry: Entry): string {
  if (entry.type === 'confChange') {
    const change = decodeConfChange(entry.data);
    const changes = change.changes.map((c) => `${c.type === 'addVoter' ? 'v' : c.type === 'addLearner' ? 'l' : 'r'}${c.nodeId}`).join(' ');
    const transition = change.transition === 'auto' ? '' : ` ${change.transition}`;
    return `${entry.term}/${entry.index} ConfChange${transition} [${changes}]`;
  }
  return `${entry.term}/${entry.index} ${bytesText(entry.data)}`;
}

export function describeEntries(entries: readonly Entry[]): string {
  return `[${entries.map(describeEntry).join(', ')}]`;
}

export function describeHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

export function describeSnapshot(snapshot: Snapshot): string {
  const { index, term, confState } = snapshot.metadata;
  return `Index:${index} Term:${term} ConfState:${describeConfState(confState)}`;
}

export function describeMessage(m: Message): string {
  let text = `${m.from}->${m.to} ${m.type} Term:${m.term}`;
  switch (m.type) {
    case 'app':
      text += ` Log:${m.logTerm}/${m.index} Commit:${m.commit}`;
      if (m.entries.length > 0) text += ` Entries:${describeEntries(m.entries)}`;
      break;
    case 'appResp':
      text += m.reject ? ` Reject Index:${m.index} Hint:${m.rejectHint}/${m.logTerm}` : ` Index:${m.index}`;
      break;
    case 'vote':
    case 'preVote':
      text += ` Log:${m.logTerm}/${m.index}`;
      break;
    case 'voteResp':
    case 'preVoteResp':
      text += `${m.reject ? ' Rejected' : ''} Commit:${m.logTerm}/${m.index}`;
      break;
    case 'heartbeat':
    case 'timeoutNow':
      text += ` Commit:${m.commit}`;
      break;
    case 'snap':
      if (m.snapshot !== undefined) text += ` Snapshot:{${describeSnapshot(m.snapshot)}}`;
      break;
    case 'readIndexResp':
      text += ` Index:${m.index}`;
      break;
    case 'prop':
      text += ` Entries:${describeEntries(m.entries)}`;
      break;
    default:
      break;
  }
  if (m.context.byteLength > 0) text += ` Context:${bytesText(m.context)}`;
  return text;
}

/** Every part of a Ready that is present, one per line. */
export function describeReady(ready: Ready): string {
  const lines: string[] = [];
  if (ready.softState !== undefined) lines.push(`Lead:${ready.softState.leader} State:${ready.softState.role}`);
  if (ready.hardState !== undefined) lines.push(`HardState ${describeHardState(ready.hardState)}`);
  if (ready.entries.length > 0) {
    lines.push('Entries:');
    for (const entry of ready.entries) lines.push(`  ${describeEntry(entry)}`);
  }
  if (ready.snapshot !== undefined) lines.push(`Snapshot ${describeSnapshot(ready.snapshot)}`);
  if (ready.committedEntries.length > 0) {
    lines.push('CommittedEntries:');
    for (const entry of ready.committedEntries) lines.push(`  ${describeEntry(entry)}`);
  }
  if (ready.readStates.length > 0) {
    lines.push('ReadStates:');
    for (const rs of ready.readStates) lines.push(`  Index:${rs.index} Context:${bytesText(rs.requestContext)}`);
  }
  if (ready.messages.length > 0) {
    lines.push('Messages:');
    for (const m of ready.messages) lines.push(`  ${describeMessage(m)}`);
  }
  return lines.join('\n');
}
