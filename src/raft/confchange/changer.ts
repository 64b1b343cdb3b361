import { ConclaveError } from '../../base/errors.js';
import type { ConfChangeSingle, ConfState, NodeId } from '../types.js';
import { Progress } from '../tracker/progress.js';
import type { TrackerConfig } from '../tracker/tracker.js';
import { isJoint } from '../tracker/tracker.js';

/** A membership change that cannot be carried out from the current configuration. */
export class ConfChangeError extends ConclaveError {
  constructor(message: string) {
    super('ERR_RAFT_CONF_CHANGE', `invalid membership change: ${message}`);
    this.name = 'ConfChangeError';
  }
}

interface MutableConfig {
  voters: Set<NodeId>;
  votersOutgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

export interface ChangeResult {
  config: TrackerConfig;
  progress: Map<NodeId, Progress>;
}

/**
 * Computes a new configuration and progress map from the current ones, copy-on-write: the
 * inputs are never modified, so a rejected change leaves the node as it was. Progress objects
 * are shared with the input (the leader's live view); a member whose Progress changes gets a
 * private copy (see writable()).
 *
 * Three ways to change (Raft dissertation, chapter 4):
 * - simple(): at most one voter added or removed; a majority of the old and of the new
 *   configuration then always intersect (single-server method, section 4.3).
 * - enterJoint(): any set of changes; the outgoing configuration is kept and both must agree
 *   (joint consensus, section 4.3) until leaveJoint().
 */
export class Changer {
  constructor(
    private readonly config: TrackerConfig,
    private readonly progress: ReadonlyMap<NodeId, Progress>,
    private readonly lastIndex: number,
    private readonly inflightsCapacity: number,
    private readonly inflightsMaxBytes: number,
  ) {}

  enterJoint(autoLeave: boolean, changes: readonly ConfChangeSingle[]): ChangeResult {
    const [config, progress] = this.copy();
    if (isJoint(config)) throw new ConfChangeError('configuration is already joint');
    if (config.voters.size === 0) throw new ConfChangeError("can't make a zero-voter configuration joint");
    for (const id of config.voters) config.votersOutgoing.add(id);
    this.apply(config, progress, changes);
    config.autoLeave = autoLeave;
    return this.finish(config, progress);
  }

  leaveJoint(): ChangeResult {
    const [config, progress] = this.copy();
    if (!isJoint(config)) throw new ConfChangeError("can't leave a non-joint configuration");
    for (const id of config.learnersNext) {
      config.learners.add(id);
      writable(progress, id, progress.get(id)!).isLearner = true;
    }
    config.learnersNext.clear();
    for (const id of config.votersOutgoing) {
      if (!config.voters.has(id) && !config.learners.has(id)) progress.delete(id);
    }
    config.votersOutgoing.clear();
    config.autoLeave = false;
    return this.finish(config, progress);
  }

  simple(changes: readonly ConfChangeSingle[]): ChangeResult {
    const [config, progress] = this.copy();
    if (isJoint(config)) throw new ConfChangeError("can't apply a simple change in a joint configuration");
    this.apply(config, progress, changes);
    let changed = 0;
    for (const id of config.voters) if (!this.config.voters.has(id)) changed += 1;
    for (const id of this.config.voters) if (!config.voters.has(id)) changed += 1;
    if (changed > 1) throw new ConfChangeError('more than one voter changed without entering a joint configuration');
    return this.finish(config, progress);
  }

  private apply(config: MutableConfig, progress: Map<NodeId, Progress>, changes: readonly ConfChangeSingle[]): void {
    for (const change of changes) {
      // Id 0 is "nobody"; etcd ignores such changes, and so do we.
      if (change.nodeId === 0n) continue;
      switch (change.type) {
        case 'addVoter':
          this.makeVoter(config, progress, change.nodeId);
          break;
        case 'addLearner':
          this.makeLearner(config, progress, change.nodeId);
          break;
        case 'removeVoter':
          this.remove(config, progress, change.nodeId);
          break;
      }
    }
    if (config.voters.size === 0) throw new ConfChangeError('removed all voters');
  }

  private makeVoter(config: MutableConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
    const existing = progress.get(id);
    if (existing === undefined) {
      this.initProgress(config, progress, id, false);
      return;
    }
    const pr = writable(progress, id, existing);
    pr.isLearner = false;
    config.learners.delete(id);
    config.learnersNext.delete(id);
    config.voters.add(id);
  }

