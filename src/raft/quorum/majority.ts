import type { NodeId } from '../types.js';

/** The outcome of counting votes against a configuration. */
export type VoteResult = 'pending' | 'lost' | 'won';

/** Returns the acknowledged index of a voter, or undefined when it has acknowledged nothing. */
export type AckedIndex = (id: NodeId) => number | undefined;

/**
 * The largest index acknowledged by a majority of `voters`. Voters that acknowledged nothing
 * count as 0. An empty configuration returns +Infinity, so that in a joint configuration
 * (min of both halves) an empty outgoing half never holds the commit back.
 */
export function majorityCommittedIndex(voters: ReadonlySet<NodeId>, acked: AckedIndex): number {
  const n = voters.size;
  if (n === 0) return Infinity;
  // Small clusters dominate; a plain sort of at most a handful of numbers is cheapest.
  const indexes: number[] = [];
  for (const id of voters) indexes.push(acked(id) ?? 0);
  indexes.sort((a, b) => b - a);
  // With the indexes in descending order, the (n/2+1)-th largest is held by a majority.
  return indexes[Math.floor(n / 2)]!;
}

/**
 * Counts `votes` (true = granted) among `voters`; votes from non-voters are ignored. An empty
 * configuration wins, for the same reason as above.
 */
export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const n = voters.size;
  if (n === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing += 1;
    else if (vote) granted += 1;
  }
  const quorum = Math.floor(n / 2) + 1;
  if (granted >= quorum) return 'won';
  if (granted + missing >= quorum) return 'pending';
  return 'lost';
}

/** Joint consensus: both halves must agree. */
export function jointCommittedIndex(incoming: ReadonlySet<NodeId>, outgoing: ReadonlySet<NodeId>, acked: AckedIndex): number {
  return Math.min(majorityCommittedIndex(incoming, acked), majorityCommittedIndex(outgoing, acked));
}

export function jointVoteResult(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  const a = majorityVoteResult(incoming, votes);
  const b = majorityVoteResult(outgoing, votes);
  if (a === b) return a;
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}
