// The scenario of Figure 8 of the Raft paper, played step by step on five nodes with the
// simulator's invariant checker attached. With the rule of section 5.4.2 in place nothing is
// wrong; with the test-only bug that commits an earlier-term entry by counting replicas, the
// checker must report that a committed entry was later overwritten. (The random simulation
// rarely lines these events up, so this scripted run proves that the checks bite on this bug.)
import { describe, expect, it } from 'vitest';
import type { Message, NodeId } from '../../src/raft/index.js';
import { HarnessNode } from '../raft/support/harness-node.js';
import { InvariantChecker } from './checker.js';

function figure8(commitPriorTermByCounting: boolean): { checker: InvariantChecker; nodes: Map<NodeId, HarnessNode> } {
  const ids = [1n, 2n, 3n, 4n, 5n];
  // Appends carry one entry when it is larger than maxMessageBytes, as in the figure.
  const options = { preVote: false, checkQuorum: false, maxMessageBytes: 8, testingBugs: { commitPriorTermByCounting } };
  const nodes = new Map(ids.map((id) => [id, HarnessNode.bootstrap(id, ids, [], options, Number(id))]));
  const checker = new InvariantChecker();
  let queue: Message[] = [];
  const check = (): void => {
    checker.step += 1;
    checker.checkAll(nodes.values());
  };
  const process = (id: NodeId): void => {
    const node = nodes.get(id)!;
    while (node.rawNode.hasReady()) {
      const ready = node.rawNode.ready();
      node.persistReady(ready);
      checker.onPersisted(node, ready);
      queue.push(...ready.messages);
      node.finishReady(ready, (n, e) => checker.onApplied(n, e));
      check();
    }
  };
  /** Processes and delivers among `live` until quiet; messages matching `drop` are lost. */
  const run = (live: NodeId[], drop: (m: Message) => boolean = () => false): void => {
    for (let round = 0; round < 100; round++) {
      for (const id of live) process(id);
      const deliverable = queue.filter((m) => live.includes(m.to) && live.includes(m.from) && !drop(m));
      queue = [];
      if (deliverable.length === 0) return;
      for (const m of deliverable) {
        nodes.get(m.to)!.step(m);
        check();
      }
    }
  };
  const crash = (id: NodeId): void => {
    queue = queue.filter((m) => m.from !== id && m.to !== id);
    nodes.get(id)!.start();
    checker.onRestart(id);
  };
  const big = (name: string) => new TextEncoder().encode(name.repeat(16));

  // (a) S1 leads term 2 and replicates entry x at index 3 to S2 only.
  nodes.get(1n)!.rawNode.campaign();
  run(ids);
  nodes.get(1n)!.rawNode.propose(big('x'));
  run([1n, 2n]);
  crash(1n);
  // (b) S5 leads term 3 with the votes of S3 and S4 and appends y at index 3; nobody gets it.
  nodes.get(5n)!.rawNode.campaign();
  run([3n, 4n, 5n], (m) => m.type === 'app');
  nodes.get(5n)!.rawNode.propose(big('y'));
  process(5n);
  crash(5n);
  queue = [];
  // (c) S1 restarts and leads term 4 (its first try, in term 3, fails: S3 voted for S5 in
  // term 3); it replicates x (term 2) to S3 but its own term-4 entry reaches only S2, so
  // x is on a majority (S1, S2, S3) while the term-4 entry is not.
  nodes.get(1n)!.rawNode.campaign();
  run([1n, 2n, 3n], (m) => m.type === 'app');
  nodes.get(1n)!.rawNode.campaign();
  let probesToS3 = 0;
  run([1n, 2n, 3n], (m) => {
    if (m.type !== 'app' || m.to !== 3n || !m.entries.some((e) => e.term === 4)) return false;
    // The first probe reaches S3, which lacks x and rejects it; later term-4 entries are lost.
    probesToS3 += 1;
    return probesToS3 > 1;
  });
  crash(1n);
  // (d) S5 restarts and leads term 5 with S3 and S4 (again after a failed try in term 4,
  // where S3 had voted for S1); it overwrites index 3 with its term-3 entry.
  nodes.get(5n)!.rawNode.campaign();
  run([3n, 4n, 5n], (m) => m.type === 'app');
  nodes.get(5n)!.rawNode.campaign();
  run([3n, 4n, 5n]);
  return { checker, nodes };
}

describe('Figure 8 of the Raft paper under the invariant checker', () => {
  it('with section 5.4.2 in force, no invariant is violated', () => {
    const { checker, nodes } = figure8(false);
    expect(checker.violation).toBeUndefined();
    // The scenario really played out: S5 leads term 5 and replaced x, which was never committed.
    const s5 = nodes.get(5n)!.rawNode.raft;
    expect([s5.role, s5.term, s5.raftLog.term(3)]).toEqual(['leader', 5, 3]);
    expect(nodes.get(1n)!.rawNode.raft.raftLog.committed).toBeLessThan(3);
  });

  it('committing an earlier-term entry by counting replicas is reported', () => {
    const { checker } = figure8(true);
    expect(checker.violation?.property).toMatch(/Leader Completeness|State Machine Safety/);
  });
});