  /**
   * A voter of the outgoing half cannot become a learner at once (the outgoing half still
   * needs its vote), so it is staged in learnersNext until the joint configuration is left.
   */
  private makeLearner(config: MutableConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
    const existing = progress.get(id);
    if (existing === undefined) {
      this.initProgress(config, progress, id, true);
      return;
    }
    if (existing.isLearner) return;
    const pr = writable(progress, id, existing);
    config.voters.delete(id);
    config.learners.delete(id);
    config.learnersNext.delete(id);
    if (config.votersOutgoing.has(id)) {
      config.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      config.learners.add(id);
    }
  }

  private remove(config: MutableConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
    if (!progress.has(id)) return;
    config.voters.delete(id);
    config.learners.delete(id);
    config.learnersNext.delete(id);
    // An outgoing voter keeps its Progress until the joint configuration is left.
    if (!config.votersOutgoing.has(id)) progress.delete(id);
  }

  private initProgress(config: MutableConfig, progress: Map<NodeId, Progress>, id: NodeId, isLearner: boolean): void {
    if (isLearner) config.learners.add(id);
    else config.voters.add(id);
    // A new member is probed from the leader's last index; recentActive so that check-quorum
    // does not count it as silent before it had a chance to answer.
    progress.set(id, new Progress({
      next: Math.max(this.lastIndex, 1),
      inflightsCapacity: this.inflightsCapacity,
      inflightsMaxBytes: this.inflightsMaxBytes,
      isLearner,
      recentActive: true,
    }));
  }

  private copy(): [MutableConfig, Map<NodeId, Progress>] {
    return [
      {
        voters: new Set(this.config.voters),
        votersOutgoing: new Set(this.config.votersOutgoing),
        learners: new Set(this.config.learners),
        learnersNext: new Set(this.config.learnersNext),
        autoLeave: this.config.autoLeave,
      },
      new Map(this.progress),
    ];
  }

  private finish(config: MutableConfig, progress: Map<NodeId, Progress>): ChangeResult {
    checkInvariants(config, progress);
    return { config, progress };
  }
}

/**
 * Replaces the shared Progress of `id` in the (copied) map with a private copy before it is
 * modified, so that a change computed and then discarded (a refused proposal's dry run)
 * leaves the live configuration untouched.
 */
function writable(progress: Map<NodeId, Progress>, id: NodeId, shared: Progress): Progress {
  const copy = shared.clone();
  progress.set(id, copy);
  return copy;
}

/** Builds the configuration a ConfState describes (on start or snapshot restore). */
export function restoreConfig(
  confState: ConfState,
  lastIndex: number,
  inflightsCapacity: number,
  inflightsMaxBytes: number,
): ChangeResult {
  const config: MutableConfig = {
    voters: new Set(confState.voters),
    votersOutgoing: new Set(confState.votersOutgoing),
    learners: new Set(confState.learners),
    learnersNext: new Set(confState.learnersNext),
    autoLeave: confState.autoLeave,
  };
  const progress = new Map<NodeId, Progress>();
  const add = (id: NodeId, isLearner: boolean): void => {
    if (progress.has(id)) return;
    progress.set(id, new Progress({ next: Math.max(lastIndex, 1), inflightsCapacity, inflightsMaxBytes, isLearner, recentActive: true }));
  };
  for (const id of config.voters) add(id, false);
  for (const id of config.votersOutgoing) add(id, false);
  for (const id of config.learners) add(id, true);
  for (const id of config.learnersNext) add(id, false);
  checkInvariants(config, progress);
  return { config, progress };
}

function checkInvariants(config: MutableConfig, progress: Map<NodeId, Progress>): void {
  const fail = (message: string): never => {
    throw new ConfChangeError(message);
  };
  for (const ids of [config.voters, config.votersOutgoing, config.learners, config.learnersNext]) {
    for (const id of ids) if (!progress.has(id)) fail(`no progress for ${id}`);
  }
  for (const id of config.learnersNext) {
    if (!config.votersOutgoing.has(id)) fail(`${id} is in learnersNext but not an outgoing voter`);
    if (progress.get(id)!.isLearner) fail(`${id} is in learnersNext but already marked learner`);
  }
  for (const id of config.learners) {
    if (config.voters.has(id) || config.votersOutgoing.has(id)) fail(`${id} is both learner and voter`);
    if (!progress.get(id)!.isLearner) fail(`${id} is a learner but not marked so`);
  }
  for (const id of progress.keys()) {
    const member = config.voters.has(id) || config.votersOutgoing.has(id) || config.learners.has(id) || config.learnersNext.has(id);
    if (!member) fail(`progress for ${id}, which is not a member`);
  }
  if (config.votersOutgoing.size === 0) {
    if (config.learnersNext.size > 0) fail('learnersNext outside a joint configuration');
    if (config.autoLeave) fail('autoLeave outside a joint configuration');
  }
}
