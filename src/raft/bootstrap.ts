import { assert } from '../base/assert.js';
import type { HardState, NodeId, Snapshot } from './types.js';
import { NONE } from './types.js';

/**
 * The initial state of a member of a new cluster: a snapshot at index 1, term 1, whose
 * configuration is the initial membership and whose data is the empty state machine, and a
 * hard state with term 1 committed at 1. Every initial member starts from the same bytes, so
 * their logs agree at (1, 1); a member added later receives that configuration through a
 * snapshot or the log. (etcd bootstraps with conf-change entries instead; a snapshot keeps the
 * log free of entries the application must special-case.)
 */
export function bootstrapState(voters: readonly NodeId[], learners: readonly NodeId[] = []): { snapshot: Snapshot; hardState: HardState } {
  assert(voters.length > 0, 'a cluster needs at least one voter');
  const all = [...voters, ...learners];
  assert(new Set(all).size === all.length, 'member ids must be distinct');
  assert(all.every((id) => id !== NONE), 'member id 0 is reserved');
  return {
    snapshot: {
      metadata: {
        index: 1,
        term: 1,
        confState: { voters: [...voters], learners: [...learners], votersOutgoing: [], learnersNext: [], autoLeave: false },
      },
      data: new Uint8Array(0),
    },
    hardState: { term: 1, vote: NONE, commit: 1 },
  };
}
