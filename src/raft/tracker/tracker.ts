import type { ConfState, NodeId } from '../types.js';
import type { VoteResult } from '../quorum/majority.js';
import { jointCommittedIndex, jointVoteResult } from '../quorum/majority.js';
import type { Progress } from './progress.js';

/**
 * A membership configuration as Raft uses it.
 * Invariants: voters (incoming), learners and learnersNext are disjoint; learnersNext is a
 * subset of votersOutgoing; autoLeave implies votersOutgoing is non-empty.
 */
export interface TrackerConfig {
  readonly voters: ReadonlySet<NodeId>;
  /** Non-empty only in a joint configuration. */
  readonly votersOutgoing: ReadonlySet<NodeId>;
  readonly learners: ReadonlySet<NodeId>;
  /** Outgoing voters that become learners when the joint configuration is left. */
  readonly learnersNext: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

export const EMPTY_TRACKER_CONFIG: TrackerConfig = {
  voters: new Set(),
  votersOutgoing: new Set(),
  learners: new Set(),
  learnersNext: new Set(),
  autoLeave: false,
};

export function isJoint(config: TrackerConfig): boolean {
  return config.votersOutgoing.size > 0;
}

export function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function confStateOf(config: TrackerConfig): ConfState {
  return {
    voters: sortedIds(config.voters),
    learners: sortedIds(config.learners),
    votersOutgoing: sortedIds(config.votersOutgoing),
    learnersNext: sortedIds(config.learnersNext),
    autoLeave: config.autoLeave,
  };
}

/**
 * The leader's bookkeeping: the configuration in force, a Progress for every member of it
 * (voters of both halves and learners), and the votes of the current election.
 * Invariant: `progress` has exactly the members of `config`.
 */
export class ProgressTracker {
  config: TrackerConfig;
  progress: Map<NodeId, Progress>;
  private readonly votes = new Map<NodeId, boolean>();

  constructor(config: TrackerConfig, progress: Map<NodeId, Progress>) {
    this.config = config;
    this.progress = progress;
  }

  /** The highest index replicated to a quorum (of both halves when joint). */
  committed(): number {
    return jointCommittedIndex(this.config.voters, this.config.votersOutgoing, (id) => this.progress.get(id)?.match);
  }

  /** True when this node is the only voter: it can commit and answer reads alone. */
  isSingleton(): boolean {
    return this.config.voters.size === 1 && this.config.votersOutgoing.size === 0;
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters.has(id) || this.config.votersOutgoing.has(id);
  }

  /** Every voter of either half, sorted (the order messages are sent in, for determinism). */
  voterIds(): NodeId[] {
    return sortedIds(new Set([...this.config.voters, ...this.config.votersOutgoing]));
  }

  private sortedMembers: { for: Map<NodeId, Progress>; ids: NodeId[] } | undefined;

  /**
   * Every member with a Progress, sorted (the order messages go out in, for determinism).
   * Cached per progress map: membership changes replace the map, never mutate it.
   */
  memberIds(): readonly NodeId[] {
    if (this.sortedMembers?.for !== this.progress) this.sortedMembers = { for: this.progress, ids: sortedIds(this.progress.keys()) };
    return this.sortedMembers.ids;
  }

  /** Whether a quorum was recently active (check-quorum); `self` always counts. */
  quorumActive(self: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) active.set(id, id === self || pr.recentActive);
    }
    return jointVoteResult(this.config.voters, this.config.votersOutgoing, active) === 'won';
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records the first vote of `id` in this election; later ones are ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, vote] of this.votes) {
      if (!this.isVoter(id)) continue;
      if (vote) granted += 1;
      else rejected += 1;
    }
    return { granted, rejected, result: jointVoteResult(this.config.voters, this.config.votersOutgoing, this.votes) };
  }

  /** The ids whose granted votes were counted (for the simulator's learners-never-vote check). */
  grantedVoters(): NodeId[] {
    return sortedIds([...this.votes].filter(([id, vote]) => vote && this.isVoter(id)).map(([id]) => id));
  }

  confState(): ConfState {
    return confStateOf(this.config);
  }
}
